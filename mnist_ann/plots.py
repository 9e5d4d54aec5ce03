"""Figures: the network and what it computes, training curves, digits, the weights and activations, the test report;
saved as PNGs.

Digits are drawn everywhere the way the network receives them: bright ink (high values) on a black background
(0), as MNIST stores them. Drawn as pixels, a figure's colours are rounded to 16 levels a channel (`_FewerShades`):
the same figure, in about half the PNG, which keeps the notebook that shows them all small enough for GitHub.
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.artist import Artist
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection
from matplotlib.colors import LogNorm, Normalize
from sklearn.metrics import ConfusionMatrixDisplay

from mnist_ann.data import PIXELS, SIDE
from mnist_ann.files import replaced_atomically

DPI = 110
DIGIT_CMAP = "gray"  # 0 black, the brightest value white: ink on black, as MNIST stores its digits
WEIGHT_CMAP = "RdBu_r"  # red: the pixel pushes a unit up; blue: down; white: no effect
RIGHT, WRONG = "tab:blue", "tab:red"
NEVER_INKED = (1.0, 0.8, 0.0, 1.0)  # yellow, for pixels that no training image ever inks: unlike any weight's colour
SCREEN_DPI = 72  # the notebook shows figures at this dpi
LARGE_TEXT = {"font.size": 14}  # for wide figures, which GitHub shrinks to about 1000 pixels
# Light, flat fills for the boxes of the computation figure: black text stays legible on them
FORWARD_FILL, INPUT_FILL, BACKWARD_FILL = "#ddeeff", "#ffeecc", "#ffdddd"


class _FewerShades(Artist):
    """Drawn after everything else, on a pixel canvas only: rounds each colour channel of the figure's pixels to one
    of 16 levels (0, 17, ..., 255: the 4096 colours of CSS's #rgb), which halves the PNG. Black, white and the
    colours on that grid stay as they are, any other moves by at most 8 of 255: anti-aliased text and lines keep their
    smooth edges, in 16 shades instead of 256. The pixels under the artists in `exact` (colour maps, photos), whose
    pale tints rounding would tilt towards other hues, are left alone."""

    zorder = float("inf")

    def __init__(self, exact=()):
        super().__init__()
        self.set_in_layout(False)
        self._exact = list(exact)

    def draw(self, renderer) -> None:
        if not self.get_visible() or not hasattr(renderer, "buffer_rgba"):
            return  # a vector backend: nothing to round
        pixels = np.asarray(renderer.buffer_rgba())
        if not pixels.flags.writeable:
            return
        rounded = (pixels[..., :3].astype(np.uint16) + 8) // 17 * 17
        height, width = pixels.shape[:2]
        for artist in self._exact:  # display coordinates: pixels from the bottom left
            box = artist.get_window_extent(renderer)
            x0, x1 = max(int(np.floor(box.x0)), 0), min(int(np.ceil(box.x1)), width)
            y0, y1 = max(int(np.floor(box.y0)), 0), min(int(np.ceil(box.y1)), height)
            if x0 < x1 and y0 < y1:
                rounded[height - y1 : height - y0, x0:x1] = pixels[height - y1 : height - y0, x0:x1, :3]
        pixels[..., :3] = rounded


@functools.cache
def _quiet_font_notices() -> None:
    """Where matplotlib's font cache lists fonts that are gone (another environment of the same version rewrote it),
    it looks them up again as it draws and logs each one it misses to stderr, which would land in a notebook cell's
    output; the figures are the same either way. So the first figure this module makes (not its import) turns those
    notices off, for the figures a notebook draws after the cell that made them too."""
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)


def _finish(fig: plt.Figure, path: str | os.PathLike | None, exact=()) -> plt.Figure:
    """Round `fig`'s colours, but for the artists in `exact`, whenever it is drawn as pixels (the notebook's copy and
    the saved PNG); save it."""
    _quiet_font_notices()
    fig.add_artist(_FewerShades(exact))
    save_figure(fig, path)
    return fig


def save_figure(fig: plt.Figure, path: str | os.PathLike | None) -> None:
    """Save `fig` as a PNG via a temporary file renamed into place, so a crash never leaves half a file."""
    if path is None:
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with replaced_atomically(path) as tmp:
        # No software tag: the PNG bytes stay identical between runs that draw the same figure.
        fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})


def _show_digit(ax, image: np.ndarray) -> None:
    ax.imshow(
        np.reshape(image, (SIDE, SIDE)),
        cmap=DIGIT_CMAP,
        vmin=0,
        vmax=255 if np.max(image) > 1 else 1,
        interpolation="nearest",
    )
    ax.set_xticks([])
    ax.set_yticks([])


def plot_history(
    history: dict, before: dict | None = None, path: str | os.PathLike | None = None, *, log_loss: bool = True
) -> plt.Figure:
    """Accuracy and loss per epoch, training and validation, side by side.

    `before` holds the same metrics for the untrained network, drawn at epoch 0. Every point is on the axes:
    accuracy on a 0-1 axis with the last epochs magnified in an inset, loss on a log axis, or with
    `log_loss=False` on a linear one from 0, where a validation loss that turns upward stands out.
    """
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    first = 0 if before else 1
    for ax, metric in zip(axes, ("accuracy", "loss"), strict=True):
        keys = [key for key in (metric, f"val_{metric}") if key in history]
        series = {key: ([before[key]] if before else []) + list(history[key]) for key in keys}
        epochs = np.arange(first, first + len(series[metric]))
        for values, label, marker in zip(series.values(), ("training", "validation"), ("o-", "s-"), strict=False):
            ax.plot(epochs, values, marker, label=label, markersize=4)
        ax.set(title=metric.capitalize(), xlabel="epoch", ylabel=metric)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
        if metric == "loss":
            if log_loss:
                ax.set_yscale("log")
            else:
                ax.set_ylim(bottom=0)
            ax.legend(loc="upper right")
            continue
        ax.set_ylim(0, 1.02)  # its legend is the loss panel's: the same colours
        if len(epochs) > 3:  # the last epochs differ by fractions of a percent: magnify them
            tail = max(first + 2, epochs[-1] // 2)
            inset = ax.inset_axes([0.3, 0.15, 0.65, 0.5])
            for values, marker in zip(series.values(), ("o-", "s-"), strict=False):
                inset.plot(epochs[tail - first :], values[tail - first :], marker, markersize=3)
            low = min(min(values[tail - first :]) for values in series.values())
            high = max(max(values[tail - first :]) for values in series.values())
            margin = 0.1 * (high - low + 1e-3)
            inset.set_ylim(low - margin, min(high + margin, 1.0))
            inset.xaxis.get_major_locator().set_params(integer=True)
            inset.tick_params(labelsize=9)
            inset.grid(alpha=0.3)
            inset.set_title(f"epochs {tail}-{epochs[-1]}, magnified", fontsize=9)
            ax.indicate_inset_zoom(inset, edgecolor="0.4")
    fig.tight_layout()
    return _finish(fig, path)


def plot_digit_grid(
    images: np.ndarray,
    titles: list[str],
    *,
    columns: int = 8,
    suptitle: str = "",
    title_colors: list[str] | None = None,
    fontsize: float = 12,
    path: str | os.PathLike | None = None,
) -> plt.Figure:
    """A grid of 28x28 digits, each with its own title (for example 'pred 7 / true 7')."""
    rows = max(1, -(-len(images) // columns))
    lines = max((title.count("\n") + 1 for title in titles), default=1)
    height = 1.5 + 0.02 * fontsize * lines  # room for each line of every title
    fig, axes = plt.subplots(rows, columns, figsize=(1.5 * columns, height * rows + 0.4), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(images):
            _show_digit(ax, images[i])
            ax.set_title(titles[i], fontsize=fontsize, color=title_colors[i] if title_colors else "black")
    if suptitle:
        fig.suptitle(suptitle, fontsize=fontsize + 2)
    fig.tight_layout()
    return _finish(fig, path)


def _weight_shades():
    """WEIGHT_CMAP in 15 shades: the same pictures as in 256, in a quarter of the PNG; each stays distinct, and the
    middle one white, when the figure's colours are rounded."""
    return plt.get_cmap(WEIGHT_CMAP, 15)


