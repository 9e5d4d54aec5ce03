"""Keras callbacks of the application: backups that are never half-written, the history file that survives a
resume, and a follower's read-only backup. Only Keras's public API: `Callback`, `self.model`, variables."""

from __future__ import annotations

import io
import json
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np

from mnist_ann.app.runs import HISTORY_FILE, BackupMismatch, RunFolder
from mnist_ann.files import exception_reason, write_failed, write_text_atomically

STATE_FILE = "state.npz"  # the model's weights and the optimizer's state, as NumPy arrays keyed by variable path
EPOCH_FILE = "epoch.json"  # how many epochs the state has seen, and the run's settings; written after the state
SNAPSHOT = re.compile(r"epoch-(\d+)")
KEEP = 2  # backups kept: the newest and the one before it


def snapshot_name(epochs_done: int) -> str:
    return f"epoch-{epochs_done:04d}"


def snapshots(folder: str | Path) -> list[Path]:
    """The complete backups in a backup folder, newest first; none if the folder does not exist."""
    folder = Path(folder)
    found = [p for p in folder.iterdir() if p.is_dir() and SNAPSHOT.fullmatch(p.name)] if folder.is_dir() else []
    return sorted(found, key=lambda p: int(SNAPSHOT.fullmatch(p.name).group(1)), reverse=True)


class SafeBackup(keras.callbacks.Callback):
    """Backups of a training run, made safe against a kill or a full disk at any moment, on Keras's public API.

    After each epoch the model's weights, the optimizer's state and the epochs done are written into a new
    temporary folder inside the backup folder, which is renamed to `epoch-NNNN` only once complete; then all but the
    two newest backups are removed. So a resume never reads a half-written backup, and a failed write leaves the
    previous one in place. The state is written as NumPy arrays from memory: h5py, which Keras's own backup uses,
    crashes the process when a write fails. `restore`, called before `fit`, loads the newest backup that is intact
    (a damaged one is named and skipped; with none intact the run starts over and says so) and returns the epochs it
    has done, for `fit`'s `initial_epoch`. When training ends the backups are removed.

    Each backup keeps its arrays by each variable's path (Adam's two slots per layer have equal shapes, so an order
    could not tell them apart) and the `run` it belongs to: the settings that make a run (recipe, seed, batch size,
    epochs, ...). `restore` refuses, with BackupMismatch, a backup whose run differs from this one's.
    """

    def __init__(self, backup_dir: str | Path, run: dict | None = None, log=print):
        super().__init__()
        self.backup_dir = Path(backup_dir)
        self.run = dict(run or {})
        self.log = log

    def restore(self, model: keras.Model) -> int:
        """Load the newest intact backup into `model` and its optimizer; the epochs it has done (0: none)."""
        found = snapshots(self.backup_dir)
        for number, snapshot in enumerate(found):
            try:
                epochs_done = _load(model, snapshot, self.run)
            except BackupMismatch:
                raise
            except Exception as exc:  # NumPy, zipfile and JSON each fail in their own way on a damaged file
                self.log(f"the backup {snapshot} is damaged ({exception_reason(exc, 120)}); not using it")
                continue
            if number:
                self.log(f"resuming from the newest intact backup, {snapshot}")
            return epochs_done
        if found:
            self.log(f"no intact backup in {self.backup_dir}; starting this run over from epoch 1")
        return 0

    def on_epoch_end(self, epoch, logs=None):
        epochs_done = epoch + 1
        final = self.backup_dir / snapshot_name(epochs_done)
        try:
            self.backup_dir.mkdir(parents=True, exist_ok=True)
            writing = Path(tempfile.mkdtemp(prefix=".writing-", dir=self.backup_dir))
        except OSError as exc:
            raise write_failed(self.backup_dir, exc) from None
        try:
            self._write(writing, epochs_done)
            shutil.rmtree(final, ignore_errors=True)  # a backup of this epoch from an earlier, interrupted try
            writing.rename(final)
        except OSError as exc:
            raise write_failed(final, exc) from None
        finally:
            shutil.rmtree(writing, ignore_errors=True)
        for older in snapshots(self.backup_dir)[KEEP:]:  # the one before stays, in case the newest is damaged later
            shutil.rmtree(older, ignore_errors=True)

    def on_train_end(self, logs=None):
        shutil.rmtree(self.backup_dir, ignore_errors=True)  # the run is complete: nothing to resume

    def _write(self, folder: Path, epochs_done: int) -> None:
        """Write one complete backup into `folder`: the state first, then the epochs it has done."""
        buffer = io.BytesIO()
        np.savez(buffer, **{path: np.asarray(variable) for path, variable in _variables(self.model).items()})
        (folder / STATE_FILE).write_bytes(buffer.getvalue())
        (folder / EPOCH_FILE).write_text(json.dumps({"epoch": epochs_done, "run": self.run}))


