"""The report functions on small hand-made predictions with answers computed by hand; plots write real PNGs."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import mnist_ann

# Ten images: digits 0,0,1,1,2,2,3,3,4,4 predicted as 0,1,1,1,2,3,3,3,9,4.
Y_TRUE = np.array([0, 0, 1, 1, 2, 2, 3, 3, 4, 4])
Y_PRED = np.array([0, 1, 1, 1, 2, 3, 3, 3, 9, 4])


def test_confusion_matrix_matches_a_hand_count():
    matrix = mnist_ann.confusion(Y_TRUE, Y_PRED)
    expected = np.zeros((10, 10), dtype=int)
    for t, p in [(0, 0), (0, 1), (1, 1), (1, 1), (2, 2), (2, 3), (3, 3), (3, 3), (4, 9), (4, 4)]:
        expected[t, p] += 1
    np.testing.assert_array_equal(matrix, expected)


def test_per_class_report_matches_hand_computed_values():
    report = mnist_ann.per_class_report(Y_TRUE, Y_PRED)
    # digit 1: predicted 3 times, 2 right -> precision 2/3; both 1s found -> recall 1.
    assert report["1"]["precision"] == pytest.approx(2 / 3)
    assert report["1"]["recall"] == 1.0
    assert report["1"]["f1-score"] == pytest.approx(0.8)
    assert report["0"]["recall"] == 0.5 and report["0"]["precision"] == 1.0
    assert report["9"]["precision"] == 0.0 and report["9"]["support"] == 0
    assert report["accuracy"] == pytest.approx(0.7)
    # Weighted average over supports 2,2,2,2,2 of recalls .5,1,.5,1,.5 (digits 5-9 have no support).
    assert report["weighted avg"]["recall"] == pytest.approx(0.7)


def test_worst_class_and_table_text():
    report = mnist_ann.per_class_report(Y_TRUE, Y_PRED)
    assert mnist_ann.worst_class(report) == (0, 0.5)  # 0, 2 and 4 tie; digits 5-9 are absent, not worst
    table = mnist_ann.format_report(report)
    assert table.splitlines()[0].split() == ["precision", "recall", "f1", "support"]
    assert "weighted avg" in table and "accuracy" in table


def test_most_confused_pairs_are_ranked_and_skip_the_diagonal():
    matrix = np.diag([50] * 10)
    matrix[4, 9], matrix[7, 2], matrix[3, 5] = 6, 4, 4
    assert mnist_ann.most_confused(matrix, top=5) == [(4, 9, 6), (3, 5, 4), (7, 2, 4)]


def test_misclassified_lists_the_most_confident_mistakes_first():
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.05, 0.95]])
    y_true = np.array([0, 0, 0, 1])
    np.testing.assert_array_equal(mnist_ann.misclassified(y_true, probabilities), [1, 2])
    np.testing.assert_array_equal(mnist_ann.misclassified(y_true, probabilities, limit=1), [1])


@pytest.mark.parametrize(
    "draw",
    [
        lambda path: mnist_ann.plot_confusion_matrix(mnist_ann.confusion(Y_TRUE, Y_PRED), path=path),
        lambda path: mnist_ann.plot_confidence(np.eye(10)[Y_PRED] * 0.9 + 0.01, Y_TRUE, path=path),
        lambda path: mnist_ann.plot_history({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}, "loss", path=path),
        lambda path: mnist_ann.plot_digit(np.arange(784) % 255, "x", path=path),
        lambda path: mnist_ann.plot_digit_grid(np.zeros((3, 28, 28)), ["a", "b", "c"], columns=2, path=path),
    ],
    ids=["confusion", "confidence", "history", "digit", "grid"],
)
def test_each_plot_writes_a_non_empty_png(tmp_path, draw):
    path = tmp_path / "figures" / "out.png"
    draw(path)
    with Image.open(path) as image:
        assert image.format == "PNG" and image.width > 100 and image.height > 100
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind
