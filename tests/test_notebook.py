"""The notebook under nbval beyond the plain run: its teeth, another numerical environment, and a first run of the
notebook alone in an empty folder, with mnist_ann installed as a regular package and MNIST downloaded."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import mnist_ann
from conftest import SHARED_MNIST, Mirror
from mnist_ann import data

pytestmark = pytest.mark.full  # whole notebook runs: the full tier (make test-all)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "MNIST-NN.ipynb"
NEEDS_DATA = pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="the MNIST files are not beside this checkout")
NOTEBOOK_TIMEOUT_S = 1800


def nbval(notebook: Path, *, cwd: Path, env: dict[str, str | None], options=()) -> str:
    """Run nbval on `notebook` in a fresh process with `env` applied (None removes a variable); its report."""
    environ = {**os.environ, data.DATA_DIR_ENV: str(SHARED_MNIST)}
    for key, value in env.items():
        if value is None:
            environ.pop(key, None)
        else:
            environ[key] = value
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *options, str(notebook)],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=NOTEBOOK_TIMEOUT_S,
    )
    report = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)  # drop nbval's colours
    return f"exit {result.returncode}\n{report}"


def passed(report: str) -> bool:
    return report.startswith("exit 0\n") and " failed" not in report


# --- teeth: each breakage must make nbval fail ----------------------------------------------------


def copy_project(tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    for part in ("mnist_ann", "notebooks"):
        shutil.copytree(ROOT / part, copy / part, ignore=shutil.ignore_patterns("__pycache__", "figures"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


def mutate_source(copy: Path, file: str, old: str, new: str) -> None:
    target = copy / file
    source = target.read_text()
    assert source.count(old) == 1, f"mutation target {old!r} not found once in {file}"
    target.write_text(source.replace(old, new))


def mutate_stored_output(copy: Path, cell_source: str, old: str, new: str) -> None:
    """Change what the committed notebook says a cell printed, as a careless hand edit would."""
    path = copy / "notebooks" / "MNIST-NN.ipynb"
    notebook = nbformat.read(path, as_version=4)
    [cell] = [c for c in notebook.cells if c.cell_type == "code" and cell_source in c.source]
    before = nbformat.writes(notebook)
    for output in cell.outputs:
        if "text" in output:
            output.text = output.text.replace(old, new)
        for key, value in output.get("data", {}).items():
            if key.startswith("text/"):
                output.data[key] = value.replace(old, new)
    assert nbformat.writes(notebook) != before, f"{old!r} is not in the stored output of the cell with {cell_source!r}"
    nbformat.write(notebook, path)


def mutate_notebook_source(copy: Path, cell_source: str, old: str, new: str) -> None:
    """Edit a code cell of the committed notebook, as a learner would."""
    path = copy / "notebooks" / "MNIST-NN.ipynb"
    notebook = nbformat.read(path, as_version=4)
    [cell] = [c for c in notebook.cells if c.cell_type == "code" and cell_source in c.source]
    assert cell.source.count(old) >= 1, f"mutation target {old!r} not in the cell with {cell_source!r}"
    cell.source = cell.source.replace(old, new)
    nbformat.write(notebook, path)


TEETH = {
    "hidden-128-to-64-in-the-notebook": (
        mutate_notebook_source,
        ("HIDDEN_1 = 128", "HIDDEN_1 = 128", "HIDDEN_1 = 64"),
        "50,240",  # 784 x 64 + 64 parameters in the first layer
    ),
    "hidden-128-to-64-in-the-package": (
        mutate_source,
        ("mnist_ann/model.py", "HIDDEN = (128, 32)", "HIDDEN = (64, 32)"),
        "Dense 64",
    ),
    "no-scaling-in-the-notebook": (
        mutate_notebook_source,
        ("x_train_scaled =", " * (1 / 255)", ""),
        "pixel values from",
    ),
    "no-scaling-in-the-package": (
        mutate_source,
        ("mnist_ann/data.py", "images.astype(np.float32) * PIXEL_SCALE", "images.astype(np.float32)"),
        "for bit: False",  # pytest may cut the start of the differing line
    ),
    "stored-training-size": (mutate_stored_output, ("x_fit, y_fit =", "(54000, 784)", "(54001, 784)"), "54001"),
    "stored-parameter-count": (mutate_stored_output, ("model.summary", "104,938", "104,939"), "104,939"),
}


@NEEDS_DATA
@pytest.mark.parametrize("name", sorted(TEETH))
def test_nbval_fails_when_the_code_or_the_stored_outputs_change(tmp_path, name):
    mutate, args, symptom = TEETH[name]
    copy = copy_project(tmp_path)
    mutate(copy, *args)
    # -x: stop at the first failing cell.
    report = nbval(Path("notebooks/MNIST-NN.ipynb"), cwd=copy, env={"PYTHONPATH": str(copy)}, options=["-x"])
    assert report.startswith("exit 1\n"), report[-3000:]
    assert "Cell outputs differ" in report and symptom in report, report[-3000:]


# --- the same notebook elsewhere -----------------------------------------------------------------


@NEEDS_DATA
def test_passes_in_another_numerical_environment():
    report = nbval(
        NOTEBOOK,
        cwd=ROOT,
        env={
            "TF_ENABLE_ONEDNN_OPTS": "0",  # other kernels: the trained weights differ in their last bits
            "TF_NUM_INTRAOP_THREADS": "1",
            "TF_NUM_INTEROP_THREADS": "1",
            "OMP_NUM_THREADS": "1",
        },
    )
    assert passed(report), report[-4000:]


@pytest.fixture(scope="module")
def regular_install(tmp_path_factory) -> Path:
    """mnist_ann installed as a regular (non-editable) package into a folder of its own."""
    build = tmp_path_factory.mktemp("source")
    shutil.copytree(ROOT / "mnist_ann", build / "mnist_ann", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, build / name)
    site = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index"]
        + ["--target", str(site), str(build)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return site


@NEEDS_DATA
def test_notebook_alone_in_an_empty_folder_with_an_empty_cache_downloads_runs_and_writes_only_there(
    tmp_path, regular_install
):
    """A first run as on a hosted notebook service: the notebook alone in a folder, mnist_ann installed as a
    regular package, no MNIST anywhere (it downloads, here from a mirror on 127.0.0.1), a terminal 120 wide."""
    folder = tmp_path / "downloaded"
    folder.mkdir()
    shutil.copy(NOTEBOOK, folder / NOTEBOOK.name)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    cache = tmp_path / "empty-cache"
    env = {
        "PYTHONPATH": str(regular_install),
        "MNIST_ANN_FIGURES_DIR": None,
        data.DATA_DIR_ENV: None,
        data.CACHE_DIR_ENV: str(cache),
        "COLUMNS": "120",  # as some CI systems set it: the layer table must not change
    }
    where = subprocess.run(
        [sys.executable, "-c", "import mnist_ann; print(mnist_ann.__file__)"],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(regular_install)},
        capture_output=True,
        text=True,
    )
    assert where.stdout.startswith(str(regular_install)), where  # not the editable checkout

    options = ["-c", str(tmp_path / "pytest.ini"), "--rootdir", str(folder), "--nbval", "--nbval-current-env"]
    mirror = Mirror({path.name: path.read_bytes() for path in SHARED_MNIST.glob("*.gz")})
    try:
        report = nbval(Path(NOTEBOOK.name), cwd=folder, env=env | {data.MIRRORS_ENV: mirror.url}, options=options)
    finally:
        mirror.close()
    assert passed(report), report[-4000:]
    assert sorted(mirror.requests) == sorted(data.FILES)  # it really downloaded, once per file
    assert sorted(path.name for path in cache.iterdir()) == sorted(data.FILES)
    assert {path.name for path in folder.iterdir()} <= {NOTEBOOK.name, "figures", ".ipynb_checkpoints"}
    saved = {path.name for path in (folder / "figures").iterdir()}
    assert {"curves.png", "confusionMatrix.png", "predictions.png", "weights.png", "your-digit.png"} <= saved


# --- a learner's second pass ---------------------------------------------------------------------


def _text(cell) -> str:
    return "".join(output.get("text", "") for output in cell.outputs if output.output_type == "stream")


@NEEDS_DATA
def test_rerunning_the_training_cell_and_below_trains_again_and_edits_take_effect(tmp_path, monkeypatch, cli_here):
    """One kernel runs the whole notebook, then the training cell and every cell below it again, then the settings
    cell with two edits and everything from the network's cell on, as a learner would; any failed assertion on the
    way raises CellExecutionError. The first pass's epoch log is the command line's, line for line."""
    monkeypatch.setenv(data.DATA_DIR_ENV, str(SHARED_MNIST))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(notebook, timeout=NOTEBOOK_TIMEOUT_S, resources={"metadata": {"path": str(tmp_path)}})
    [training] = [i for i, c in enumerate(notebook.cells) if c.cell_type == "code" and "batches.dataset(" in c.source]
    logs = []
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            client.execute_cell(cell, index)
        logs.append(_text(notebook.cells[training]))
        for index in range(training, len(notebook.cells)):
            client.execute_cell(notebook.cells[index], index)
        logs.append(_text(notebook.cells[training]))
        # A third pass as an experimenting learner makes it: a narrower layer and fewer epochs, from the model cell.
        code = [i for i, c in enumerate(notebook.cells) if c.cell_type == "code"]
        [network] = [i for i in code if "def build_model" in notebook.cells[i].source]
        [settings] = [i for i in code if "parameters" in notebook.cells[i].metadata.get("tags", [])]
        edited = notebook.cells[settings].source.replace("HIDDEN_1 = 128", "HIDDEN_1 = 64")
        notebook.cells[settings].source = edited.replace("EPOCHS = None", "EPOCHS = 3")
        client.execute_cell(notebook.cells[settings], settings)
        for index in range(network, len(notebook.cells)):
            client.execute_cell(notebook.cells[index], index)
        logs.append(_text(notebook.cells[training]))
    epochs = [[line for line in log.splitlines() if line.startswith("epoch")] for log in logs]
    assert len(epochs[0]) == len(epochs[1]) == mnist_ann.get_recipe("fast").epochs
    losses = [float(re.search(r" loss ([0-9.]+)", line).group(1)) for line in epochs[1]]
    assert losses[-1] < losses[0] / 3, epochs[1]  # it trained again, from fresh weights
    assert epochs[1] == epochs[0]  # with the same seed, the same run
    assert len(epochs[2]) == 3 and epochs[2][0].startswith("epoch 1/3")
    assert "50,240" in _text(notebook.cells[network])  # the summary shows the edited layer: 784 x 64 + 64
    checks = _text(notebook.cells[-1])
    published = mnist_ann.get_recipe("fast").epochs
    assert f"this run changed: 3 epochs instead of {published}; network 784 -> Dense 64" in checks

    # The command line trains the same network on the same batches, an epoch per call: the same log.
    result = cli_here("train", "--seed", "0", "--out", tmp_path / "cli-run")
    assert result.returncode == 0, result.stderr
    assert [line for line in result.stdout.splitlines() if line.startswith("epoch")] == epochs[0]