def _variables(model: keras.Model) -> dict:
    """The model's weights and its optimizer's state, by path."""
    if not model.optimizer.built:  # in the model's strategy, where the optimizer's slots must live
        with model.distribute_strategy.scope():
            model.optimizer.build(model.trainable_variables)
    # An optimizer's own name gets a number in a process that made one before (adam, adam_1, ...): key its
    # variables by what follows it, which names the model variable each slot belongs to.
    optimizer = {f"optimizer/{v.path.split('/', 1)[-1]}": v for v in model.optimizer.variables}
    variables = {variable.path: variable for variable in model.weights} | optimizer
    if len(variables) != len(model.weights) + len(model.optimizer.variables):
        raise ValueError("two of the model's or optimizer's variables share a path; a backup could not tell them apart")
    return variables


def _load(model: keras.Model, snapshot: Path, run: dict) -> int:
    """Check the whole backup first, then set the model and the optimizer from it; the epochs it has done."""
    saved = json.loads((snapshot / EPOCH_FILE).read_text())
    epochs_done = int(saved["epoch"])
    for key, ours in run.items():
        theirs = saved.get("run", {}).get(key)
        if theirs != ours:
            raise BackupMismatch(
                f"{snapshot.parent} holds a backup of a run with {key} {theirs}, and this run has {key} {ours}: "
                "run the same command as before to resume it, or give another --out for a new run."
            )
    variables = _variables(model)
    with np.load(snapshot / STATE_FILE) as arrays:
        values = {path: arrays[path] for path in arrays.files}
    if sorted(values) != sorted(variables):
        missing = sorted(set(variables) - set(values)) or sorted(set(values) - set(variables))
        raise ValueError(f"its variables are not the model's and optimizer's ({missing[0]}, for one)")
    for path, variable in variables.items():
        if tuple(variable.shape) != values[path].shape:
            raise ValueError(f"{path} has shape {tuple(variable.shape)}, the backup {values[path].shape}")
    with model.distribute_strategy.scope():
        for path, variable in variables.items():
            variable.assign(values[path])
    return epochs_done


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

    def on_train_end(self, logs=None):
        pass


def hooks(folder: RunFolder, run: dict | None = None) -> tuple[list, Callable]:
    """A run folder's Keras callbacks (a backup after every epoch, the history kept in history.json) and the function
    that resumes from its newest intact backup: `train`'s `callbacks` and `resume`. `run` holds the settings that make
    the run (recipe, seed, ...): a backup made with other settings is refused. A folder that only follows the chief
    (another worker's) gets the backup that follows the chief's."""
    if not folder.writer:
        backup = FollowBackup(folder.backup, run)
        return [backup], backup.restore
    backup = SafeBackup(folder.backup, run)
    # History first: an epoch's line is on disk before the backup that says the epoch is done.
    return [HistoryFile(folder.path / HISTORY_FILE), backup], backup.restore
