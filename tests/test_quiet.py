"""quiet_tensorflow(): explicit, silences TensorFlow's native start-up notices, and shows them when asked."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mnist_ann.quiet import BackendError, require_tensorflow_backend

PROBE = "import mnist_ann; mnist_ann.quiet_tensorflow(); import tensorflow as tf; print('loaded', tf.__version__)"


def run(level: str | None) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    if level is not None:
        env["TF_CPP_MIN_LOG_LEVEL"] = level
    return subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, env=env)


def test_tensorflow_loads_without_native_chatter():
    result = run(None)
    assert result.stdout.startswith("loaded ") and result.stderr == ""


def test_level_0_leaves_tensorflow_alone_so_its_messages_show():
    probe = "import sys, mnist_ann; mnist_ann.quiet_tensorflow(); print('tensorflow' in sys.modules)"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "0"}
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, env=env)
    assert result.stdout.strip() == "False"  # nothing loaded behind a silenced stderr: TensorFlow speaks freely later
    assert run("0").stdout.startswith("loaded ")


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_another_keras_backend_is_refused_in_one_sentence(monkeypatch, cli_here, backend):
    monkeypatch.setenv("KERAS_BACKEND", backend)
    with pytest.raises(BackendError, match=f"and KERAS_BACKEND is '{backend}': unset KERAS_BACKEND"):
        require_tensorflow_backend()
    result = cli_here("evaluate", "--model", "model.keras")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("mnist-ann evaluate: error: mnist_ann runs on Keras's TensorFlow backend")


def test_a_keras_json_naming_another_backend_is_refused_and_tensorflow_is_not(tmp_path, monkeypatch):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (tmp_path / "keras.json").write_text('{"backend": "jax"}')
    with pytest.raises(BackendError, match="keras.json sets the backend to 'jax'"):
        require_tensorflow_backend()
    (tmp_path / "keras.json").write_text('{"backend": "tensorflow"}')
    require_tensorflow_backend()  # no error


SPURIOUS = """
import time
import numpy as np
import mnist_ann
mnist_ann.quiet_tensorflow()
import keras
x, y = np.zeros((20_000, 784), np.float32), np.eye(10, dtype=np.float32)[np.arange(20_000) % 10]
for _ in range(2):  # TensorFlow logs its line at most every few seconds: the second fit comes after that
    mnist_ann.set_seed(0)
    model = mnist_ann.build_model()
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    model.fit(x, y, batch_size=1024, epochs=1, validation_data=(x, y), verbose=0)
    time.sleep(12)
print("trained")
"""


@pytest.mark.full
def test_the_quiet_level_hides_tensorflows_spurious_tf_data_line_and_level_2_shows_it():
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    quiet = subprocess.run([sys.executable, "-c", SPURIOUS], capture_output=True, text=True, timeout=300, env=env)
    assert quiet.stdout.strip() == "trained" and quiet.stderr == "", quiet.stderr[-2000:]
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"  # what the project used to set: the line reaches stderr
    loud = subprocess.run([sys.executable, "-c", SPURIOUS], capture_output=True, text=True, timeout=300, env=env)
    assert loud.stdout.strip() == "trained" and "use_unbounded_threadpool" in loud.stderr, loud.stderr[-2000:]