def plot_weights(
    kernel: np.ndarray, outlined=(), never_inked: np.ndarray | None = None, path: str | os.PathLike | None = None
) -> plt.Figure:
    """The first layer's weights, one 28x28 picture per neuron (column j of the 784 x neurons kernel is picture j,
    numbered left to right, top to bottom), on one shared colour scale; the neurons in `outlined` get a black frame,
    and the pixels in `never_inked` (784 booleans) are yellow: no training image has ink there. Each row is labelled
    with the number of its first picture."""
    units = kernel.shape[1]
    columns = min(units, 16)
    rows = -(-units // columns)
    cell = SIDE + 2  # two pixels of white between pictures
    hidden = np.zeros(PIXELS, bool) if never_inked is None else np.asarray(never_inked, bool).ravel()
    scale = float(np.percentile(np.abs(kernel[~hidden]), 99.5)) or 1.0  # a few extreme weights saturate, not all
    norm = Normalize(-scale, scale, clip=True)
    cmap = _weight_shades()
    mosaic = np.ones((rows * cell - 2, columns * cell - 2, 4))  # white between the pictures
    for i in range(units):
        row, column = divmod(i, columns)
        colours = cmap(norm(kernel[:, i]))
        colours[hidden] = NEVER_INKED
        mosaic[row * cell : row * cell + SIDE, column * cell : column * cell + SIDE] = colours.reshape(SIDE, SIDE, 4)
    # One screen pixel per weight in the notebook: drawn larger, the noise of the weights makes a larger PNG, and
    # resampled by a fraction, some weights would be drawn wider than others. Around it, in inches: the row labels,
    # the colour bar, the title
    height, width = mosaic.shape[0] / SCREEN_DPI, mosaic.shape[1] / SCREEN_DPI
    left, right, bottom, top = 0.45, 0.95, 0.05, 0.75
    fig = plt.figure(figsize=(left + width + right, bottom + height + top))
    size = fig.get_size_inches()
    ax = fig.add_axes((left / size[0], bottom / size[1], width / size[0], height / size[1]))
    ax.imshow(mosaic, interpolation="nearest", aspect="auto")
    for i in outlined:
        row, column = divmod(int(i), columns)
        frame = plt.Rectangle((column * cell - 1.5, row * cell - 1.5), 30, 30, fill=False, edgecolor="black", lw=1.5)
        ax.add_patch(frame).set_clip_on(False)  # whole at the figure's edge too
    ax.set_xticks([])
    ax.set_yticks([row * cell + 13.5 for row in range(rows)], [str(row * columns) for row in range(rows)], fontsize=11)
    ax.tick_params(left=False, pad=6)
    for spine in ax.spines.values():
        spine.set_visible(False)
    bar = fig.add_axes(((left + width + 0.1) / size[0], bottom / size[1], 0.15 / size[0], height / size[1]))
    fig.colorbar(ScalarMappable(norm, cmap), cax=bar, extend="both", label="weight")
    note = ";\nyellow: pixels no training digit ever inks" if hidden.any() else ""
    ax.set_title(
        f"The weights of the {units} first-layer neurons, one 28x28 picture each,\n"
        f"numbered along the rows; red: ink on that pixel raises the neuron's sum, blue: lowers it{note}",
        fontsize=11,
    )
    return _finish(fig, path)


def plot_neuron_examples(
    kernel: np.ndarray,
    units,
    images: np.ndarray,
    activations: np.ndarray,
    labels: np.ndarray,
    *,
    top: int = 6,
    path=None,
) -> plt.Figure:
    """For each neuron in `units`: its weight picture (all on one colour scale), the `top` images (of `images`) that
    excite it most, according to `activations` (images x neurons), and its mean output for each digit of `labels`."""
    units = list(units)
    scale = float(np.abs(kernel[:, units]).max()) or 1.0
    fig = plt.figure(figsize=(1.35 * (top + 4), 1.6 * len(units)))
    # the colour bar in a narrow column of its own: each weight picture as large as a digit; room between the rows
    # for the digits under each row's bars
    grid = fig.add_gridspec(len(units), top + 3, width_ratios=[0.12] + [1] * (top + 1) + [3], hspace=0.35)
    axes = np.array([[fig.add_subplot(grid[i, j]) for j in range(1, top + 3)] for i in range(len(units))])
    cmap = _weight_shades()
    for row, unit in zip(axes, units, strict=True):
        row[0].imshow(kernel[:, unit].reshape(SIDE, SIDE), cmap=cmap, vmin=-scale, vmax=scale, interpolation="nearest")
        row[0].set_title(f"neuron {unit}", fontsize=12)
        strongest = np.argsort(-activations[:, unit], kind="stable")[:top]
        for ax, index in zip(row[1 : top + 1], strongest, strict=True):
            _show_digit(ax, images[index])
            ax.set_title(f"{activations[index, unit]:.1f}", fontsize=12)
        for ax in row[: top + 1]:
            ax.set_xticks([])
            ax.set_yticks([])
        means = [activations[labels == digit, unit].mean() for digit in range(10)]
        favourite = int(np.argmax(means))
        row[-1].bar(range(10), means, color=["tab:red" if d == favourite else "0.6" for d in range(10)])
        row[-1].set_xticks(range(10))
        row[-1].tick_params(labelsize=10)
        if unit == units[0]:
            row[-1].set_title("mean output for each digit", fontsize=10)
    weights = ScalarMappable(Normalize(-scale, scale), cmap)
    fig.colorbar(weights, cax=fig.add_subplot(grid[:, 0]), location="left", label="weight")
    fig.suptitle(
        "First-layer neurons whose output differs most between digits: their weights,\n"
        "the training digits that excite each most (its output above), and its mean output per digit",
        fontsize=12,
    )
    return _finish(fig, path)


def plot_learning_rate(schedule, steps_per_epoch: int, epochs: int, path=None) -> plt.Figure:
    """The learning rate at every step of a run: `schedule` is a number, or a Keras schedule called with the step."""
    steps = np.arange(epochs * steps_per_epoch + 1)
    rates = [float(schedule(step)) if callable(schedule) else float(schedule) for step in steps]
    fig, ax = plt.subplots(figsize=(7, 2.8))
    ax.plot(steps / steps_per_epoch, rates)
    ax.set(xlabel="epoch", ylabel="learning rate", title="The learning rate, step by step", ylim=(0, None))
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return _finish(fig, path)


def _parameter_count(sizes) -> int:
    return sum(fan_in * fan_out + fan_out for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=False))


