"""Faults a long run meets: a kill while a backup is written, a damaged backup, a full disk. Each ends in one
sentence and a clean exit, never leaves a half-written file where it would be trusted, and the same command then
finishes with exactly the numbers of an uninterrupted run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CRASH_AFTER_EPOCH_2, cli

pytestmark = pytest.mark.full  # each fault costs a training process or two: the full tier

# `python -c FAULT MODE EPOCH train ...` runs the command line with one fault injected where the project writes:
# kill-mid-backup: SIGKILL once part of epoch EPOCH's backup is on disk; full-disk-at-backup: that backup's write
# fails with ENOSPC; full-disk-at-model: saving model.keras fails with ENOSPC.
FAULT = """
import errno, os, signal, sys
from mnist_ann.quiet import quiet_tensorflow
quiet_tensorflow()  # as the command line loads TensorFlow: without its start-up notices on stderr
import keras
from mnist_ann.app import callbacks
from mnist_ann.app.cli import main

mode, at = sys.argv[1], int(sys.argv[2])
original = callbacks.SafeBackup._write

def write(self, folder, epochs_done):
    if epochs_done != at or mode == "full-disk-at-model":
        return original(self, folder, epochs_done)
    if mode == "kill-mid-backup":
        (folder / callbacks.STATE_FILE).write_bytes(b"the first bytes of a state")
        sys.stdout.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

