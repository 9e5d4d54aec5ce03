"""Run folders: resumed runs match uninterrupted ones, history survives a resume, one process per folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import mnist_ann
from conftest import CRASH_AFTER_EPOCH_2, cli, synthetic_digits
from mnist_ann.app.callbacks import HistoryFile
from mnist_ann.app.runs import LOCK_FILE, RunFolder, RunFolderError
from mnist_ann.files import ModelFileError
from mnist_ann.model import compile_model, load_model


@pytest.mark.full
def test_killed_training_resumes_from_the_last_epoch_and_matches_an_uninterrupted_run(tmp_path, tiny_data):
    args = ["train", "--epochs", "4", "--data-dir", tiny_data, "--no-verify", "--seed", "5"]
    crashed = subprocess.run(
        [sys.executable, "-c", CRASH_AFTER_EPOCH_2, *map(str, args), "--out", tmp_path / "run"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert crashed.returncode == -9 and "epoch 1/4" in crashed.stdout and "epoch 3/4" not in crashed.stdout
    assert not (tmp_path / "run" / "metrics.json").exists()
    assert json.loads((tmp_path / "run" / "backup" / "epoch-0002" / "epoch.json").read_text())["epoch"] == 2

    resumed = cli(*args, "--out", tmp_path / "run")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming the interrupted run" in resumed.stdout
    assert "epoch 1/4" not in resumed.stdout and "epoch 2/4" not in resumed.stdout and "epoch 4/4" in resumed.stdout
    assert not (tmp_path / "run" / "backup").exists()

    straight = cli(*args, "--out", tmp_path / "straight")
    assert straight.returncode == 0, straight.stderr
    a, b = (json.loads((tmp_path / r / "metrics.json").read_text()) for r in ("run", "straight"))
    assert (a["test_accuracy"], a["test_loss"]) == (b["test_accuracy"], b["test_loss"])  # bit-for-bit on CPU
    # The resumed run's history covers all four epochs, before and after the crash, exactly as uninterrupted.
    resumed_history, straight_history = (
        json.loads((tmp_path / r / "history.json").read_text()) for r in ("run", "straight")
    )
    assert len(resumed_history["loss"]) == 4 and len(resumed_history["val_accuracy"]) == 4
    assert resumed_history == straight_history


@pytest.mark.full
def test_two_trainings_into_the_same_folder_at_once_one_trains_the_other_stops(tmp_path, tiny_data):
    out = tmp_path / "shared-out"
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "mnist_ann", "train", "--epochs", "3", "--seed", str(seed)]
            + ["--data-dir", str(tiny_data), "--no-verify", "--out", str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in (1, 2)
    ]
    outputs = [p.communicate(timeout=600) for p in processes]
    codes = sorted(p.returncode for p in processes)
    assert codes == [0, 2], outputs
    winner, loser = (0, 1) if processes[0].returncode == 0 else (1, 0)
    refusal = outputs[loser][1]
    assert (
        "is in use: another train process is writing this run" in refusal or "already holds a finished run" in refusal
    )
    assert len(refusal.strip().splitlines()) == 1 and "Traceback" not in refusal
    # The folder holds the winner's run, and its model is the one metrics.json describes.
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["seed"] == winner + 1
    evaluated = cli("evaluate", "--model", out / "model.keras", "--data-dir", tiny_data, "--no-verify", "--json")
    assert json.loads(evaluated.stdout)["test_accuracy"] == pytest.approx(metrics["test_accuracy"], abs=1e-6)


def test_a_folder_in_use_is_refused_at_once(tmp_path):
    with RunFolder.create(str(tmp_path / "run"), "fast") as first:
        assert (first.path / LOCK_FILE).exists()
        with pytest.raises(RunFolderError, match="is in use: another train process is writing this run"):
            RunFolder.create(str(tmp_path / "run"), "fast")
    RunFolder.create(str(tmp_path / "run"), "fast").close()  # free again once the first one closed


def test_a_finished_run_is_never_reopened(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "metrics.json").write_text("{}")
    with pytest.raises(RunFolderError, match="already holds a finished run"):
        RunFolder.create(str(tmp_path / "run"), "fast")


def test_new_folders_under_runs_never_collide(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folders = [RunFolder.create(None, "fast") for _ in range(3)]
    assert len({f.path for f in folders}) == 3 and all(f.path.parent == Path("runs") for f in folders)
    for folder in folders:
        folder.close()


def test_history_file_keeps_the_epochs_before_a_resume_and_only_those(tmp_path):
    path = tmp_path / "history.json"
    path.write_text(json.dumps({"loss": [0.9, 0.8, 0.7], "accuracy": [0.1, 0.2, 0.3]}))  # 3 epochs saved...
    history = HistoryFile(path)
    history.on_train_begin()
    history.on_epoch_begin(2)  # ...but the backup holds 2: epoch 3 is trained again
    history.on_epoch_end(2, {"loss": 0.5, "accuracy": 0.6})
    assert json.loads(path.read_text()) == {"loss": [0.9, 0.8, 0.5], "accuracy": [0.1, 0.2, 0.6]}


def test_load_model_checks_shape(tmp_path):
    small = keras.Sequential([keras.Input((100,)), keras.layers.Dense(3)])
    small.save(tmp_path / "small.keras")
    with pytest.raises(ModelFileError, match="not 784 pixels in and 10 digit probabilities out"):
        load_model(str(tmp_path / "small.keras"))


def test_a_clash_is_reported_before_tensorflow_loads(tmp_path):
    probe = (
        "import sys\n"
        "from mnist_ann.app.cli import main\n"
        f"code = main(['train', '--out', {str(tmp_path / 'run')!r}])\n"
        "print(code, 'tensorflow' in sys.modules)\n"
    )
    with RunFolder.create(str(tmp_path / "run"), "fast"):  # another process is training there
        result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "2 False", result.stderr
    assert "is in use: another train process is writing this run" in result.stderr


# --- backups that know their run ----------------------------------------------------------------


class Crash(Exception):
    """Stands for a kill: training stops at once, after an epoch's backup, with nothing else run."""