def plot_network(
    sizes=(784, 128, 32, 10), activations=("relu", "relu", "softmax"), path: str | os.PathLike | None = None
) -> plt.Figure:
    """The network for a beginner: a column of neurons per layer (at most 10 drawn), each joined to the next layer's."""
    if len(activations) != len(sizes) - 1:
        raise ValueError(
            f"{len(sizes)} layer sizes need {len(sizes) - 1} activations, one for each layer after the input"
        )
    whole, ends = 10, 3  # a larger layer: 3 circles, an ellipsis, 3 more; its label gives the true number
    spacing, radius, pitch = 0.30, 0.11, 2.0  # inches: the data units are inches, so the circles stay round
    top = spacing * whole
    width, height = pitch * len(sizes), top + 1.9
    fig = plt.figure(figsize=(width, height))
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set(xlim=(0, width), ylim=(-0.6, top + 1.3))  # the axes' edges are the figure's, cropped or not
    ax.axis("off")
    columns = []
    for layer, size in enumerate(sizes):
        x = pitch * (layer + 0.5)
        if size <= whole:
            ys = top / 2 + spacing * ((size - 1) / 2 - np.arange(size))  # the first neuron on top
        else:  # a column a little taller than the output's ten, with a gap for the neurons left out
            slots = spacing * np.arange(whole, -1, -1)
            ys = np.concatenate([slots[:ends], slots[-ends:]])
            ax.text(x, top / 2, "⋮", ha="center", va="center", fontsize=16)
        columns.append((x, ys))
        colour = "0.45" if layer == 0 else "tab:blue" if layer == len(sizes) - 1 else "tab:green"
        for y in ys:
            ax.add_patch(plt.Circle((x, y), radius, color=colour, lw=0, zorder=2))
        name = "pixels" if layer == 0 else {"relu": "ReLU"}.get(activations[layer - 1], activations[layer - 1])
        ax.text(x, -0.25, f"{size} {name}", ha="center", va="top", fontsize=11)
    for layer, ((x0, ys0), (x1, ys1)) in enumerate(zip(columns[:-1], columns[1:], strict=False), start=1):
        lines = [[(x0, y0), (x1, y1)] for y0 in ys0 for y1 in ys1]
        # Hard-edged hairlines: anti-aliased, their crossings would make the PNG several times the size
        ax.add_collection(LineCollection(lines, colors="0.8", linewidths=0.5, antialiaseds=False, zorder=1))
        fan_in, fan_out = sizes[layer - 1], sizes[layer]
        ax.text(
            (x0 + x1) / 2, top + 0.25, f"W{layer}: {fan_in}×{fan_out}\nb{layer}: {fan_out}", ha="center", fontsize=11
        )
    x, ys = columns[-1]
    if sizes[-1] <= whole:  # every output neuron is drawn: say which digit each one stands for
        for digit, y in enumerate(ys):
            ax.text(x + radius + 0.1, y, str(digit), va="center", fontsize=10)
    arrows = " → ".join(str(size) for size in sizes)
    title = f"{arrows}: {_parameter_count(sizes):,} weights and biases"
    ax.text(width / 2, top + 1.25, title, ha="center", va="top", fontsize=13)
    return _finish(fig, path)


def _boxes(ax, texts: dict[int, str], y: float, fill: str) -> dict[int, list]:
    """Rounded boxes of text at height `y`, keyed by column: each [text, half width, half height] in inches."""
    renderer = ax.figure.canvas.get_renderer()
    boxes = {}
    for column, text in texts.items():
        label = ax.text(0, y, text, ha="center", va="center", fontsize=11, linespacing=1.3)
        label.set_bbox({"boxstyle": "round,pad=0.3", "facecolor": fill, "edgecolor": "none"})
        extent = label.get_window_extent(renderer)
        pad = 0.3 * label.get_fontsize() / 72
        boxes[column] = [label, extent.width / ax.figure.dpi / 2 + pad, extent.height / ax.figure.dpi / 2 + pad]
    return boxes


def _arrow(ax, start: list, end: list, colour: str = "black", corner: bool = False) -> None:
    """An arrow from box `start` to box `end`: sideways within a row, else down from edge to edge, or with `corner`
    down out of `start` and then sideways into `end`."""
    (a, a_half_width, a_half_height), (b, b_half_width, b_half_height) = start, end
    (x0, y0), (x1, y1) = a.get_position(), b.get_position()
    sideways = np.sign(x1 - x0)
    if y0 == y1:
        tail, head = (x0 + sideways * a_half_width, y0), (x1 - sideways * b_half_width, y1)
    elif corner:
        tail, head = (x0, y0 - a_half_height), (x1 - sideways * b_half_width, y1)
    else:
        tail, head = (x0, y0 - a_half_height), (x1, y1 + b_half_height)
    props = {"arrowstyle": "-|>", "color": colour, "lw": 1.2, "shrinkA": 0, "shrinkB": 0}
    if corner:
        props["connectionstyle"] = "angle,angleA=90,angleB=0,rad=0"
    ax.annotate("", head, tail, arrowprops=props)


