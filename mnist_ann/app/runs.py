"""A run folder: one object that creates, locks, resumes and saves one training run."""

from __future__ import annotations

import datetime
import itertools
import json
import tempfile
from pathlib import Path

import filelock

from mnist_ann.files import replaced_atomically, write_text_atomically

RUNS_DIR = Path("runs")  # where runs go when no --out is given
MODEL_FILE = "model.keras"
HISTORY_FILE = "history.json"
METRICS_FILE = "metrics.json"  # written last: its presence marks the run finished
CURVES_FILE = "curves.png"  # accuracy and loss per epoch, side by side
BACKUP_DIR = "backup"  # SafeBackup's epoch-NNNN backups; removed when training ends
LOCK_FILE = ".lock"  # held by the one process that trains in the folder


class RunFolderError(Exception):
    """A run folder or model file that cannot be used; the message names it and the fix."""


class BackupMismatch(RunFolderError):
    """A backup made by a run with other settings than the run that would resume from it; the message names both."""


class RunFolder:
    """One training run's folder.

    `create` claims it for this process (a new folder under runs/, or --out): it holds the folder's
    lock until `close`, so a second process given the same --out stops at once, and a finished run is
    never reopened. Training resumes from `backup/` when an earlier process was interrupted, and the
    history of every epoch, resumed or not, is kept in history.json. `follow` opens the folder for a
    worker that only reads the chief's backup and writes nothing.
    """

    def __init__(self, path: str | Path, *, writer: bool = True):
        self.path = Path(path)
        self.writer = writer
        self._lock: filelock.BaseFileLock | None = None

    @classmethod
    def create(cls, out: str | None, recipe_name: str) -> RunFolder:
        """Claim `out`, or a new folder under runs/ named after the time and recipe, for this process."""
        folder = cls(out if out is not None else _new_folder(recipe_name))
        folder.claim()
        return folder

    @classmethod
    def follow(cls, out: str) -> RunFolder:
        """The chief's run folder as another worker sees it: resume from its backup, never write."""
        return cls(out, writer=False)

    def __enter__(self) -> RunFolder:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    @property
    def backup(self) -> Path:
        return self.path / BACKUP_DIR

    def history(self) -> dict[str, list[float]]:
        """Every epoch's metrics, across resumes, as history.json holds them."""
        return json.loads((self.path / HISTORY_FILE).read_text())

    def save(self, model, metrics: dict) -> None:
        """Write model.keras and the curves, then metrics.json last; each through a temporary file."""
        from mnist_ann import plots

        with replaced_atomically(self.path / MODEL_FILE) as tmp:
            model.save(tmp)  # loads with mnist_ann.load_model; `fast`'s and `original`'s with plain Keras too
        history = self.history()
        plots.plt.close(plots.plot_history(history, path=self.path / CURVES_FILE))
        write_text_atomically(self.path / METRICS_FILE, json.dumps(metrics, indent=2) + "\n")

    def claim(self) -> None:
        """Create the folder if need be and take its lock; refuse a file, a finished run or a folder in use."""
        if self.path.exists() and not self.path.is_dir():
            raise RunFolderError(f"--out {self.path} is a file, not a folder; choose a folder name.")
        self._refuse_finished()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            tempfile.NamedTemporaryFile(dir=self.path, prefix=".write-test.").close()
        except OSError as exc:
            raise RunFolderError(
                f"cannot write the run folder {self.path} ({exc.strerror}); choose a writable --out."
            ) from None
        lock = filelock.FileLock(self.path / LOCK_FILE)
        try:
            lock.acquire(blocking=False)
        except filelock.Timeout:
            raise RunFolderError(
                f"--out {self.path} is in use: another train process is writing this run; "
                "wait for it to finish, or choose another --out."
            ) from None
        self._lock = lock
        try:
            self._refuse_finished()  # it may have finished between the first look and the lock
        except RunFolderError:
            self.close()
            raise

    def _refuse_finished(self) -> None:
        if (self.path / METRICS_FILE).exists():
            raise RunFolderError(f"--out {self.path} already holds a finished run; choose a new folder so it is kept.")


def _new_folder(recipe_name: str) -> Path:
    """A folder under runs/ that no other process has: the first of NAME, NAME-2, ... that mkdir creates."""
    base = RUNS_DIR / f"{datetime.datetime.now():%Y%m%d-%H%M%S}-{recipe_name}"
    for n in itertools.count(1):
        path = base if n == 1 else base.with_name(f"{base.name}-{n}")
        try:
            path.mkdir(parents=True)
            return path
        except FileExistsError:
            continue
        except OSError as exc:
            raise RunFolderError(f"cannot create a run folder under {RUNS_DIR} ({exc.strerror}); pass --out.") from None
    raise AssertionError("unreachable")
