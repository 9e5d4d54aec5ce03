"""The report functions on small hand-made predictions, with answers computed by hand."""

from __future__ import annotations

import types

import numpy as np
import pytest

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


def test_worst_class():
    report = mnist_ann.per_class_report(Y_TRUE, Y_PRED)
    assert mnist_ann.worst_class(report) == (0, 0.5)  # 0, 2 and 4 tie; digits 5-9 are absent, not worst


def test_most_confused_pairs_are_ranked_and_skip_the_diagonal():
    matrix = np.diag([50] * 10)
    matrix[4, 9], matrix[7, 2], matrix[3, 5] = 6, 4, 4
    assert mnist_ann.most_confused(matrix, top=5) == [(4, 9, 6), (3, 5, 4), (7, 2, 4)]


def test_misclassified_lists_the_most_confident_mistakes_first():
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.05, 0.95]])
    y_true = np.array([0, 0, 0, 1])
    np.testing.assert_array_equal(mnist_ann.misclassified(y_true, probabilities), [1, 2])
    np.testing.assert_array_equal(mnist_ann.misclassified(y_true, probabilities, limit=1), [1])


class _Fixed:
    """A stand-in model with fixed answers that records what it was given, to check evaluate's arithmetic."""

    calls = 0
    distribute_strategy = types.SimpleNamespace(num_replicas_in_sync=1)  # one device

    def predict_on_batch(self, x):
        self.calls += 1
        self.seen = (x.dtype, x.shape, float(x.max()))
        answers = np.zeros((3, 10), np.float32)
        answers[0, [0, 1, 2]] = 0.3, 0.5, 0.2  # true 1: right, p = 0.5
        answers[1, [2, 5]] = 0.25, 0.75  # true 2: wrong (5), p = 0.25
        answers[2, 3] = 1.0  # true 3: right, p = 1
        return answers


def test_evaluate_preprocesses_images_and_scores_plain_cross_entropy_and_accuracy():
    model = _Fixed()
    loss, accuracy = mnist_ann.evaluate(model, np.full((3, 28, 28), 255, dtype=np.uint8), np.array([1, 2, 3]))
    assert loss == pytest.approx(-(np.log(0.5) + np.log(0.25) + np.log(1.0)) / 3)
    assert accuracy == pytest.approx(2 / 3)
    assert model.seen == (np.float32, (3, 784), 1.0) and model.calls == 1  # one forward pass