def plot_computation(path: str | os.PathLike | None = None) -> plt.Figure:
    """What the network computes for a batch of n images, every array with its shape: forward from the pixels to the
    loss on top, then backward underneath, right to left, from the loss to the gradient of every weight and bias."""
    forward = {
        0: "x: the pixels\nn×784",
        1: "z1 = x @ W1 + b1\nn×128",
        2: "h1 = relu(z1)\nn×128",
        3: "z2 = h1 @ W2 + b2\nn×32",
        4: "h2 = relu(z2)\nn×32",
        5: "z3 = h2 @ W3 + b3\nn×10",
        6: "p = softmax(z3)\nn×10",
        7: "loss = mean of\n−log p[right digit]\none number",
    }
    inputs = {1: "W1: 784×128\nb1: 128", 3: "W2: 128×32\nb2: 32", 5: "W3: 32×10\nb3: 10", 7: "y: one-hot labels\nn×10"}
    backward = {
        5: "dz3 = (p − y) / n\nn×10",
        4: "dh2 = dz3 @ W3ᵀ\nn×32",
        3: "dz2 = dh2 * (z2 > 0)\nn×32",
        2: "dh1 = dz2 @ W2ᵀ\nn×128",
        1: "dz1 = dh1 * (z1 > 0)\nn×128",
    }
    gradients = {
        5: "dW3 = h2ᵀ @ dz3: 32×10\ndb3 = dz3 summed over images: 10",
        3: "dW2 = h1ᵀ @ dz2: 128×32\ndb2 = dz2 summed over images: 32",
        1: "dW1 = xᵀ @ dz1: 784×128\ndb1 = dz1 summed over images: 128",
    }
    fig = plt.figure()
    ax = fig.add_axes([0, 0, 1, 1])  # the data units are inches: the boxes are placed by their measured sizes
    ax.axis("off")
    rows = {
        "inputs": _boxes(ax, inputs, 3.9, INPUT_FILL),
        "forward": _boxes(ax, forward, 2.8, FORWARD_FILL),
        "backward": _boxes(ax, backward, 1.55, BACKWARD_FILL),
        "gradients": _boxes(ax, gradients, 0.45, BACKWARD_FILL),
    }
    # A column is as wide as its widest box in the forward and backward rows; the wide gradient boxes sit under
    # every other column, where the columns beside them leave room
    gap = 0.3
    half_widths = [max(rows[row][i][1] for row in ("forward", "backward") if i in rows[row]) for i in forward]
    steps = [a + gap + b for a, b in zip(half_widths[:-1], half_widths[1:], strict=True)]
    centres = half_widths[0] + 0.05 + np.cumsum([0.0, *steps])
    for row in rows.values():
        for column, (label, _, _) in row.items():
            label.set_x(centres[column])
    width = centres[-1] + half_widths[-1] + 0.05
    fig.set_size_inches(width, 4.6)
    ax.set(xlim=(0, width), ylim=(0, 4.6))
    ax.text(
        width / 2,
        4.55,
        "A batch of n images: forward to the loss (top), then backward to the gradients (below)",
        ha="center",
        va="top",
        fontsize=13,
    )
    for column in range(len(forward) - 1):
        _arrow(ax, rows["forward"][column], rows["forward"][column + 1])
    for column, box in rows["inputs"].items():
        _arrow(ax, box, rows["forward"][column])
    red = "tab:red"
    _arrow(ax, rows["forward"][7], rows["backward"][5], red, corner=True)  # backward runs right to left from here
    for column in range(5, 1, -1):
        _arrow(ax, rows["backward"][column], rows["backward"][column - 1], red)
    for column, box in rows["gradients"].items():
        _arrow(ax, rows["backward"][column], box, red)
    return _finish(fig, path)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - np.max(z))  # minus the largest: the same result, and no overflow for large sums
    return e / e.sum()


def plot_activation_functions(sums=(2.0, 1.0, 0.1, -1.0), path: str | os.PathLike | None = None) -> plt.Figure:
    """ReLU over -3..3 beside softmax on an example: the sums `sums` and the probabilities softmax makes of them."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    z = np.linspace(-3, 3, 121)  # 0 is one of the points: the kink is drawn sharp
    left.plot(z, np.maximum(z, 0), color="tab:green", lw=2)
    left.text(-1.5, 0.25, "slope 0:\nrelu(z) = 0", ha="center")
    left.text(1.3, 2.0, "slope 1:\nrelu(z) = z", ha="right")
    left.set(title="ReLU: relu(z) = max(z, 0)", xlabel="z, a neuron's sum", ylabel="relu(z)", ylim=(-0.4, 3.2))
    left.grid(alpha=0.3)
    sums = np.asarray(sums, float)
    probabilities = _softmax(sums)
    positions = np.arange(len(sums))
    for offset, values, label, colour in (
        (-0.2, sums, "sums z", "0.6"),
        (0.2, probabilities, "softmax(z): they add up to 1", "tab:blue"),
    ):
        bars = right.bar(positions + offset, values, width=0.4, color=colour, label=label)
        right.bar_label(bars, fmt="%.2f", padding=2, fontsize=9)
    right.axhline(0, color="black", lw=0.8)
    low, high = min(0.0, sums.min()), max(1.0, sums.max())
    right.set(
        title="softmax: sums into probabilities",
        ylabel="value",
        xticks=positions,
        xticklabels=[f"z{i}" for i in positions],
        ylim=(low - 0.15 * (high - low) * (low < 0), high + 0.15 * (high - low)),  # room for the bars' labels
    )
    right.legend(loc="upper right", fontsize=9)
    fig.tight_layout()
    return _finish(fig, path)


def plot_loss_slice(
    values,
    losses,
    at: float,
    loss_at: float,
    gradient: float,
    name: str = "the weight",
    path: str | os.PathLike | None = None,
) -> plt.Figure:
    """The loss as one weight varies (`values`, `losses`), the weight's current value `at` and the tangent there."""
    values, losses = np.asarray(values, float), np.asarray(losses, float)
    fig, ax = plt.subplots(figsize=(7, 3.8))
    ax.plot(values, losses, color="tab:blue", lw=2, label="loss")
    half = 0.15 * (values.max() - values.min())  # a short tangent: far from `at` it says nothing about the curve
    ends = np.array([at - half, at + half])
    tangent = f"tangent: slope = gradient = {gradient:.4f}"
    ax.plot(ends, loss_at + gradient * (ends - at), color="tab:red", lw=2, label=tangent)
    ax.plot([at], [loss_at], "o", color="black", markersize=7, label=f"now: {name} = {at:.4f}", zorder=3)
    ax.set(xlabel=name, ylabel="loss", title=f"The loss as {name} changes, all else fixed")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    fig.tight_layout()
    return _finish(fig, path)


def plot_validation_curves(
    curves: dict[str, list[list[float]]], zoom: tuple[float, float] = (0.9, 1.0), path: str | os.PathLike | None = None
) -> plt.Figure:
    """Validation accuracy per epoch for each label: the median of its seeds, shaded from the lowest to the highest;
    on the whole 0-1 axis (left) and magnified to `zoom` (right), where curves that end close together part."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharex=True)
    seeds = sorted({len(runs) for runs in curves.values()})
    count = f"{seeds[0]} seeds" if len(seeds) == 1 else "its seeds"
    for ax, limits, title in zip(axes, ((0, 1), zoom), (f"the median of {count}", "magnified"), strict=True):
        for label, runs in curves.items():
            runs = np.asarray(runs, float)  # seeds x epochs
            epochs = np.arange(1, runs.shape[1] + 1)
            [line] = ax.plot(epochs, np.median(runs, axis=0), "o-", markersize=3, lw=2, label=label)
            ax.fill_between(epochs, runs.min(axis=0), runs.max(axis=0), color=line.get_color(), alpha=0.25, lw=0)
        ax.set(xlabel="epoch", ylabel="validation accuracy", ylim=limits, title=title)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
    axes[0].legend(loc="center right", fontsize=9)  # the empty middle: above the wrecked curves, below the rest
    fig.suptitle("Validation accuracy after each epoch; shaded: from the lowest seed to the highest", fontsize=11)
    fig.tight_layout()
    return _finish(fig, path)


def _probability_bars(ax, probabilities: np.ndarray, true: int | None = None) -> None:
    best = int(np.argmax(probabilities))
    colors = [RIGHT if d == best and (true is None or d == true) else WRONG if d == best else "0.7" for d in range(10)]
    ax.bar(range(10), probabilities, color=colors)
    ax.set(xticks=range(10), ylim=(0, 1.18), yticks=np.linspace(0, 1, 5), xlabel="digit", ylabel="probability")
    ax.text(best, min(probabilities[best] + 0.02, 1.0), f"{probabilities[best]:.0%}", ha="center", va="bottom")


@plt.rc_context(LARGE_TEXT)
def plot_activations(
    image: np.ndarray,
    layers: dict[str, np.ndarray],
    probabilities: np.ndarray,
    *,
    true: int | None = None,
    path: str | os.PathLike | None = None,
) -> plt.Figure:
    """One digit followed through the network: the input, each hidden layer's activations, strongest first (the
    strongest neurons' numbers below, the numbers of their weight pictures), the ten probabilities."""
    fig, axes = plt.subplots(
        1,
        2 + len(layers),
        figsize=(3.3 * (2 + len(layers)), 3.4),
        gridspec_kw={"width_ratios": [0.8] + [1.6] * len(layers) + [1.2]},
    )
    _show_digit(axes[0], image)
    axes[0].set_title("input\n784 pixels" if true is None else f"input: a {true}\n784 pixels")
    for ax, (name, values) in zip(axes[1:-1], layers.items(), strict=True):
        order = np.argsort(-np.asarray(values), kind="stable")
        ax.bar(range(len(values)), values[order], width=1.0, color="tab:green")
        active = int((values > 0).sum())
        strongest = ", ".join(str(unit) for unit in order[:3])  # the numbers of their weight pictures
        ax.set(
            title=f"{name}\n{active} of {len(values)} neurons active",
            xlabel=f"neurons, strongest first: {strongest}, ...",
        )
        ax.set(ylabel="activation", xticks=[], xlim=(-1, len(values)), ylim=(0, max(float(values.max()), 1e-6) * 1.15))
    _probability_bars(axes[-1], probabilities, true)
    axes[-1].set_title("output\n10 probabilities")
    fig.tight_layout()
    return _finish(fig, path)


