"""The notebook's "your turn" exercises, each with `check(answer)`, `hint()` and `solution()`, after Kaggle Learn's.

A check prints one verdict and never raises at the learner: *not yet* (the blank `____` is still there, or the
given code still has its bug) with a hint, *incorrect* with what is wrong, or *correct*. Plain NumPy: nothing here
loads TensorFlow.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np


class _Blank:
    """The starter blank: an answer the learner has not written yet."""

    def __repr__(self) -> str:
        return "____"


____ = _Blank()

Verdict = tuple[str, str]  # ("correct" | "not yet" | "incorrect", what to say)


@dataclasses.dataclass(frozen=True)
class Exercise:
    """One exercise: what a check says of an answer, a hint, and a solution."""

    name: str
    judge: Callable[[object], Verdict]
    hint_text: str
    solution_text: str

    def verdict(self, answer: object) -> Verdict:
        """The verdict on `answer` and the sentence that explains it; never raises."""
        if answer is ____:
            return "not yet", f"replace ____ with your answer, then run the cell again. Hint: {self.hint_text}"
        with np.errstate(all="ignore"):
            try:
                kind, message = self.judge(answer)
            except Exception as error:  # the learner's code failed: say how, not with a traceback
                return "incorrect", f"your answer raised {type(error).__name__}: {error}"
        return kind, (f"{message} Hint: {self.hint_text}" if kind == "not yet" else message)

    def check(self, answer: object) -> None:
        """Print the verdict on `answer`."""
        kind, message = self.verdict(answer)
        print(f"{kind.capitalize()}: {message}")

    def hint(self) -> None:
        """Print a hint."""
        print(f"Hint: {self.hint_text}")

    def solution(self) -> None:
        """Print a solution."""
        print(f"Solution: {self.solution_text}")


# --- 1. parameters: count the weights and biases of a wider or narrower network -------------------------------------


def _layer_sizes(hidden_1: int) -> list[tuple[int, int]]:
    return [(784, hidden_1), (hidden_1, 32), (32, 10)]


def _judge_parameters(answer: object) -> Verdict:
    sizes = _layer_sizes(64)
    right = sum(n_in * n_out + n_out for n_in, n_out in sizes)
    if isinstance(answer, bool) or not isinstance(answer, int | np.integer | float):
        return "incorrect", f"give the count as a number, such as 1000, not {answer!r}."
    if answer == right:
        return "correct", f"784 × 64 + 64 + 64 × 32 + 32 + 32 × 10 + 10 = {right:,} weights and biases."
    if answer == sum(n_in * n_out for n_in, n_out in sizes):
        return "incorrect", f"{answer:,} counts the weights only: every neuron has a bias too (64 + 32 + 10 of them)."
    if answer == 784 * 64 + 64:
        return "incorrect", f"{answer:,} is the first layer alone: add the second (64 → 32) and the last (32 → 10)."
    if answer == 104_938:
        return "incorrect", "104,938 is the network with 128 neurons in the first hidden layer, not 64."
    return "incorrect", f"{answer:,} is not the count: each layer has inputs × neurons weights and one bias per neuron."


parameters = Exercise(
    "parameters",
    _judge_parameters,
    "a dense layer from n_in numbers to n_out neurons has n_in × n_out weights and n_out biases; add up the three "
    "layers 784 → 64, 64 → 32 and 32 → 10.",
    "answer = 784 * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10  # 52,650",
)


# --- 2. softmax: write it -------------------------------------------------------------------------------------------


def _reference_softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _judge_softmax(function: object) -> Verdict:
    if not callable(function):
        return "incorrect", "pass your function itself, `my_softmax`, without calling it."
    small = np.array([[2.0, 1.0, 0.1], [0.0, 0.0, 0.0]])
    try:
        returned = function(small)
    except ValueError as error:
        if "broadcast" not in str(error):
            raise
        return "incorrect", (
            "dividing by the row sums failed to line up (NumPy could not broadcast the shapes): sum with "
            "keepdims=True, so that each row is divided by its own sum."
        )
    if returned is ____:
        return "not yet", "my_softmax still returns the blank ____."
    got = np.asarray(returned, dtype=float)
    if got.shape != small.shape:
        return "incorrect", f"for sums of shape {small.shape} it returned shape {got.shape}: one probability per sum."
    if np.allclose(got.sum(), 1) and not np.allclose(got.sum(axis=1), 1):
        return "incorrect", "all the probabilities together add up to 1; each row (each image's) should: axis=1."
    if not np.allclose(got, _reference_softmax(small), atol=1e-6):
        return "incorrect", f"for z = {small[0].tolist()} it gave {np.round(got[0], 3).tolist()}, not softmax's " + (
            f"{np.round(_reference_softmax(small)[0], 3).tolist()}: exp(z) divided by the sum of exp(z) in the row."
        )
    large = np.array([[1000.0, 999.0, 990.0]])
    if not np.allclose(np.asarray(function(large), dtype=float), _reference_softmax(large), atol=1e-6):
        return "incorrect", (
            "right for small sums, but for z = [1000, 999, 990] exp overflows to infinity: subtract each row's largest "
            "sum first (z - z.max(axis=1, keepdims=True)), which changes no probability."
        )
    return "correct", "your softmax gives probabilities that add up to 1 in every row, even for sums of 1000."


softmax = Exercise(
    "softmax",
    _judge_softmax,
    "e = np.exp(z) gives every exp(z_j); divide each row by its own sum, e.sum(axis=1, keepdims=True). For large sums, "
    "subtract each row's largest sum from z first.",
    "\ndef my_softmax(z):\n"
    "    e = np.exp(z - z.max(axis=1, keepdims=True))\n"
    "    return e / e.sum(axis=1, keepdims=True)",
)


# --- 3. the untrained loss: predict it before running the cell ------------------------------------------------------


def _judge_untrained_loss(answer: object) -> Verdict:
    if isinstance(answer, bool) or not isinstance(answer, int | float | np.floating | np.integer):
        return "incorrect", f"give the loss as a number, not {answer!r}."
    right = math.log(10)
    if abs(answer - right) < 0.01:
        return "correct", f"−log(1/10) = log 10 = {right:.4f}: run the next cell and compare."
    if abs(answer - 0.1) < 1e-9:
        return "incorrect", "0.1 is the probability of the right digit; the loss is −log of it."
    if abs(answer + right) < 0.01:
        return "incorrect", "the sign: log(1/10) is negative, and the loss is minus that, so it is positive."
    if abs(answer - 1) < 0.01:
        return "incorrect", "that is log base 10 of 10; machine learning's log is the natural one (math.log)."
    return "incorrect", f"{answer} is not −log(1/10): the loss of one image is −log(probability of its right digit)."


untrained_loss = Exercise(
    "untrained_loss",
    _judge_untrained_loss,
    "each image's loss is −log of the probability the network gives its right digit, here 1/10 for every image; "
    "the natural logarithm is math.log.",
    "answer = -math.log(1 / 10)  # log 10, about 2.3026",
)


# --- 4. ReLU's backward pass ----------------------------------------------------------------------------------------


def _judge_relu_backward(function: object) -> Verdict:
    if not callable(function):
        return "incorrect", "pass your function itself, `relu_backward`, without calling it."
    z = np.array([[-2.0, -0.5, 0.5, 3.0], [1.5, -1.0, 2.0, -3.0]])
    dh = np.array([[0.1, -0.2, 0.3, -0.4], [0.5, 0.6, -0.7, 0.8]])
    returned = function(dh, z)
    if returned is ____:
        return "not yet", "relu_backward still returns the blank ____."
    got = np.asarray(returned, dtype=float)
    right = dh * (z > 0)
    if got.shape != z.shape:
        return "incorrect", f"it returned shape {got.shape}; dz has the shape of z, {z.shape}."
    if np.allclose(got, right):
        return "correct", "the gradient passes where ReLU's input was positive and stops where it was not."
    if np.allclose(got, dh):
        return "incorrect", "it passes every gradient through; ReLU's slope is 0 where z < 0, so those must be 0."
    if np.allclose(got, dh * z):
        return "incorrect", "it multiplies by z itself; multiply by ReLU's slope, which is 1 or 0."
    if np.allclose(got, z > 0):
        return "incorrect", "that is ReLU's slope alone; multiply it by the gradient dh that arrives from above."
    return "incorrect", f"for z = {z[0].tolist()} and dh = {dh[0].tolist()} the gradient is {right[0].tolist()}."


relu_backward = Exercise(
    "relu_backward",
    _judge_relu_backward,
    "ReLU's slope is 1 where z > 0 and 0 elsewhere, and the chain rule multiplies the arriving gradient dh by it; "
    "(z > 0) is an array of True and False that NumPy multiplies as 1 and 0.",
    "\ndef relu_backward(dh, z):\n    return dh * (z > 0)",
)


# --- 5. one step of gradient descent by hand -----------------------------------------------------------------------


def _judge_sgd_step(answer: object) -> Verdict:
    if isinstance(answer, bool) or not isinstance(answer, int | float | np.floating | np.integer):
        return "incorrect", f"give the new weight as a number, not {answer!r}."
    weight, gradient, rate = 0.5, -8.0, 0.01
    if abs(answer - (weight - rate * gradient)) < 1e-9:
        return "correct", "0.5 − 0.01 × (−8) = 0.58: the gradient is negative, so the weight grows, and z moves to 3."
    if abs(answer - (weight + rate * gradient)) < 1e-9:
        return "incorrect", "0.42 is a step uphill: subtract learning_rate × gradient, and the gradient is −8."
    if abs(answer - (weight - gradient)) < 1e-9:
        return "incorrect", "8.5 takes the whole gradient as the step: multiply it by the learning rate first."
    return "incorrect", f"{answer} is not w − learning_rate × gradient for w = 0.5, gradient −8, learning rate 0.01."


sgd_step = Exercise(
    "sgd_step",
    _judge_sgd_step,
    "new weight = weight − learning_rate × gradient, with weight 0.5, gradient −8 and learning rate 0.01.",
    "answer = 0.5 - 0.01 * (-8)  # 0.58",
)


# --- 6. the bug in a training loop ---------------------------------------------------------------------------------


def _clusters(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three classes of three-pixel images that a tiny network learns in one epoch: class c is bright in pixel c."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    x = 0.2 * rng.random((n, 3)) + 0.8 * np.eye(3)[labels]
    return x, np.eye(3)[labels]


def _tiny_params(seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    shapes = [(3, 8), (8,), (8, 8), (8,), (8, 3), (3,)]
    return [rng.normal(0, 0.5, shape) if len(shape) == 2 else np.zeros(shape) for shape in shapes]


def _loss_and_accuracy(params: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    W1, b1, W2, b2, W3, b3 = params
    z3 = np.maximum(np.maximum(x @ W1 + b1, 0) @ W2 + b2, 0) @ W3 + b3
    p = _reference_softmax(z3)
    loss = float(-np.log(np.maximum(p[np.arange(len(y)), y.argmax(axis=1)], 1e-12)).mean())
    return loss, float((z3.argmax(axis=1) == y.argmax(axis=1)).mean())


EPOCHS = 5  # enough for the fixed loop to get every easy digit right; the broken one stays far below


def _judge_training_bug(function: object) -> Verdict:
    if not callable(function):
        return "incorrect", "pass your function itself, `one_epoch`, without calling it."
    x, y = _clusters()
    params = _tiny_params()
    start_loss, _ = _loss_and_accuracy(params, x, y)
    for epoch in range(EPOCHS):
        params = function(params, x, y, seed=epoch)
    if not isinstance(params, list | tuple) or [np.shape(p) for p in params] != [np.shape(p) for p in _tiny_params()]:
        return "incorrect", "one_epoch must return the six arrays W1, b1, W2, b2, W3, b3, each of its own shape."
    loss, accuracy = _loss_and_accuracy([np.asarray(p, dtype=float) for p in params], x, y)
    if not math.isfinite(loss):
        return "incorrect", "the weights overflowed to infinity or NaN: the steps grow instead of settling."
    if loss > start_loss:
        return "incorrect", f"the loss rose from {start_loss:.2f} to {loss:.2f}: every step must go downhill."
    if accuracy >= 0.95:
        return "correct", f"{EPOCHS} epochs on easy three-pixel digits: {accuracy:.0%} of them right."
    return "not yet", (
        f"after {EPOCHS} epochs on easy three-pixel digits of three classes the network gets {accuracy:.0%} right, "
        "little better than guessing (33%): it is not learning from the right labels."
    )


training_bug = Exercise(
    "training_bug",
    _judge_training_bug,
    "print batch[:5] and range(first, first + batch_size)[:5] for the first batch: are the images and the labels "
    "taken from the same rows?",
    "the labels must come from the same shuffled rows as the images: `backward(x[batch], y[batch], *params)`.",
)
