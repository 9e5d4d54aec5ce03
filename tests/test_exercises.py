"""The notebook's "your turn" exercises: each check, run from the notebook's own cell, says *not yet* for the
committed blank, *incorrect* (with what is wrong) for a wrong answer and *correct* for a right one, and never raises;
the committed notebook shows them unattempted, and no later cell depends on what a learner writes."""

from __future__ import annotations

import ast
import contextlib
import io
import math
from pathlib import Path

import nbformat
import numpy as np
import pytest

from mnist_ann import exercises

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "MNIST-NN.ipynb"
CELLS = [c for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code"]
NAMES = ("parameters", "softmax", "untrained_loss", "relu_backward", "sgd_step", "training_bug")


def exercise_cell(name: str):
    [cell] = [c for c in CELLS if f"exercises.{name}.check(" in c.source]
    return cell


BACKWARD = next(c.source for c in CELLS if "def backward(" in c.source)
SOFTMAX = next(c.source for c in CELLS if "def softmax(z):" in c.source)


def run_cell(source: str) -> str:
    """What the notebook's cell prints, run with what it needs (NumPy, math, the blank, and backward)."""
    namespace = {"np": np, "math": math, "exercises": exercises, "____": exercises.____}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(SOFTMAX + "\n" + BACKWARD, "backward", "exec"), namespace)  # noqa: S102 (the notebook's code)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(source, str(NOTEBOOK), "exec"), namespace)  # noqa: S102 (the notebook's cell)
    return printed.getvalue()


# For each exercise: the blank as committed -> (a right edit, a wrong edit, what the wrong one's verdict names).
EDITS = {
    "parameters": ("____", "784 * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10", "784 * 64 + 64 * 32 + 32 * 10", "bias"),
    "softmax": (
        "____",
        "np.exp(z - z.max(axis=1, keepdims=True)) / np.exp(z - z.max(axis=1, keepdims=True)).sum("
        "axis=1, keepdims=True)",
        "np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)",
        "overflows",
    ),
    "untrained_loss": ("____", "-math.log(1 / 10)", "0.1", "−log"),
    "relu_backward": ("____", "dh * (z > 0)", "dh * z", "slope"),
    "sgd_step": ("____", "0.5 - 0.01 * (-8)", "0.5 + 0.01 * (-8)", "uphill"),
    "training_bug": ("y[first : first + batch_size]", "y[batch]", "y[batch]", "rose"),
}
WRONG_LOOP = ("w - learning_rate * g", "w + 0.001 * learning_rate * g")  # the labels fixed, but a step uphill


@pytest.mark.parametrize("name", NAMES)
def test_the_committed_blank_says_not_yet_with_a_hint(name):
    source = exercise_cell(name).source
    blank = EDITS[name][0]
    assert blank in source
    printed = run_cell(source)
    assert printed.startswith("Not yet: ") and "Hint: " in printed and printed.count("\n") == 1, printed


@pytest.mark.parametrize("name", NAMES)
def test_the_right_answer_is_correct(name):
    blank, right, _, _ = EDITS[name]
    printed = run_cell(exercise_cell(name).source.replace(blank, right, 1))
    assert printed.startswith("Correct: ") and printed.count("\n") == 1, printed


@pytest.mark.parametrize("name", NAMES)
def test_a_wrong_answer_is_incorrect_and_says_what_is_wrong(name):
    blank, _, wrong, symptom = EDITS[name]
    source = exercise_cell(name).source.replace(blank, wrong, 1)
    if name == "training_bug":
        source = source.replace(*WRONG_LOOP)
    printed = run_cell(source)
    assert printed.startswith("Incorrect: ") and symptom in printed and printed.count("\n") == 1, printed


def test_softmax_summed_without_keepdims_is_told_what_to_do():
    kind, message = exercises.softmax.verdict(lambda z: np.exp(z) / np.exp(z).sum(axis=1))
    assert kind == "incorrect" and "keepdims=True" in message


@pytest.mark.parametrize("name", NAMES)
def test_a_check_never_raises_at_the_learner(name):
    def broken(*args, **kwargs):
        raise ValueError("operands could not be broadcast together")

    for answer in (broken, "seven", None, [1, 2]):
        kind, message = getattr(exercises, name).verdict(answer)
        assert kind == "incorrect" and message and "\n" not in message, (answer, message)


@pytest.mark.parametrize("name", NAMES)
def test_hint_and_solution_are_one_call_away(name, capsys):
    exercise = getattr(exercises, name)
    exercise.hint()
    exercise.solution()
    hint, solution = capsys.readouterr().out.split("Solution: ")
    assert hint.startswith("Hint: ") and len(solution.strip()) > 10


def test_the_solutions_printed_are_correct_answers():
    for name in ("parameters", "untrained_loss", "sgd_step"):
        namespace = {"math": math}
        exec(getattr(exercises, name).solution_text, namespace)  # noqa: S102 (our own solution)
        assert getattr(exercises, name).verdict(namespace["answer"])[0] == "correct", name
    for name, function in (("softmax", "my_softmax"), ("relu_backward", "relu_backward")):
        namespace = {"np": np}
        exec(getattr(exercises, name).solution_text, namespace)  # noqa: S102
        assert getattr(exercises, name).verdict(namespace[function])[0] == "correct", name


def test_the_committed_notebook_shows_every_exercise_unattempted():
    for name in NAMES:
        cell = exercise_cell(name)
        printed = "".join(output.get("text", "") for output in cell.outputs)
        assert printed.startswith("Not yet: "), (name, printed)
        assert "nbval-ignore-output" not in cell.metadata.get("tags", [])  # nbval compares what it says


def _names(source: str, context: type) -> set[str]:
    tree = ast.parse(source)
    found = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, context)}
    return found | {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and context is ast.Store}


def test_no_later_cell_depends_on_a_learners_answer():
    """No other cell reads a name an exercise cell writes without writing it first itself."""
    mine = [exercise_cell(name) for name in NAMES]
    written = set().union(*(_names(cell.source, ast.Store) for cell in mine))
    assert {"answer", "my_softmax", "relu_backward", "one_epoch"} <= written
    others = [cell for cell in CELLS if cell not in mine]
    read = set().union(*(_names(c.source, ast.Load) - _names(c.source, ast.Store) for c in others))
    assert written & read == set()