@plt.rc_context(LARGE_TEXT)
def plot_preparation(
    steps: dict[str, np.ndarray], probabilities: np.ndarray | None = None, path: str | os.PathLike | None = None
) -> plt.Figure:
    """Each step of preparing a photo the MNIST way, then (if given) the ten probabilities for the result."""
    panels = len(steps) + (probabilities is not None)
    fig, axes = plt.subplots(
        1,
        panels,
        figsize=(2.4 * panels + (0.8 if probabilities is not None else 0), 3.2),
        gridspec_kw={"width_ratios": [1] * len(steps) + ([1.6] if panels > len(steps) else [])},
        squeeze=False,
    )
    axes = axes[0]
    photos = []  # in colour: left as they are
    for ax, (name, image) in zip(axes, steps.items(), strict=False):
        if image.ndim == 3:
            photos.append(ax.imshow(image))
        else:
            ax.imshow(image, cmap=DIGIT_CMAP, vmin=0, vmax=1)
        ax.set_title(f"{name}\n{image.shape[1]} wide, {image.shape[0]} high")
        ax.set_xticks([])
        ax.set_yticks([])
    if probabilities is not None:
        _probability_bars(axes[-1], probabilities)
        axes[-1].set_title("the network's answer")
    fig.tight_layout()
    return _finish(fig, path, exact=photos)


def plot_confusion_matrix(matrix: np.ndarray, path: str | os.PathLike | None = None) -> plt.Figure:
    """The 10x10 confusion matrix as a labelled heat map with counts (log colour scale, so errors show)."""
    fig, ax = plt.subplots(figsize=(7, 6))
    display = ConfusionMatrixDisplay(matrix, display_labels=list(range(10)))
    display.plot(ax=ax, cmap="Blues", colorbar=False, values_format="d")
    norm = LogNorm(vmin=1, vmax=max(int(matrix.max()), 2))
    display.im_.set_norm(norm)
    for (i, j), text in np.ndenumerate(display.text_):  # recolour the counts for the log scale
        text.set_color("white" if matrix[i, j] > 0 and norm(matrix[i, j]) > 0.6 else "black")
        if matrix[i, j] == 0:
            text.set_text("")
    bar = fig.colorbar(display.im_, ax=ax, label="test images (log scale)")
    ax.set(title="Confusion matrix on the 10,000 test digits", xlabel="predicted digit", ylabel="true digit")
    fig.tight_layout()
    return _finish(fig, path, exact=[display.im_, bar.ax])


def plot_confidence(probabilities: np.ndarray, y_true: np.ndarray, path: str | os.PathLike | None = None) -> plt.Figure:
    """The top predicted probability of right and of wrong answers, in two panels on the same axes: the share of each
    group's answers in each bin, on a log scale."""
    confidence = probabilities.max(axis=1)
    right = probabilities.argmax(axis=1) == y_true
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), sharex=True, sharey=True)
    bins = np.linspace(0, 1, 41)
    for ax, chosen, label, color in ((axes[0], right, "right", RIGHT), (axes[1], ~right, "wrong", WRONG)):
        values = confidence[chosen]
        weights = np.full(len(values), 100 / max(len(values), 1))  # each answer counts as its share of the group
        ax.hist(values, bins=bins, weights=weights, color=color)
        ax.set(title=f"{label} answers ({int(chosen.sum()):,})", xlabel="probability of the predicted digit")
        if len(values):
            median = float(np.median(values))
            ax.axvline(median, color="tab:orange", linestyle="--", linewidth=2, label=f"median {median:.2f}")
            ax.legend(loc="upper left")
    smallest = min((100 / n for n in (int(right.sum()), int((~right).sum())) if n), default=1.0)  # one answer's share
    axes[0].set_ylim(smallest / 2, 150)  # every bar whole, even when a group has one answer or none
    axes[0].set_yscale("log")
    axes[0].set_ylabel("share of the answers (%, log scale)")
    fig.suptitle("How sure is the network when it is right, and when it is wrong?")
    fig.tight_layout()
    return _finish(fig, path)
