"""The committed notebook is what readers see on GitHub: valid, executed in order, clean and small."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "MNIST-NN.ipynb"
MAX_BYTES = 900_000  # GitHub stops rendering notebooks at about 1 MB: keep a tenth in hand
MAX_LINE = 100  # GitHub and Colab cut code lines longer than this
WIDGET = "application/vnd.jupyter.widget"
MACHINE_PATH = re.compile(r"(/(root|home|tmp|work|Users|var/folders|private)/|[A-Za-z]:\\\\(Users|Windows)\\\\)")


@pytest.fixture(scope="module")
def notebook():
    return nbformat.read(NOTEBOOK, as_version=4)


def code_cells(notebook):
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def test_is_valid_nbformat(notebook):
    nbformat.validate(notebook)


def test_every_code_cell_ran_once_in_order_from_1(notebook):
    counts = [cell.execution_count for cell in code_cells(notebook)]
    assert counts == list(range(1, len(counts) + 1))


def test_no_errors_and_no_widgets_anywhere(notebook):
    outputs = [output for cell in code_cells(notebook) for output in cell.outputs]
    assert [o for o in outputs if o.output_type == "error"] == []
    assert [o for o in outputs if any(key.startswith(WIDGET) for key in o.get("data", {}))] == []
    assert "widgets" not in notebook.metadata
    assert WIDGET not in NOTEBOOK.read_text()


def test_no_per_cell_execution_timestamps(notebook):
    assert [cell.metadata for cell in code_cells(notebook) if "execution" in cell.metadata] == []


def test_no_machine_paths_in_sources_or_outputs():
    found = MACHINE_PATH.findall(NOTEBOOK.read_text())
    assert found == [], f"machine paths in the committed notebook: {found}"


def test_no_warnings_or_logs_on_stderr(notebook):
    stderr = [o.text for cell in code_cells(notebook) for o in cell.outputs if o.get("name") == "stderr"]
    assert stderr == []


def test_no_terminal_escape_codes_in_stored_outputs(notebook):
    outputs = json.dumps([cell.outputs for cell in code_cells(notebook)])
    assert "\\u001b[" not in outputs and "\x1b[" not in outputs


def test_under_one_megabyte_and_shows_results(notebook):
    assert NOTEBOOK.stat().st_size < MAX_BYTES
    assert sum(bool(cell.outputs) for cell in code_cells(notebook)) >= 10  # committed executed, not cleared
    text = json.dumps([cell.outputs for cell in code_cells(notebook)])
    assert "image/png" in text and "test accuracy" in text


def test_no_code_line_is_cut_off_on_github_or_colab(notebook):
    long = [line for cell in code_cells(notebook) for line in cell.source.splitlines() if len(line) > MAX_LINE]
    assert long == [], f"{len(long)} code lines over {MAX_LINE} characters, the first: {long[:1]}"
