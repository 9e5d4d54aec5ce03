"""Every plot draws and writes a real PNG through a temporary file, identical bytes for identical figures."""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path

import matplotlib.colors
import matplotlib.figure
import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

import mnist_ann
from mnist_ann import plots
from mnist_ann.files import WriteError


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")  # pyplot keeps every figure open otherwise, and warns after twenty


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
        lambda path: plots.plot_network(path=path),
        lambda path: plots.plot_computation(path=path),
        lambda path: plots.plot_activation_functions(path=path),
        lambda path: plots.plot_loss_slice([0.0, 1.0, 2.0], [1.0, 0.5, 1.0], 0.5, 0.7, -0.5, path=path),
        lambda path: plots.plot_validation_curves({"a": [[0.5, 0.9], [0.6, 0.95]]}, path=path),
        lambda path: mnist_ann.plot_history(HISTORY, log_loss=False, path=path),
    ],
    ids=[
        "confusion",
        "confidence",
        "history",
        "grid",
        "weights",
        "activations",
        "preparation",
        "neurons",
        "rate",
        "network",
        "computation",
        "activation-functions",
        "loss-slice",
        "validation-curves",
        "history-linear",
    ],
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
    digits = [ax for ax in fig.axes if ax.get_images() and "neuron" not in ax.get_title()]
    widths = {round(ax.get_window_extent().width, 6) for ax in [picture.axes for picture in pictures] + digits}
    assert len(digits) == 4 and len(widths) == 1  # each weight picture as large as a digit: the colour bar beside
    bars = [ax for ax in fig.axes if len(ax.patches) == 10]  # one bar chart per neuron
    heights = [patch.get_height() for patch in bars[1].patches]
    assert len(bars) == 2
    assert heights == list(range(10))
    renderer = fig.canvas.get_renderer()
    upper, lower = (ax.get_tightbbox(renderer) for ax in bars)  # each with its digits below it
    assert lower.y1 < upper.y0, (upper, lower)


def _texts(fig) -> list[str]:
    return [text.get_text() for ax in fig.axes for text in ax.texts]


def test_the_network_figure_names_every_layer_and_counts_the_parameters():
    fig = plots.plot_network()
    texts = _texts(fig)
    assert "784 → 128 → 32 → 10: 104,938 weights and biases" in texts  # 784·128+128 + 128·32+32 + 32·10+10
    assert {"784 pixels", "128 ReLU", "32 ReLU", "10 softmax"} <= set(texts)
    assert {"W1: 784×128\nb1: 128", "W2: 128×32\nb2: 32", "W3: 32×10\nb3: 10"} <= set(texts)
    assert [str(digit) for digit in range(10)] == [text for text in texts if text.isdigit() and len(text) == 1]
    assert texts.count("⋮") == 3  # the three layers larger than ten are cut short; the output is whole
    [ax] = fig.axes
    circles = [patch.center for patch in ax.patches]
    per_column = sorted({round(x, 6) for x, _ in circles})
    counts = [sum(1 for x, _ in circles if round(x, 6) == column) for column in per_column]
    assert len(per_column) == 4 and max(counts) <= 10 and counts[-1] == 10
    # every drawn neuron is joined to every drawn neuron of the next layer
    pairs = [a * b for a, b in zip(counts[:-1], counts[1:], strict=True)]
    assert [len(lines.get_segments()) for lines in ax.collections] == pairs


def test_the_network_figure_follows_other_sizes():
    texts = _texts(plots.plot_network((20, 5, 12), ("tanh", "softmax")))
    assert "20 → 5 → 12: 177 weights and biases" in texts  # 20·5+5 + 5·12+12
    assert {"20 pixels", "5 tanh", "12 softmax", "W2: 5×12\nb2: 12"} <= set(texts)
    assert not any(text.isdigit() for text in texts)  # twelve outputs are not all drawn: no digits beside them
    with pytest.raises(ValueError, match="3 layer sizes need 2 activations"):
        plots.plot_network((20, 5, 12), ("relu",))


COMPUTATION = {  # each array's formula, and the shape its box must show with it
    "x: the pixels": "n×784",
    "z1 = x @ W1 + b1": "n×128",
    "h1 = relu(z1)": "n×128",
    "z2 = h1 @ W2 + b2": "n×32",
    "h2 = relu(z2)": "n×32",
    "z3 = h2 @ W3 + b3": "n×10",
    "p = softmax(z3)": "n×10",
    "−log p[right digit]": "one number",
    "y: one-hot labels": "n×10",
    "W1:": "784×128",
    "b1:": "128",
    "W2:": "128×32",
    "b2:": "32",
    "W3:": "32×10",
    "b3:": "10",
    "dz3 = (p − y) / n": "n×10",
    "dh2 = dz3 @ W3ᵀ": "n×32",
    "dz2 = dh2 * (z2 > 0)": "n×32",
    "dh1 = dz2 @ W2ᵀ": "n×128",
    "dz1 = dh1 * (z1 > 0)": "n×128",
    "dW3 = h2ᵀ @ dz3": "32×10",
    "db3 = dz3 summed over images": "10",
    "dW2 = h1ᵀ @ dz2": "128×32",
    "db2 = dz2 summed over images": "32",
    "dW1 = xᵀ @ dz1": "784×128",
    "db1 = dz1 summed over images": "128",
}