def save(self, *args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

callbacks.SafeBackup._write = write
if mode == "full-disk-at-model":
    keras.Model.save = save
sys.exit(main(sys.argv[3:]))
"""
EPOCHS = 4


def train_args(tiny_data: Path, out: Path) -> list[str]:
    return [
        "train",
        "--epochs",
        str(EPOCHS),
        "--data-dir",
        str(tiny_data),
        "--no-verify",
        "--seed",
        "5",
        "--out",
        str(out),
    ]


def run_python(code: str, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=600)


def finished(out: Path) -> tuple[dict, dict]:
    metrics = json.loads((out / "metrics.json").read_text())
    return {key: metrics[key] for key in ("test_accuracy", "test_loss")}, json.loads((out / "history.json").read_text())


@pytest.fixture(scope="module")
def straight(tmp_path_factory, tiny_data) -> tuple[dict, dict]:
    """The metrics and history of the same run, uninterrupted."""
    out = tmp_path_factory.mktemp("straight") / "run"
    result = cli(*train_args(tiny_data, out))
    assert result.returncode == 0, result.stderr
    return finished(out)


@pytest.fixture(scope="module")
def crashed(tmp_path_factory, tiny_data) -> Path:
    """A run folder whose training was killed right after epoch 2's backup was saved."""
    out = tmp_path_factory.mktemp("crashed") / "run"
    result = run_python(CRASH_AFTER_EPOCH_2, *train_args(tiny_data, out))
    assert result.returncode == -9, result.stderr
    return out


def backups(out: Path) -> list[str]:
    return sorted(path.name for path in (out / "backup").iterdir())


def one_sentence(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def test_a_backup_is_complete_and_the_one_before_is_kept(crashed):
    assert backups(crashed) == ["epoch-0001", "epoch-0002"]
    saved = json.loads((crashed / "backup" / "epoch-0002" / "epoch.json").read_text())
    assert saved["epoch"] == 2 and saved["run"]["recipe"] == "fast" and saved["run"]["epochs"] == 4


def test_a_kill_while_a_backup_is_written_resumes_exactly_from_the_one_before(tmp_path, tiny_data, straight):
    out = tmp_path / "run"
    killed = run_python(FAULT, "kill-mid-backup", 2, *train_args(tiny_data, out))
    assert killed.returncode == -9
    assert backups(out)[0].startswith(".writing-") and backups(out)[1:] == ["epoch-0001"]  # half a backup, aside

    resumed = cli(*train_args(tiny_data, out))
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming the interrupted run" in resumed.stdout and "epoch 1/4" not in resumed.stdout
    assert "epoch 2/4" in resumed.stdout  # trained again from the backup of epoch 1
    assert finished(out) == straight and not (out / "backup").exists()


@pytest.mark.parametrize("damage", ["truncated", "garbage", "missing epoch"])
def test_a_damaged_backup_is_named_and_the_one_before_resumes_exactly(tmp_path, crashed, tiny_data, straight, damage):
    out = tmp_path / "run"
    shutil.copytree(crashed, out)
    newest = out / "backup" / "epoch-0002"
    state = newest / "state.npz"
    if damage == "truncated":
        state.write_bytes(state.read_bytes()[:100])
    elif damage == "garbage":
        state.write_bytes(os.urandom(state.stat().st_size))
    else:
        (newest / "epoch.json").unlink()

    resumed = cli(*train_args(tiny_data, out))
    assert resumed.returncode == 0, resumed.stderr
    assert f"the backup {newest} is damaged (" in resumed.stdout
    assert f"resuming from the newest intact backup, {out / 'backup' / 'epoch-0001'}" in resumed.stdout
    assert "epoch 1/4" not in resumed.stdout and "epoch 2/4" in resumed.stdout
    assert finished(out) == straight


def test_with_no_intact_backup_the_run_starts_over_and_says_so(tmp_path, crashed, tiny_data, straight):
    out = tmp_path / "run"
    shutil.copytree(crashed, out)
    for name in backups(out):
        (out / "backup" / name / "state.npz").write_bytes(b"not a state")
    restarted = cli(*train_args(tiny_data, out))
    assert restarted.returncode == 0, restarted.stderr
    assert f"no intact backup in {out / 'backup'}; starting this run over from epoch 1" in restarted.stdout
    assert "epoch 1/4" in restarted.stdout
    assert finished(out) == straight  # the history of the abandoned epochs is not kept


def test_a_full_disk_at_a_backup_is_one_sentence_and_the_same_command_then_finishes(tmp_path, tiny_data, straight):
    out = tmp_path / "run"
    failed = run_python(FAULT, "full-disk-at-backup", 2, *train_args(tiny_data, out))
    assert failed.returncode == 74
    message = one_sentence(failed.stderr)
    assert message.startswith(f"mnist-ann train: error: cannot write {out / 'backup' / 'epoch-0002'}: ")
    assert "no space left on device" in message and "run the same command again" in message
    assert backups(out) == ["epoch-0001"] and not (out / "metrics.json").exists()

    again = cli(*train_args(tiny_data, out))
    assert again.returncode == 0, again.stderr
    assert "resuming the interrupted run" in again.stdout and finished(out) == straight


def test_a_full_disk_when_saving_the_model_leaves_no_half_file_and_the_same_command_then_finishes(
    tmp_path, tiny_data, straight
):
    out = tmp_path / "run"
    failed = run_python(FAULT, "full-disk-at-model", 0, *train_args(tiny_data, out))
    assert failed.returncode == 74
    message = one_sentence(failed.stderr)
    assert f"cannot write {out / 'model.keras'}: no space left on device" in message
    assert sorted(path.name for path in out.iterdir()) == [".lock", "history.json"]  # nothing half-written

    again = cli(*train_args(tiny_data, out))
    assert again.returncode == 0, again.stderr
    assert finished(out) == straight


@pytest.fixture
def small_file_system(tmp_path):
    """A 600 kB file system (tmpfs), where the first backup cannot fit; skipped where mounting is not allowed."""
    mount = tmp_path / "small"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)


@pytest.mark.full
def test_a_really_full_file_system_ends_cleanly_and_the_run_finishes_once_there_is_room(
    small_file_system, tiny_data, straight
):
    out = small_file_system / "run"
    failed = cli(*train_args(tiny_data, out))
    assert failed.returncode == 74  # not a segmentation fault (139)
    assert "no space left on device" in one_sentence(failed.stderr)
    subprocess.run(["mount", "-o", "remount,size=20m", str(small_file_system)], check=True)
    again = cli(*train_args(tiny_data, out))
    assert again.returncode == 0, again.stderr
    assert finished(out) == straight
