"""nbval must catch real breakage: re-run the notebook on a mutated copy of the package and expect failure."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NEEDS_DATA = pytest.mark.skipif(
    not os.environ.get("MNIST_ANN_DATA_DIR"), reason="set MNIST_ANN_DATA_DIR to run the notebook on MNIST"
)


def run_nbval_on_mutated_copy(tmp_path: Path, file: str, old: str, new: str) -> subprocess.CompletedProcess:
    copy = tmp_path / "project"
    for part in ("mnist_ann", "notebooks"):
        shutil.copytree(ROOT / part, copy / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    target = copy / file
    source = target.read_text()
    assert source.count(old) == 1, f"mutation target {old!r} not found once in {file}"
    target.write_text(source.replace(old, new))
    env = {**os.environ, "PYTHONPATH": str(copy)}  # the kernel imports the mutated mnist_ann
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "notebooks/MNIST-NN.ipynb"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )


@NEEDS_DATA
@pytest.mark.parametrize(
    "file, old, new, symptom",
    [
        ("mnist_ann/model.py", "Dense(128,", "Dense(64,", "model.summary()"),
        ("mnist_ann/data.py", "images.astype(np.float32) / 255.0", "images.astype(np.float32)", "pixel values from"),
    ],
    ids=["hidden-128-to-64", "no-normalization"],
)
def test_nbval_fails_when_the_model_or_the_preprocessing_breaks(tmp_path, file, old, new, symptom):
    result = run_nbval_on_mutated_copy(tmp_path, file, old, new)
    report = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout)  # drop nbval's colours
    assert result.returncode == 1, report[-2000:]
    assert "Cell outputs differ" in report and symptom in report, report[-2000:]
