"""tf.distribute: strategy choice, TF_CONFIG checks, batches split among replicas, two workers on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import tensorflow as tf

from conftest import CRASH_AFTER_EPOCH_2, write_mnist
from mnist_ann.app import distribute

TWO_WORKERS = {"cluster": {"worker": ["127.0.0.1:1111", "127.0.0.1:2222"]}, "task": {"type": "worker", "index": 0}}
WORKER_TIMEOUT_S = 300  # generous: two TensorFlow processes share two cores; a hung collective must not hang CI


def _env(tf_config: dict | None = None) -> dict:
    env = dict(os.environ)
    env.pop("TF_CONFIG", None)
    if tf_config is not None:
        env["TF_CONFIG"] = json.dumps(tf_config)
    return env


def _cli(*args, cwd: Path, tf_config: dict | None = None, crash_after_epoch_2: bool = False) -> subprocess.Popen:
    program = ["-c", CRASH_AFTER_EPOCH_2] if crash_after_epoch_2 else ["-m", "mnist_ann"]
    return subprocess.Popen(
        [sys.executable, *program, *map(str, args)],
        cwd=cwd,
        env=_env(tf_config),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, so cleanup reaches everything it started
    )


def _finish(processes: list[subprocess.Popen]) -> list[tuple[str, str]]:
    """Wait for every process (bounded) and return their (stdout, stderr); none outlives the call."""
    try:
        return [p.communicate(timeout=WORKER_TIMEOUT_S) for p in processes]
    finally:  # a failed or hung worker must not outlive the test
        for p in processes:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def _two_workers() -> list[dict]:
    """TF_CONFIG for each of two workers on free ports of 127.0.0.1."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    return [{"cluster": cluster, "task": {"type": "worker", "index": i}} for i in range(2)]


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


# --- choosing a strategy and reading TF_CONFIG ---------------------------------------------------


def test_default_and_auto_on_one_device_are_tensorflows_default_strategy():
    assert distribute.make_strategy("default") is tf.distribute.get_strategy()
    if len(tf.config.list_physical_devices("GPU")) <= 1:
        assert distribute.make_strategy("auto") is tf.distribute.get_strategy()


def test_auto_mirrors_when_several_gpus_are_visible(monkeypatch):
    real = tf.config.list_physical_devices
    monkeypatch.setattr(
        tf.config, "list_physical_devices", lambda kind=None: ["GPU:0", "GPU:1"] if kind == "GPU" else real(kind)
    )
    assert isinstance(distribute.make_strategy("auto"), tf.distribute.MirroredStrategy)


def test_unknown_strategy_is_named():
    with pytest.raises(distribute.StrategyError, match="unknown strategy 'ring'; choose one of: auto, default"):
        distribute.make_strategy("ring")


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "{not json",
        json.dumps({"cluster": {"worker": ["127.0.0.1:1111"]}}),  # no task
        json.dumps({"cluster": {"worker": ["127.0.0.1:1111"]}, "task": {"type": "worker", "index": 1}}),
        json.dumps({"cluster": {"worker": "127.0.0.1:1111"}, "task": {"type": "worker", "index": 0}}),
        json.dumps({"cluster": {"worker": ["127.0.0.1"]}, "task": {"type": "worker", "index": 0}}),
        json.dumps({"cluster": {"ps": ["h:1"], "worker": ["h:2"]}, "task": {"type": "worker", "index": 0}}),
    ],
)
def test_unusable_tf_config_is_refused_with_the_fix(text):
    environ = {} if text is None else {"TF_CONFIG": text}
    with pytest.raises(distribute.StrategyError, match=r"TF_CONFIG.*set it as \{\"cluster\""):
        distribute.read_tf_config(environ)


def test_chief_is_the_chief_task_or_else_worker_0():
    assert distribute.read_tf_config({"TF_CONFIG": json.dumps(TWO_WORKERS)}) == TWO_WORKERS
    assert distribute.is_chief_task(None)
    assert distribute.is_chief_task(TWO_WORKERS)
    assert not distribute.is_chief_task({**TWO_WORKERS, "task": {"type": "worker", "index": 1}})
    with_chief = {"cluster": {"chief": ["h:1"], "worker": ["h:2"]}, "task": {"type": "worker", "index": 0}}
    assert not distribute.is_chief_task(with_chief)
    assert distribute.is_chief_task({**with_chief, "task": {"type": "chief", "index": 0}})


@pytest.mark.parametrize(
    "tf_config, extra, message",
    [
        (None, ["--out", "run"], "--strategy multi-worker needs the TF_CONFIG environment variable"),
        (TWO_WORKERS, [], "--strategy multi-worker needs --out, the same run folder on every worker"),
    ],
)
def test_multi_worker_train_without_what_it_needs_exits_2(tmp_path, tf_config, extra, message):
    process = _cli("train", "--strategy", "multi-worker", *extra, cwd=tmp_path, tf_config=tf_config)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 2
    assert message in stderr
    assert list(tmp_path.iterdir()) == []


# --- the global batch is split among replicas -----------------------------------------------------

