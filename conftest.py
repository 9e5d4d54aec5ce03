"""Session set-up for every test run, nbval's included: the notebook's figures go to a temporary folder.

`make run` alone writes the committed figures in images/; tests that execute the notebook must
leave every tracked file as it was, on any machine.
"""

from __future__ import annotations

import os
import shutil
import tempfile

FIGURES_ENV = "MNIST_ANN_FIGURES_DIR"
_made = []


def pytest_configure(config):
    if FIGURES_ENV not in os.environ:  # set before any notebook kernel starts, so kernels inherit it
        _made.append(tempfile.mkdtemp(prefix="mnist-ann-figures-"))
        os.environ[FIGURES_ENV] = _made[-1]


def pytest_unconfigure(config):
    for folder in _made:
        os.environ.pop(FIGURES_ENV, None)
        shutil.rmtree(folder, ignore_errors=True)