class CrashAfter(keras.callbacks.Callback):
    def __init__(self, epochs: int):
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epochs:
            raise Crash


def _resumable(tmp_path, recipe, seed, *callbacks):
    from mnist_ann.app.callbacks import SafeBackup
    from mnist_ann.app.cli import run_settings

    backup = SafeBackup(tmp_path / "backup", run_settings(recipe, seed))
    return mnist_ann.train(
        *synthetic_digits(400, seed=1),
        recipe,
        seed=seed,
        verbose=0,
        callbacks=[backup, *callbacks],
        resume=backup.restore,
    )


def test_training_killed_in_process_resumes_to_the_uninterrupted_runs_numbers(tmp_path):
    from mnist_ann.app.callbacks import snapshots

    recipe = mnist_ann.get_recipe("fast").changed(epochs=4, batch_size=64)
    straight, straight_history, _ = mnist_ann.train(*synthetic_digits(400, seed=1), recipe, seed=2, verbose=0)
    with pytest.raises(Crash):
        _resumable(tmp_path, recipe, 2, CrashAfter(2))
    assert [path.name for path in snapshots(tmp_path / "backup")] == ["epoch-0002", "epoch-0001"]
    resumed, resumed_history, _ = _resumable(tmp_path, recipe, 2)
    assert resumed_history.history == {key: values[2:] for key, values in straight_history.history.items()}
    for a, b in zip(resumed.get_weights(), straight.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not (tmp_path / "backup").exists()  # a finished run leaves nothing to resume


def test_a_backup_keeps_each_variable_by_its_path(tmp_path):
    from mnist_ann.app.callbacks import STATE_FILE, snapshots

    recipe = mnist_ann.get_recipe("fast").changed(epochs=2, batch_size=64)
    with pytest.raises(Crash):
        _resumable(tmp_path, recipe, 0, CrashAfter(1))
    with np.load(snapshots(tmp_path / "backup")[0] / STATE_FILE) as arrays:
        names = set(arrays.files)
    assert {"mnist_ann/hidden_1/kernel", "mnist_ann/digit/bias"} <= names
    slots = sorted(name for name in names if name.startswith("optimizer/mnist_ann_hidden_2_kernel"))
    assert slots == ["optimizer/mnist_ann_hidden_2_kernel_momentum", "optimizer/mnist_ann_hidden_2_kernel_velocity"]


@pytest.mark.parametrize(
    "change", [{"epochs": 3}, {"batch_size": 32}, {"seed": 1}, {"learning_rate": 0.1}], ids=lambda c: next(iter(c))
)
def test_resuming_with_other_settings_is_refused_in_one_sentence(tmp_path, change):
    from mnist_ann.app.callbacks import BackupMismatch

    recipe = mnist_ann.get_recipe("fast").changed(epochs=4, batch_size=64)
    with pytest.raises(Crash):
        _resumable(tmp_path, recipe, 0, CrashAfter(1))
    seed = change.pop("seed", 0)
    other = recipe.changed(**change)
    [(key, value)] = (change or {"seed": seed}).items()
    with pytest.raises(BackupMismatch) as refused:
        _resumable(tmp_path, other, seed)
    message = str(refused.value)
    assert message.startswith(f"{tmp_path / 'backup'} holds a backup of a run with {key} ")
    assert f"this run has {key} {value}" in message and message.count(". ") == 0 and message.endswith("new run.")


def test_the_command_line_refuses_to_resume_with_other_epochs_and_says_so(tmp_path, tiny_data, cli_here):
    from mnist_ann.app.callbacks import SafeBackup
    from mnist_ann.app.cli import run_settings

    recipe = mnist_ann.get_recipe("fast").changed(epochs=3)
    backup = SafeBackup(tmp_path / "run" / "backup", run_settings(recipe, 0))
    model = compile_model(mnist_ann.build_model())
    backup.set_model(model)
    backup.on_epoch_end(1)  # two epochs done, as a killed run leaves them
    result = cli_here("train", "--epochs", "1", "--data-dir", tiny_data, "--no-verify", "--out", tmp_path / "run")
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == (
        f"mnist-ann train: error: {tmp_path / 'run' / 'backup'} holds a backup of a run with epochs 3, and this run "
        "has epochs 1: run the same command as before to resume it, or give another --out for a new run."
    )
    assert (tmp_path / "run" / "backup" / "epoch-0002").is_dir()  # the backup is kept