MIRRORED_SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    import mnist_ann
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from conftest import synthetic_digits
    from mnist_ann.data import one_hot
    from mnist_ann.epochs import EpochBatches
    from mnist_ann.training import train

    x, y = synthetic_digits(600, 0)
    x = mnist_ann.preprocess(x)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    epoch = EpochBatches(x, one_hot(y), 256, seed=5, augment="shift").dataset(1)
    for whole, split in zip(epoch, strategy.experimental_distribute_dataset(epoch)):
        parts = strategy.experimental_local_results(split[0])
        print("rows", [int(p.shape[0]) for p in parts], "same", bool(np.array_equal(np.concatenate(parts), whole[0])))
    (x_train, y_train), (x_test, y_test) = synthetic_digits(600, 0), synthetic_digits(200, 1)
    for name, s in (("mirrored", strategy), ("default", None)):
        fast = mnist_ann.get_recipe("fast").changed(epochs=2)
        model, history, _ = train(x_train, y_train, fast, seed=2, verbose=0, strategy=s)
        print(name, history.history["loss"][-1], mnist_ann.evaluate(model, x_test, y_test)[0])
    """
)


def test_mirrored_replicas_share_each_batch_and_train_like_one_device():
    script = MIRRORED_SCRIPT.format(tests=str(Path(__file__).parent))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=_env())
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    # 600 examples in batches of 256: 256, 256, 88, each split into two halves in order
    assert [line for line in lines if line.startswith("rows")] == [
        "rows [128, 128] same True",
        "rows [128, 128] same True",
        "rows [44, 44] same True",
    ]
    losses = {
        line.split()[0]: [float(v) for v in line.split()[1:]]
        for line in lines
        if line.split()[0] in ("mirrored", "default")
    }
    # The same gradients, summed in a different order: equal to float32 rounding.
    assert losses["mirrored"] == pytest.approx(losses["default"], rel=1e-4)


# --- two workers on 127.0.0.1 ---------------------------------------------------------------------


@pytest.mark.full
def test_two_workers_train_like_one_process_and_only_the_chief_writes(tmp_path):
    data = tmp_path / "idx"
    write_mnist(data, n_train=1200, n_test=300)
    args = [
        "train",
        "--recipe",
        "fast",
        "--epochs",
        "2",
        "--seed",
        "3",
        "--data-dir",
        data,
        "--no-verify",
        "--out",
        "run",
    ]
    # Each worker runs in its own folder, as on two machines: whatever a worker writes lands in its folder.
    folders = [tmp_path / "machine-0", tmp_path / "machine-1", tmp_path / "single"]
    for folder in folders:
        folder.mkdir()
    configs = _two_workers()
    processes = [_cli(*args, "--strategy", "multi-worker", cwd=folders[i], tf_config=configs[i]) for i in range(2)]
    processes.append(_cli(*args, "--strategy", "default", cwd=folders[2]))  # the same run in one process
    outputs = _finish(processes)
    for p, (_, stderr) in zip(processes, outputs, strict=True):
        assert p.returncode == 0, stderr[-3000:]
    for stdout, _ in outputs[:2]:
        assert "strategy MultiWorkerMirroredStrategy: 2 replicas share each batch of 1024 (512 each)" in stdout
    assert "worker 1: training with the chief; the chief alone writes run" in outputs[1][0]

    assert sorted(p.name for p in (folders[0] / "run").iterdir()) == sorted(
        p.name for p in (folders[2] / "run").iterdir()
    )
    assert list(folders[1].iterdir()) == []  # worker 1 wrote nothing
    chief = json.loads((folders[0] / "run" / "metrics.json").read_text())
    alone = json.loads((folders[2] / "run" / "metrics.json").read_text())
    assert (chief["strategy"], chief["replicas"]) == ("MultiWorkerMirroredStrategy", 2)
    # Stated tolerance: test accuracy within one test image, test loss within 0.1% (float32 summation order).
    assert abs(chief["test_accuracy"] - alone["test_accuracy"]) <= 1 / 300
    assert chief["test_loss"] == pytest.approx(alone["test_loss"], rel=1e-3)


@pytest.mark.full
def test_a_killed_multi_worker_run_resumes_on_shared_storage(tmp_path):
    data = tmp_path / "idx"
    write_mnist(data, n_train=600, n_test=200)
    out = tmp_path / "shared" / "run"  # one path both workers see, as on a shared file system
    args = [
        "train",
        "--recipe",
        "fast",
        "--epochs",
        "4",
        "--seed",
        "4",
        "--data-dir",
        data,
        "--no-verify",
        "--out",
        out,
    ]
    configs = _two_workers()
    chief = _cli(*args, "--strategy", "multi-worker", cwd=tmp_path, tf_config=configs[0], crash_after_epoch_2=True)
    other = _cli(*args, "--strategy", "multi-worker", cwd=tmp_path, tf_config=configs[1])
    try:
        chief.wait(timeout=WORKER_TIMEOUT_S)
    finally:  # with the chief gone its partner would wait for it: stop both
        for p in (chief, other):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
    assert chief.returncode == -signal.SIGKILL
    assert json.loads((out / "backup" / "epoch-0002" / "epoch.json").read_text())["epoch"] == 2
    assert not (out / "metrics.json").exists()

    configs = _two_workers()
    resumed = [_cli(*args, "--strategy", "multi-worker", cwd=tmp_path, tf_config=configs[i]) for i in range(2)]
    straight = _cli(*args[:-1], tmp_path / "straight", "--strategy", "default", cwd=tmp_path)
    outputs = _finish([*resumed, straight])
    for p, (_, stderr) in zip([*resumed, straight], outputs, strict=True):
        assert p.returncode == 0, stderr[-3000:]
    for stdout, _ in outputs[:2]:  # both workers picked up the chief's backup and trained epochs 3 and 4 only
        assert "resuming the interrupted run" in stdout
        assert "epoch 2/4" not in stdout and "epoch 3/4" in stdout and "epoch 4/4" in stdout
    assert not (out / "backup").exists()
    a, b = (json.loads((folder / "metrics.json").read_text()) for folder in (out, tmp_path / "straight"))
    assert a["test_accuracy"] == pytest.approx(b["test_accuracy"], abs=1 / 200)
    assert a["test_loss"] == pytest.approx(b["test_loss"], rel=1e-3)
