"""Keras callbacks of the application: the history file that survives a resume, and a follower's backup."""

from __future__ import annotations

import json
from pathlib import Path

import keras

from mnist_ann.files import write_text_atomically


class HistoryFile(keras.callbacks.Callback):
    """Keeps every epoch's metrics in a JSON file, rewritten after each epoch; a resumed run continues it."""

    def __init__(self, path: str | Path):
        super().__init__()
        self.path = Path(path)
        self.history: dict[str, list[float]] = {}
        self._first_epoch = True

    def on_train_begin(self, logs=None):
        self.history = json.loads(self.path.read_text()) if self.path.is_file() else {}
        self._first_epoch = True

    def on_epoch_begin(self, epoch, logs=None):
        if self._first_epoch:  # a run resumed at `epoch` keeps the epochs before it, and only those
            self.history = {key: values[:epoch] for key, values in self.history.items()}
            self._first_epoch = False

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        write_text_atomically(self.path, json.dumps(self.history, indent=2) + "\n")


class FollowBackup(keras.callbacks.BackupAndRestore):
    """For a worker other than the chief: resume from the chief's backup when it can see it, never write it."""

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_end(self, batch, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass
