"""Keras callbacks of the application: backups that are never half-written, the history file that survives a
resume, and a follower's read-only backup."""

from __future__ import annotations

import io
import json
import re
import shutil
import tempfile
from pathlib import Path

import keras
import numpy as np

from mnist_ann.files import write_failed, write_text_atomically

STATE_FILE = "state.npz"  # the model's weights and the optimizer's state, as NumPy arrays in order
EPOCH_FILE = "epoch.json"  # how many epochs the state has seen; written after the state
SNAPSHOT = re.compile(r"epoch-(\d+)")
KEEP = 2  # backups kept: the newest and the one before it


def snapshot_name(epochs_done: int) -> str:
    return f"epoch-{epochs_done:04d}"


def snapshots(folder: str | Path) -> list[Path]:
    """The complete backups in a backup folder, newest first; none if the folder does not exist."""
    folder = Path(folder)
    found = [p for p in folder.iterdir() if p.is_dir() and SNAPSHOT.fullmatch(p.name)] if folder.is_dir() else []
    return sorted(found, key=lambda p: int(SNAPSHOT.fullmatch(p.name).group(1)), reverse=True)


class SafeBackup(keras.callbacks.BackupAndRestore):
    """Keras's BackupAndRestore, made safe against a kill or a full disk at any moment.

    After each epoch the model's weights, the optimizer's state and the epoch reached are written into a new
    temporary folder inside the backup folder, which is renamed to `epoch-NNNN` only once complete; then all but the
    two newest backups are removed. So a resume never reads a half-written backup, and a failed write leaves the
    previous one in place. The state is written as NumPy arrays from memory: h5py, which Keras's own backup uses,
    crashes the process when a write fails. A resume loads the newest backup that is intact; a damaged one is named
    and skipped, and with none intact the run starts over and says so. Keras resumes from the epoch it records.
    """

    def __init__(self, backup_dir: str, log=print):
        super().__init__(backup_dir)
        self.log = log

    def on_train_begin(self, logs=None):
        found = snapshots(self.backup_dir)
        for number, snapshot in enumerate(found):
            try:
                self._load(snapshot)
            except Exception as exc:  # NumPy, zipfile and JSON each fail in their own way on a damaged file
                reason = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
                self.log(f"the backup {snapshot} is damaged ({reason}); not using it")
                continue
            if number:
                self.log(f"resuming from the newest intact backup, {snapshot}")
            return
        if found:
            self.log(f"no intact backup in {self.backup_dir}; starting this run over from epoch 1")

    def _variables(self) -> list:
        optimizer = self.model.optimizer
        if not optimizer.built:
            optimizer.build(self.model.trainable_variables)
        return [*self.model.weights, *optimizer.variables]

    def _load(self, snapshot: Path) -> None:
        """Check the whole backup first, then set the model, the optimizer and the epoch to resume at from it."""
        epoch = int(json.loads((snapshot / EPOCH_FILE).read_text())["epoch"])
        variables = self._variables()
        with np.load(snapshot / STATE_FILE) as arrays:
            values = [arrays[f"arr_{i}"] for i in range(len(arrays.files))]
        if len(values) != len(variables):
            raise ValueError(f"it holds {len(values)} arrays; the model and optimizer have {len(variables)}")
        for variable, value in zip(variables, values, strict=True):
            if tuple(variable.shape) != value.shape:
                raise ValueError(f"{variable.path} has shape {tuple(variable.shape)}, the backup {value.shape}")
        for variable, value in zip(variables, values, strict=True):
            variable.assign(value)
        self.model._initial_epoch = epoch  # where Keras's BackupAndRestore tells fit to resume

    def _save_model(self):
        folder = Path(self.backup_dir)
        final = folder / snapshot_name(self._current_epoch)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            writing = Path(tempfile.mkdtemp(prefix=".writing-", dir=folder))
        except OSError as exc:
            raise write_failed(folder, exc) from None
        try:
            self._write(writing)
            shutil.rmtree(final, ignore_errors=True)  # a backup of this epoch from an earlier, interrupted try
            writing.rename(final)
        except OSError as exc:
            raise write_failed(final, exc) from None
        finally:
            shutil.rmtree(writing, ignore_errors=True)
        for older in snapshots(folder)[KEEP:]:  # the one before stays, in case the newest is damaged later
            shutil.rmtree(older, ignore_errors=True)

    def _write(self, folder: Path) -> None:
        """Write one complete backup into `folder`: the state first, then the epoch it belongs to."""
        buffer = io.BytesIO()
        np.savez(buffer, *[np.asarray(variable) for variable in self._variables()])
        (folder / STATE_FILE).write_bytes(buffer.getvalue())
        (folder / EPOCH_FILE).write_text(json.dumps({"epoch": self._current_epoch}))


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


class FollowBackup(SafeBackup):
    """For a worker other than the chief: resume from the chief's backup when it can see it, never write it."""

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_end(self, batch, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass
