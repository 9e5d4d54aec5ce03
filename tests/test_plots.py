"""Every plot draws and writes a real PNG through a temporary file, identical bytes for identical figures."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import matplotlib.figure
import numpy as np
import pytest
from PIL import Image

import mnist_ann
from mnist_ann.files import WriteError

Y_TRUE = np.array([0, 0, 1, 1, 2, 2, 3, 3, 4, 4])
Y_PRED = np.array([0, 1, 1, 1, 2, 3, 3, 3, 9, 4])


@pytest.mark.parametrize(
    "draw",
    [
        lambda path: mnist_ann.plot_confusion_matrix(mnist_ann.confusion(Y_TRUE, Y_PRED), path=path),
        lambda path: mnist_ann.plot_confidence(np.eye(10)[Y_PRED] * 0.9 + 0.01, Y_TRUE, path=path),
        lambda path: mnist_ann.plot_history(HISTORY, path=path),
        lambda path: mnist_ann.plot_digit_grid(np.zeros((3, 28, 28)), ["a", "b", "c"], columns=2, path=path),
        lambda path: mnist_ann.plot_weights(np.random.default_rng(0).normal(size=(784, 20)), path=path),
        lambda path: mnist_ann.plot_activations(
            np.arange(784) % 255, {"hidden_1": np.arange(8.0) - 3, "hidden_2": np.ones(4)}, np.eye(10)[3], path=path
        ),
        lambda path: mnist_ann.plot_preparation(
            {"original": np.zeros((40, 30, 3), np.uint8), "centred": np.ones((28, 28))}, np.eye(10)[7], path=path
        ),
        lambda path: mnist_ann.plot_neuron_examples(
            np.random.default_rng(0).normal(size=(784, 5)),
            [3, 1],
            np.zeros((20, 784)),
            np.random.default_rng(1).random((20, 5)),
            np.arange(20) % 10,
            path=path,
        ),
        lambda path: mnist_ann.plot_learning_rate(lambda step: step / 2000, steps_per_epoch=10, epochs=2, path=path),
    ],
    ids=["confusion", "confidence", "history", "grid", "weights", "activations", "preparation", "neurons", "rate"],
)
def test_each_plot_writes_a_non_empty_png(tmp_path, draw):
    path = tmp_path / "figures" / "out.png"
    draw(path)
    with Image.open(path) as image:
        assert image.format == "PNG" and image.width > 100 and image.height > 100
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


HISTORY = {
    "accuracy": [0.7, 0.95, 0.97],
    "val_accuracy": [0.9, 0.96, 0.975],
    "loss": [1.0, 0.2, 0.1],
    "val_loss": [0.4, 0.15, 0.09],
}


def test_the_curves_show_every_epoch_from_the_untrained_network_on():
    before = {"accuracy": 0.1, "val_accuracy": 0.11, "loss": 2.3, "val_loss": 2.31}
    rising = 1 - 0.3 * np.exp(-np.arange(12))  # 0.7 after the first epoch, then closer and closer to 1
    history = {"accuracy": rising - 0.01, "val_accuracy": rising, "loss": 1 - rising + 0.05, "val_loss": 1 - rising}
    figure = mnist_ann.plot_history({key: list(values) for key, values in history.items()}, before=before)
    accuracy, loss = figure.axes[:2]
    assert accuracy.get_ylim() == (0, 1.02) and loss.get_yscale() == "log"
    low, high = loss.get_ylim()
    assert low < 0.01 and high > 2.31  # every loss, the untrained 2.3 too, is on the axes
    assert [list(line.get_xdata()) for line in accuracy.lines] == [list(range(13))] * 2  # epochs 0 to 12
    [inset] = accuracy.child_axes  # the last epochs, magnified
    low, high = inset.get_ylim()
    assert 0.95 < low and high <= 1.0


def test_digits_are_bright_ink_on_black_everywhere():
    ink = np.zeros((28, 28))
    ink[10:18, 10:18] = 1.0
    for figure in (
        mnist_ann.plot_digit_grid(ink[None], ["x"], columns=1),
        mnist_ann.plot_activations(ink, {"h": np.ones(3)}, np.eye(10)[1]),
        mnist_ann.plot_preparation({"centred": ink}),
    ):
        image = figure.axes[0].get_images()[0]
        assert image.get_cmap().name == "gray" and image.norm(0.0) == 0.0 and image.norm(1.0) == 1.0


def test_confidence_panels_do_not_overlap():
    probabilities = np.eye(10)[Y_PRED] * 0.9 + 0.01
    fig = mnist_ann.plot_confidence(probabilities, Y_TRUE)
    right, wrong = fig.axes
    assert right.get_title().startswith("right answers (7)") and wrong.get_title().startswith("wrong answers (3)")
    renderer = fig.canvas.get_renderer()
    a, b = right.get_tightbbox(renderer), wrong.get_tightbbox(renderer)  # each panel with its titles and labels
    assert a.x1 <= b.x0 or b.x1 <= a.x0 or a.y1 <= b.y0 or b.y1 <= a.y0, (a, b)


def test_the_same_figure_gives_the_same_bytes(tmp_path):
    for name in ("a.png", "b.png"):
        mnist_ann.plot_history(HISTORY, path=tmp_path / name)
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def test_weights_outline_the_units_asked_for():
    kernel = np.random.default_rng(1).normal(size=(784, 20))
    assert len(mnist_ann.plot_weights(kernel).axes[0].patches) == 0
    assert len(mnist_ann.plot_weights(kernel, outlined=[3, 17]).axes[0].patches) == 2


def test_a_full_disk_while_saving_a_figure_keeps_the_old_file_and_says_which(tmp_path, monkeypatch):
    path = tmp_path / "curves.png"
    path.write_bytes(b"the old figure")

    def full_disk(self, fname, **kwargs):
        Path(fname).write_bytes(b"\x89PNG half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", full_disk)
    with pytest.raises(WriteError, match=f"cannot write {path}: no space left on device; "):
        mnist_ann.plot_history(HISTORY, path=path)
    assert path.read_bytes() == b"the old figure" and [p.name for p in tmp_path.iterdir()] == ["curves.png"]


def test_the_learning_rate_plot_draws_the_schedule_at_every_step():
    fig = mnist_ann.plot_learning_rate(lambda step: 0.01 if step < 5 else 0.001, steps_per_epoch=5, epochs=2)
    [line] = fig.axes[0].get_lines()
    assert list(line.get_xdata()) == [step / 5 for step in range(11)]
    assert list(line.get_ydata()) == [0.01] * 5 + [0.001] * 6
    constant = mnist_ann.plot_learning_rate(1e-3, steps_per_epoch=4, epochs=3).axes[0].get_lines()[0]
    assert set(constant.get_ydata()) == {1e-3} and len(constant.get_ydata()) == 13


def test_the_neuron_figure_shares_one_weight_scale_and_shows_each_digits_mean_output():
    kernel = np.zeros((784, 3))
    kernel[0, 0], kernel[1, 2] = 2.0, -0.5
    activations = np.zeros((20, 3))
    activations[:, 2] = np.arange(20) % 10  # neuron 2 answers most to 9s
    fig = mnist_ann.plot_neuron_examples(kernel, [0, 2], np.zeros((20, 784)), activations, np.arange(20) % 10, top=2)
    pictures = [ax.get_images()[0] for ax in fig.axes if ax.get_images() and "neuron" in ax.get_title()]
    assert [picture.get_clim() for picture in pictures] == [(-2.0, 2.0), (-2.0, 2.0)]
    bars = [ax for ax in fig.axes if len(ax.patches) == 10]  # one bar chart per neuron
    heights = [patch.get_height() for patch in bars[1].patches]
    assert len(bars) == 2
    assert heights == list(range(10))
