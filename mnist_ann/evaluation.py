"""The test-set report: confusion matrix, per-class metrics, most-confused pairs, right and wrong examples."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import classification_report, confusion_matrix

from mnist_ann.data import preprocess

DIGITS = list(range(10))
EVAL_BATCH = 10_000  # validation and test sets in one batch each: evaluating keeps no gradients, so it fits


def predict_probabilities(model, images: np.ndarray) -> np.ndarray:
    """The ten probabilities for each uint8 image, preprocessed as for training, in one forward pass.

    On one device, one batch without Keras's input pipeline: the whole test set fits. Across replicas, `predict`,
    which gathers every replica's share (`predict_on_batch` returns the first replica's only).
    """
    x = preprocess(images)
    if model.distribute_strategy.num_replicas_in_sync > 1:
        return model.predict(x, batch_size=EVAL_BATCH, verbose=0)
    return np.asarray(model.predict_on_batch(x))


def scores(probabilities: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Cross-entropy and accuracy of predicted probabilities against digit labels.

    The loss is the plain categorical cross-entropy, without any label smoothing a recipe may train with, so that
    it compares across recipes.
    """
    probabilities, labels = np.asarray(probabilities, dtype=np.float64), np.asarray(labels)
    picked = np.clip(probabilities[np.arange(len(labels)), labels], 1e-7, 1.0)  # Keras clips the same way
    return float(-np.log(picked).mean()), float((probabilities.argmax(axis=1) == labels).mean())


def evaluate(model, images: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Cross-entropy and accuracy of `model` on uint8 images and digit labels; the model need not be compiled."""
    return scores(predict_probabilities(model, images), labels)


def confusion(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """10x10 counts: row = true digit, column = predicted digit."""
    return confusion_matrix(y_true, y_pred, labels=DIGITS)


def per_class_report(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """Precision, recall, F1 and support per digit, plus accuracy and macro and weighted averages."""
    report = classification_report(
        y_true, y_pred, labels=DIGITS, target_names=[str(d) for d in DIGITS], output_dict=True, zero_division=0
    )
    report.setdefault("accuracy", float(np.mean(np.asarray(y_true) == np.asarray(y_pred))))
    return report


def worst_class(report: dict) -> tuple[int, float]:
    """The digit with the lowest recall among those in the data, and that recall."""
    present = [d for d in DIGITS if report[str(d)]["support"] > 0]
    digit = min(present, key=lambda d: report[str(d)]["recall"])
    return digit, report[str(digit)]["recall"]


def most_confused(matrix: np.ndarray, top: int = 5) -> list[tuple[int, int, int]]:
    """The `top` off-diagonal (true, predicted, count) cells, largest first; ties broken by digit order."""
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(-off, axis=None, kind="stable")[:top]
    pairs = [(int(t), int(p), int(off[t, p])) for t, p in zip(*np.unravel_index(order, off.shape), strict=True)]
    return [pair for pair in pairs if pair[2] > 0]


def misclassified(y_true: np.ndarray, probabilities: np.ndarray, limit: int = 25) -> np.ndarray:
    """Indices of wrongly predicted examples, the most confidently wrong first."""
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != y_true)
    confidence = probabilities[wrong, predicted[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")][:limit]
