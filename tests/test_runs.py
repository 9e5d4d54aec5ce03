"""Run folders: resumed runs match uninterrupted ones, history survives a resume, one process per folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import keras
import pytest

from conftest import CRASH_AFTER_EPOCH_2, cli
from mnist_ann.app.callbacks import HistoryFile
from mnist_ann.app.runs import LOCK_FILE, RunFolder, RunFolderError, load_model


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
    with pytest.raises(RunFolderError, match="not 784 pixels in and 10 digit probabilities out"):
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