def test_the_computation_figure_shows_every_shape_in_boxes_that_do_not_overlap():
    fig = plots.plot_computation()
    lines = [line for text in _texts(fig) for line in text.split("\n")]
    for formula, shape in COMPUTATION.items():
        [line] = [line for line in lines if formula in line]
        following = lines[lines.index(line) + 1] if lines.index(line) + 1 < len(lines) else ""
        assert line.endswith((f": {shape}", f" {shape}")) or following == shape, (formula, shape)
    fig.canvas.draw()
    boxes = [t.get_bbox_patch().get_window_extent() for t in fig.axes[0].texts if t.get_bbox_patch()]
    assert len(boxes) == 20
    whole = fig.bbox
    for i, a in enumerate(boxes):
        assert whole.x0 <= a.x0 and a.x1 <= whole.x1 and whole.y0 <= a.y0 and a.y1 <= whole.y1, a
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b), (a, b)


def test_relu_is_max_of_z_and_0_and_the_softmax_bars_are_numpys_softmax():
    sums = (3.0, -0.5, 0.2)
    fig = plots.plot_activation_functions(sums=sums)
    relu, softmax = fig.axes
    [line] = relu.get_lines()
    z = line.get_xdata()
    assert z[0] == -3 and z[-1] == 3 and 0 in z and list(line.get_ydata()) == list(np.maximum(z, 0))
    given, probabilities = ([bar.get_height() for bar in bars] for bars in softmax.containers)
    expected = np.exp(sums) / np.exp(sums).sum()
    assert given == list(sums) and np.allclose(probabilities, expected) and np.isclose(sum(probabilities), 1)
    labels = [text.get_text() for text in softmax.texts]
    assert labels == [f"{value:.2f}" for value in (*sums, *expected)]
    default = plots.plot_activation_functions().axes[1].containers[0]
    assert [bar.get_height() for bar in default] == [2.0, 1.0, 0.1, -1.0]


def test_the_tangent_touches_the_loss_at_the_weight_with_the_gradients_slope():
    values = np.linspace(-1, 1, 41)
    losses = (values - 0.3) ** 2 + 2
    at, gradient = -0.2, 2 * (-0.2 - 0.3)
    fig = plots.plot_loss_slice(values, losses, at, (at - 0.3) ** 2 + 2, gradient, name="W1[0, 0]")
    [ax] = fig.axes
    lines = {line.get_label(): line for line in ax.get_lines()}
    tangent = lines[f"tangent: slope = gradient = {gradient:.4f}"]
    (x0, x1), (y0, y1) = tangent.get_xdata(), tangent.get_ydata()
    assert np.isclose((y1 - y0) / (x1 - x0), gradient)
    assert x0 < at < x1 and np.isclose(y0 + gradient * (at - x0), 2.25)  # through (at, loss_at)
    assert -1 < x0 and x1 < 1  # a short piece, not across the whole plot
    assert list(lines["loss"].get_ydata()) == list(losses)
    [point] = [line for line in ax.get_lines() if len(line.get_xdata()) == 1]
    assert (point.get_xdata()[0], point.get_ydata()[0]) == (at, 2.25)
    assert ax.get_xlabel() == "W1[0, 0]" and ax.get_ylabel() == "loss"
    assert f"tangent: slope = gradient = {gradient:.4f}" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_validation_curves_draw_each_median_with_a_band_from_the_lowest_to_the_highest_seed():
    curves = {
        "learning rate 0.01": [[0.80, 0.90, 0.95], [0.85, 0.91, 0.93], [0.70, 0.92, 0.96]],
        "learning rate 10": [[0.10, 0.11, 0.12], [0.11, 0.12, 0.10]],  # stuck near chance: it must still show
    }
    fig = plots.plot_validation_curves(curves)
    whole, magnified = fig.axes
    assert whole.get_ylim() == (0, 1) and magnified.get_ylim() == (0.9, 1.0)
    assert whole.get_xlabel() == "epoch" and whole.get_ylabel() == "validation accuracy"
    assert [t.get_text() for t in whole.get_legend().get_texts()] == list(curves)
    medians = {"learning rate 0.01": [0.80, 0.91, 0.95], "learning rate 10": [0.105, 0.115, 0.11]}
    pairs = [(ax.get_lines(), ax.collections) for ax in (whole, magnified)]
    assert len(pairs[0][0]) == len(pairs[1][0]) == len(curves)  # the same curves on both panels
    for line, band, (label, runs) in zip(whole.get_lines(), whole.collections, curves.items(), strict=True):
        assert line.get_label() == label and list(line.get_xdata()) == [1, 2, 3]
        assert np.allclose(line.get_ydata(), medians[label])
        corners = band.get_paths()[0].vertices
        for epoch, seeds in enumerate(zip(*runs, strict=True), start=1):
            covered = corners[np.isclose(corners[:, 0], epoch), 1]
            assert np.isclose(covered.min(), min(seeds)) and np.isclose(covered.max(), max(seeds))
        assert band.get_facecolor()[0][:3] == pytest.approx(matplotlib.colors.to_rgb(line.get_color()))


