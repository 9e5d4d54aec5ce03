"""Opt-in quiet start for TensorFlow: its C++ start-up notices are printed before its own log level applies. And the
check that Keras will run on TensorFlow, the one backend this project's training (tf.data, tf.distribute) needs."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

LOG_LEVEL_ENV = "TF_CPP_MIN_LOG_LEVEL"
# TensorFlow's C++ log level that hides INFO, WARNING and ERROR lines (FATAL ones stay): with deterministic ops on,
# TensorFlow 2.21 logs a spurious ERROR line ("NodeDef mentions attribute use_unbounded_threadpool") whenever Keras
# feeds arrays through tf.data, at most every few seconds, and a CPU-only machine an ERROR about CUDA; a real failure
# still raises its Python exception, with TensorFlow's message in it.
QUIET_LEVEL = "3"
VERBOSE_LEVEL = "0"  # the level at which quiet_tensorflow() leaves everything visible


@contextlib.contextmanager
def native_stderr_silenced():
    """Point file descriptor 2 at /dev/null for the duration; Python exceptions still propagate."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable fd 2 (some embedded interpreters): nothing to silence
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


BACKEND_ENV = "KERAS_BACKEND"


class BackendError(RuntimeError):
    """Keras is set to a backend other than TensorFlow; the message names the setting and the fix."""


def require_tensorflow_backend() -> None:
    """Refuse, in one sentence, a Keras backend other than TensorFlow (from KERAS_BACKEND or Keras's keras.json)."""
    backend, where = os.environ.get(BACKEND_ENV), f"{BACKEND_ENV} is"
    if backend is None:
        config = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "keras.json"
        try:
            backend, where = json.loads(config.read_text()).get("backend"), f"{config} sets the backend to"
        except (OSError, ValueError, AttributeError):
            return
    if backend and backend != "tensorflow":
        raise BackendError(
            f"mnist_ann runs on Keras's TensorFlow backend, and {where} {backend!r}: "
            f"unset {BACKEND_ENV} (or set it to tensorflow) and start again."
        )


def quiet_tensorflow() -> None:
    """Import TensorFlow without its start-up chatter; call it before the first TensorFlow import.

    TensorFlow 2.21 prints oneDNN and CUDA-probe notices while it loads, before TF_CPP_MIN_LOG_LEVEL
    is read; they drown notebook output and mean nothing to a reader. This sets the level to 3 (QUIET_LEVEL) unless
    it is already set, and loads TensorFlow and probes its devices with native stderr pointed at
    /dev/null. To see every message when debugging, set TF_CPP_MIN_LOG_LEVEL=0: then nothing is hidden.
    """
    require_tensorflow_backend()
    os.environ.setdefault(LOG_LEVEL_ENV, QUIET_LEVEL)
    if "tensorflow" in sys.modules or os.environ[LOG_LEVEL_ENV] == VERBOSE_LEVEL:
        return
    with native_stderr_silenced():
        import tensorflow as tf

        tf.config.list_physical_devices()
