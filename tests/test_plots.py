"""Every plot draws and writes a real PNG through a temporary file, identical bytes for identical figures."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import mnist_ann

Y_TRUE = np.array([0, 0, 1, 1, 2, 2, 3, 3, 4, 4])
Y_PRED = np.array([0, 1, 1, 1, 2, 3, 3, 3, 9, 4])


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


def test_the_same_figure_gives_the_same_bytes(tmp_path):
    for name in ("a.png", "b.png"):
        mnist_ann.plot_history({"loss": [1.0, 0.5]}, "loss", path=tmp_path / name)
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