def test_the_loss_panel_is_linear_from_0_when_asked_and_log_by_default():
    history = dict(HISTORY, val_loss=[0.4, 0.15, 0.3])  # the validation loss turns upward
    assert mnist_ann.plot_history(history).axes[1].get_yscale() == "log"
    loss = mnist_ann.plot_history(history, log_loss=False).axes[1]
    assert loss.get_yscale() == "linear" and loss.get_ylim()[0] == 0 and loss.get_ylim()[1] >= 1.0


def _pixels(fig, dpi=None) -> np.ndarray:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    with Image.open(buffer) as image:
        return np.asarray(image.convert("RGBA"))


def test_figures_are_drawn_in_4096_colours_but_colour_maps_and_photos_exactly(tmp_path):
    plots.plot_history(HISTORY, path=tmp_path / "curves.png")  # text, lines and markers: every shade rounded
    with Image.open(tmp_path / "curves.png") as image:
        colours = np.asarray(image.convert("RGB"))
    assert (colours % 17 == 0).all() and len(np.unique(colours.reshape(-1, 3), axis=0)) > 16
    matrix = mnist_ann.confusion(Y_TRUE, Y_PRED)
    palest = np.round(np.array(plt.get_cmap("Blues")(0.0)[:3]) * 255)  # a count of 1: off the grid, kept as it is
    assert (palest % 17 != 0).any()
    confusion = _pixels(mnist_ann.plot_confusion_matrix(matrix))[..., :3].reshape(-1, 3)
    assert (np.abs(confusion - palest).max(axis=1) <= 1).any()
    paper = np.full((40, 30, 3), (245, 240, 230), np.uint8)  # a pale photo, whose hue rounding would change
    photo = _pixels(mnist_ann.plot_preparation({"original": paper, "centred": np.ones((28, 28))}))
    assert ((photo[..., :3] == (245, 240, 230)).all(axis=-1)).sum() > 100
    shades = np.round(plots._weight_shades()(np.linspace(0, 1, 15))[:, :3] * 255)
    rounded = (shades + 8) // 17 * 17
    assert len(np.unique(rounded, axis=0)) == 15 and (rounded[7] == 255).all()  # distinct, the middle one white


def test_vector_figures_are_not_rasterized_by_the_rounding():
    buffer = io.BytesIO()
    mnist_ann.plot_history(HISTORY).savefig(buffer, format="svg")
    assert b"<image" not in buffer.getvalue() and b"<path" in buffer.getvalue()


def test_the_weights_are_one_screen_pixel_each_in_the_notebook():
    kernel = np.random.default_rng(2).normal(size=(784, 20))  # two rows: 16 pictures, then 4
    with plt.rc_context({"figure.dpi": plots.SCREEN_DPI}):
        fig = mnist_ann.plot_weights(kernel, outlined=[18])
    pixels = _pixels(fig, dpi=plots.SCREEN_DPI)[..., :3].astype(int)
    ax = fig.axes[0]
    mosaic = ax.get_images()[0].get_array()
    assert mosaic.shape[:2] == (2 * 30 - 2, 16 * 30 - 2)  # 28x28 pictures, two pixels apart
    box = ax.get_window_extent()
    assert (box.width, box.height) == pytest.approx((mosaic.shape[1], mosaic.shape[0]))
    top, left = pixels.shape[0] - round(box.y1), round(box.x0)
    drawn = pixels[top : top + mosaic.shape[0], left : left + mosaic.shape[1]]
    expected = (np.asarray(mosaic[..., :3] * 255, np.uint8).astype(int) + 8) // 17 * 17
    framed = np.zeros(mosaic.shape[:2], bool)  # the frame around picture 18 (row 1, column 2) is drawn over it
    framed[28:, 2 * 30 - 2 : 2 * 30 + 28 + 2] = True
    assert (drawn[~framed] == expected[~framed]).all()  # every weight one pixel: none resampled
    assert (drawn[framed] != expected[framed]).any()
