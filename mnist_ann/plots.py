"""Figures: training curves, digits, the network's weights and activations, the test report; saved as PNGs.

Digits are drawn everywhere the way the network receives them: bright ink (high values) on a black background
(0), as MNIST stores them.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import LogNorm, Normalize
from sklearn.metrics import ConfusionMatrixDisplay

from mnist_ann.files import replaced_atomically

# Where matplotlib's font cache lists fonts that are gone (another environment of the same version rewrote it), it
# looks them up again and logs each one it misses to stderr, which would land in a notebook cell's output; the
# figures are the same either way.
logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)

DPI = 110
DIGIT_CMAP = "gray"  # 0 black, the brightest value white: ink on black, as MNIST stores its digits
WEIGHT_CMAP = "RdBu_r"  # red: the pixel pushes a unit up; blue: down; white: no effect
RIGHT, WRONG = "tab:blue", "tab:red"
PIXELS_PER_IMAGE = 28 * 28
NEVER_INKED = (1.0, 0.8, 0.0, 1.0)  # yellow, for pixels that no training image ever inks: unlike any weight's colour
LARGE_TEXT = {"font.size": 14}  # for wide figures, which GitHub shrinks to about 1000 pixels


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
        np.reshape(image, (28, 28)),
        cmap=DIGIT_CMAP,
        vmin=0,
        vmax=255 if np.max(image) > 1 else 1,
        interpolation="nearest",
    )
    ax.set_xticks([])
    ax.set_yticks([])


def plot_history(history: dict, before: dict | None = None, path: str | os.PathLike | None = None) -> plt.Figure:
    """Accuracy and loss per epoch, training and validation, side by side.

    `before` holds the same metrics for the untrained network, drawn at epoch 0. Every point is on the axes:
    accuracy on a 0-1 axis with the last epochs magnified in an inset, loss on a log axis.
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
            ax.set_yscale("log")
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
            inset.tick_params(labelsize=8)
            inset.grid(alpha=0.3)
            inset.set_title(f"epochs {tail}-{epochs[-1]}, magnified", fontsize=8)
            ax.indicate_inset_zoom(inset, edgecolor="0.4")
    fig.tight_layout()
    save_figure(fig, path)
    return fig


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
    save_figure(fig, path)
    return fig


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
    cell = 28 + 2  # two pixels of white between pictures
    hidden = np.zeros(PIXELS_PER_IMAGE, bool) if never_inked is None else np.asarray(never_inked, bool).ravel()
    scale = float(np.percentile(np.abs(kernel[~hidden]), 99.5)) or 1.0  # a few extreme weights saturate, not all
    norm = Normalize(-scale, scale, clip=True)
    cmap = plt.get_cmap(WEIGHT_CMAP, 15)  # 15 shades: the same picture, a quarter of the PNG
    mosaic = np.ones((rows * cell - 2, columns * cell - 2, 4))  # white between the pictures
    for i in range(units):
        row, column = divmod(i, columns)
        colours = cmap(norm(kernel[:, i]))
        colours[hidden] = NEVER_INKED
        mosaic[row * cell : row * cell + 28, column * cell : column * cell + 28] = colours.reshape(28, 28, 4)
    fig, ax = plt.subplots(figsize=(0.62 * columns + 1.2, 0.62 * rows + 0.5))
    ax.imshow(mosaic, interpolation="nearest")
    for i in outlined:
        row, column = divmod(int(i), columns)
        frame = plt.Rectangle((column * cell - 1.5, row * cell - 1.5), 30, 30, fill=False, edgecolor="black", lw=1.5)
        ax.add_patch(frame).set_clip_on(False)  # whole at the figure's edge too
    ax.set_xticks([])
    ax.set_yticks([row * cell + 13.5 for row in range(rows)], [str(row * columns) for row in range(rows)], fontsize=11)
    ax.tick_params(left=False, pad=6)
    for spine in ax.spines.values():
        spine.set_visible(False)
    fig.colorbar(ScalarMappable(norm, cmap), ax=ax, fraction=0.025, pad=0.01, extend="both", label="weight")
    note = "; yellow: pixels no training digit ever inks" if hidden.any() else ""
    ax.set_title(
        f"The weights of the {units} first-layer neurons, one 28x28 picture each, numbered along the rows\n"
        f"red: ink on that pixel raises the neuron's sum, blue: lowers it{note}",
        fontsize=12,
    )
    fig.tight_layout()
    save_figure(fig, path)
    return fig


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
    fig, axes = plt.subplots(
        len(units),
        top + 2,
        figsize=(1.35 * (top + 4), 1.6 * len(units)),
        squeeze=False,
        gridspec_kw={"width_ratios": [1] * (top + 1) + [3]},
    )
    for row, unit in zip(axes, units, strict=True):
        row[0].imshow(
            kernel[:, unit].reshape(28, 28), cmap=WEIGHT_CMAP, vmin=-scale, vmax=scale, interpolation="nearest"
        )
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
        row[-1].tick_params(labelsize=9)
        if unit == units[0]:
            row[-1].set_title("mean output for each digit", fontsize=10)
    weights = ScalarMappable(Normalize(-scale, scale), WEIGHT_CMAP)
    fig.colorbar(weights, ax=axes[:, 0], location="left", shrink=0.8, pad=0.25, label="weight")
    fig.suptitle(
        "First-layer neurons whose output differs most between digits: their weights,\n"
        "the training digits that excite each most (its output above), and its mean output per digit",
        fontsize=12,
    )
    save_figure(fig, path)
    return fig


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
    save_figure(fig, path)
    return fig


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
    save_figure(fig, path)
    return fig


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
    for ax, (name, image) in zip(axes, steps.items(), strict=False):
        if image.ndim == 3:
            ax.imshow(image)
        else:
            ax.imshow(image, cmap=DIGIT_CMAP, vmin=0, vmax=1)
        ax.set_title(f"{name}\n{image.shape[1]} wide, {image.shape[0]} high")
        ax.set_xticks([])
        ax.set_yticks([])
    if probabilities is not None:
        _probability_bars(axes[-1], probabilities)
        axes[-1].set_title("the network's answer")
    fig.tight_layout()
    save_figure(fig, path)
    return fig


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
    fig.colorbar(display.im_, ax=ax, label="test images (log scale)")
    ax.set(title="Confusion matrix on the 10,000 test digits", xlabel="predicted digit", ylabel="true digit")
    fig.tight_layout()
    save_figure(fig, path)
    return fig


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
    save_figure(fig, path)
    return fig
