"""Import TensorFlow without the C++ start-up chatter it prints before its own log level applies."""

from __future__ import annotations

import contextlib
import os
import sys


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


def import_tensorflow_quietly() -> None:
    """Import TensorFlow and probe its devices with native stderr silenced, unless the user asked for logs.

    TensorFlow 2.21 prints oneDNN and CUDA-probe notices at load time, before TF_CPP_MIN_LOG_LEVEL
    is read; they drown notebook output and mean nothing to a reader. TF_CPP_MIN_LOG_LEVEL=0 keeps them.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" in sys.modules or os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0":
        return
    with native_stderr_silenced():
        import tensorflow as tf

        tf.config.list_physical_devices()
