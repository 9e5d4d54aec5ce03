"""The notebook as a parameterized experiment: papermill runs copies with other values, and they take effect."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import nbformat
import papermill
import pytest

import mnist_ann
from conftest import SHARED_MNIST
from mnist_ann import data

pytestmark = pytest.mark.full  # whole notebook runs: the full tier (make test-all)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "MNIST-NN.ipynb"
NEEDS_DATA = pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="the MNIST files are not beside this checkout")


def parameters_cell(notebook) -> nbformat.NotebookNode:
    [cell] = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    return cell


def test_one_parameters_cell_holds_the_knobs_and_nothing_later_sets_them_again():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    cell = parameters_cell(notebook)
    knobs = re.findall(r"^(\w+) = ", cell.source, flags=re.MULTILINE)
    assert knobs == ["SEED", "RECIPE", "EPOCHS", "LEARNING_RATE", "HIDDEN_1", "HIDDEN_2"]
    later = notebook.cells[notebook.cells.index(cell) + 1 :]
    for knob in knobs:
        assignments = [c.source for c in later if c.cell_type == "code" and re.search(rf"^{knob} = ", c.source, re.M)]
        assert assignments == [], f"{knob} is set again after the parameters cell"


def run(tmp_path: Path, monkeypatch, **parameters) -> tuple[nbformat.NotebookNode, str]:
    """Execute a copy of the notebook with `parameters`; the copy and every line it printed."""
    monkeypatch.setenv(data.DATA_DIR_ENV, str(SHARED_MNIST))
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOK), str(out), parameters=parameters, cwd=str(tmp_path), progress_bar=False, log_output=False
    )
    notebook = nbformat.read(out, as_version=4)
    text = "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs)
    return notebook, text


def epoch_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("epoch ")]


SMALL = {"EPOCHS": 2, "LEARNING_RATE": 0.005, "HIDDEN_1": 64, "HIDDEN_2": 16}  # a quick, smaller run


@pytest.fixture(scope="module")
def small_run_seed_0(tmp_path_factory):
    with pytest.MonkeyPatch.context() as monkeypatch:
        return run(tmp_path_factory.mktemp("seed0"), monkeypatch, **SMALL)


@NEEDS_DATA
def test_a_run_with_two_epochs_prints_two_epoch_lines_and_says_the_98_check_is_skipped(small_run_seed_0):
    notebook, text = small_run_seed_0
    assert [line[:11] for line in epoch_lines(text)] == ["epoch 1/2  ", "epoch 2/2  "]
    assert "this run: seed 0, 2 epochs, learning rate 0.005\nhidden layers of 64 and 16 neurons" in text
    published = mnist_ann.get_recipe("fast").epochs
    assert f"this run changed: 2 epochs instead of {published}; learning_rate 0.005; network 784" in text
    assert notebook.metadata.papermill.parameters == SMALL  # the output records what it ran


@NEEDS_DATA
def test_other_hidden_sizes_give_the_matching_parameter_count(small_run_seed_0):
    _, text = small_run_seed_0
    total = 784 * 64 + 64 + 64 * 16 + 16 + 16 * 10 + 10
    assert f"Total params: {total:,}" in text and "50,240" in text  # 784 x 64 + 64 in the first layer
    assert "network 784 -> Dense 64 relu -> Dense 16 relu -> Dense 10 softmax" in text


@NEEDS_DATA
def test_another_seed_gives_another_training_log(tmp_path, monkeypatch, small_run_seed_0):
    _, text = run(tmp_path, monkeypatch, **SMALL, SEED=3)  # only the seed differs
    assert "this run: seed 3, 2 epochs" in text
    assert len(epoch_lines(text)) == 2 and epoch_lines(text)[0] != epoch_lines(small_run_seed_0[1])[0]


def test_make_variant_refuses_to_write_over_the_committed_notebook():
    result = subprocess.run(
        ["make", "-n", "variant", "OUT=notebooks"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0 and "would overwrite the committed notebook or figures" in result.stderr
