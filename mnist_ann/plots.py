"""Figures: training curves, digits, the network's weights and activations, the test report; saved as PNGs.

Digits are drawn everywhere the way the network receives them: bright ink (high values) on a black background
(0), as MNIST stores them.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm
from sklearn.metrics import ConfusionMatrixDisplay

from mnist_ann.files import replaced_atomically

DPI = 110
DIGIT_CMAP = "gray"  # 0 black, the brightest value white: ink on black, as MNIST stores its digits
WEIGHT_CMAP = "RdBu_r"  # red: the pixel pushes a unit up; blue: down; white: no effect
RIGHT, WRONG = "tab:blue", "tab:red"


def save_figure(fig: plt.Figure, path: str | os.PathLike | None) -> None:
    """Save `fig` as a PNG via a temporary file renamed into place, so a crash never leaves half a file."""
    if path is None:
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with replaced_atomically(path) as tmp:
        # No software tag: the PNG bytes stay identical between runs that draw the same figure.
        fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})


def _show_digit(ax, image: np.ndarray) -> None:
    ax.imshow(np.reshape(image, (28, 28)), cmap=DIGIT_CMAP, vmin=0, vmax=255 if np.max(image) > 1 else 1)
    ax.set_xticks([])
    ax.set_yticks([])


def _zoomed_limits(series: list, skip: int, pad: float) -> tuple[float, float]:
    """Limits that fit every value from epoch `skip` + 1 on, so the first epochs do not squash the last ones."""
    values = np.concatenate([np.asarray(s[skip:] if len(s) > skip else s, dtype=float) for s in series])
    low, high = float(values.min()), float(values.max())
    margin = max((high - low) * pad, 1e-3)
    return low - margin, high + margin


def plot_history(history: dict, path: str | os.PathLike | None = None) -> plt.Figure:
    """Accuracy and loss per epoch, training and validation, side by side; the axes fit epoch 2 onwards."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, metric in zip(axes, ("accuracy", "loss"), strict=True):
        series = [history[metric]] + ([history[f"val_{metric}"]] if f"val_{metric}" in history else [])
        epochs = np.arange(1, len(history[metric]) + 1)
        for values, label, marker in zip(series, ("training", "validation"), ("o-", "s-"), strict=False):
            ax.plot(epochs, values, marker, label=label)
        low, high = _zoomed_limits(series, skip=1, pad=0.08)
        ax.set_ylim(max(low, 0.0), min(high, 1.0) if metric == "accuracy" else high)
        ax.set(title=metric.capitalize(), xlabel="epoch", ylabel=metric)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right" if metric == "accuracy" else "upper right")
    if len(history["accuracy"]) > 1:
        fig.text(
            0.5,
            -0.02,
            "the first epoch may lie outside the axes: they are fitted to epoch 2 onwards",
            ha="center",
            fontsize=9,
            color="0.35",
        )
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
    fontsize: float = 10,
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


def plot_weights(kernel: np.ndarray, outlined=(), path: str | os.PathLike | None = None) -> plt.Figure:
    """The first layer's weights, one 28x28 picture per unit (a column of the 784 x units kernel), in one mosaic;
    the units in `outlined` get a black frame."""
    units = kernel.shape[1]
    columns = min(units, 16)
    rows = -(-units // columns)
    cell = 28 + 2  # two pixels of white between pictures
    mosaic = np.full((rows * cell - 2, columns * cell - 2), np.nan)
    for i in range(units):
        weights = kernel[:, i].reshape(28, 28)
        row, column = divmod(i, columns)
        # Each unit on its own symmetric scale, so white is always 0 and the strongest weight is full colour.
        mosaic[row * cell : row * cell + 28, column * cell : column * cell + 28] = weights / (
            np.abs(weights).max() or 1
        )
    fig, ax = plt.subplots(figsize=(0.62 * columns, 0.62 * rows + 0.4))
    # 15 shades, not 256: the picture reads the same, and the PNG is a quarter the size.
    ax.imshow(mosaic, cmap=plt.get_cmap(WEIGHT_CMAP, 15), vmin=-1, vmax=1, interpolation="nearest")
    for i in outlined:
        row, column = divmod(int(i), columns)
        ax.add_patch(
            plt.Rectangle((column * cell - 1.5, row * cell - 1.5), 30, 30, fill=False, edgecolor="black", linewidth=1.5)
        )
    ax.axis("off")
    ax.set_title(f"What each of the {units} first-layer units looks for (red: ink there raises it, blue: lowers it)")
    fig.tight_layout()
    save_figure(fig, path)
    return fig


def _probability_bars(ax, probabilities: np.ndarray, true: int | None = None) -> None:
    best = int(np.argmax(probabilities))
    colors = [RIGHT if d == best and (true is None or d == true) else WRONG if d == best else "0.7" for d in range(10)]
    ax.bar(range(10), probabilities, color=colors)
    ax.set(xticks=range(10), ylim=(0, 1.18), yticks=np.linspace(0, 1, 5), xlabel="digit", ylabel="probability")
    ax.text(best, min(probabilities[best] + 0.02, 1.0), f"{probabilities[best]:.0%}", ha="center", va="bottom")


def plot_activations(
    image: np.ndarray,
    layers: dict[str, np.ndarray],
    probabilities: np.ndarray,
    *,
    true: int | None = None,
    path: str | os.PathLike | None = None,
) -> plt.Figure:
    """One digit followed through the network: the input, each hidden layer's activations, the ten probabilities."""
    fig, axes = plt.subplots(
        1,
        2 + len(layers),
        figsize=(3.2 * (2 + len(layers)), 2.9),
        gridspec_kw={"width_ratios": [0.8] + [1.6] * len(layers) + [1.2]},
    )
    _show_digit(axes[0], image)
    axes[0].set_title("input: 784 pixels" if true is None else f"input: a {true}, 784 pixels")
    for ax, (name, values) in zip(axes[1:-1], layers.items(), strict=True):
        ax.bar(range(len(values)), values, width=1.0, color="tab:green")
        active = int((values > 0).sum())
        ax.set(title=f"{name}: {active} of {len(values)} units active", xlabel="unit", ylabel="activation")
        ax.set_xlim(-1, len(values))
    _probability_bars(axes[-1], probabilities, true)
    axes[-1].set_title("output: 10 probabilities")
    fig.tight_layout()
    save_figure(fig, path)
    return fig


def plot_preparation(
    steps: dict[str, np.ndarray], probabilities: np.ndarray | None = None, path: str | os.PathLike | None = None
) -> plt.Figure:
    """Each step of preparing a photo the MNIST way, then (if given) the ten probabilities for the result."""
    panels = len(steps) + (probabilities is not None)
    fig, axes = plt.subplots(
        1,
        panels,
        figsize=(2.3 * panels + (0.8 if probabilities is not None else 0), 2.6),
        gridspec_kw={"width_ratios": [1] * len(steps) + ([1.6] if panels > len(steps) else [])},
        squeeze=False,
    )
    axes = axes[0]
    for ax, (name, image) in zip(axes, steps.items(), strict=False):
        if image.ndim == 3:
            ax.imshow(image)
        else:
            ax.imshow(image, cmap=DIGIT_CMAP, vmin=0, vmax=1)
        ax.set_title(f"{name}\n{image.shape[1]} wide, {image.shape[0]} high", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    if probabilities is not None:
        _probability_bars(axes[-1], probabilities)
        axes[-1].set_title("the network's answer", fontsize=10)
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
    """The top predicted probability of right and of wrong answers, in two panels side by side."""
    confidence = probabilities.max(axis=1)
    right = probabilities.argmax(axis=1) == y_true
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), sharex=True)
    bins = np.linspace(0, 1, 41)
    for ax, chosen, label, color in ((axes[0], right, "right", RIGHT), (axes[1], ~right, "wrong", WRONG)):
        ax.hist(confidence[chosen], bins=bins, color=color)
        ax.set(title=f"{label} answers ({int(chosen.sum()):,})", xlabel="probability of the predicted digit")
        if len(confidence[chosen]):
            ax.axvline(
                np.median(confidence[chosen]),
                color="tab:orange",
                linestyle="--",
                linewidth=2,
                label=f"median {np.median(confidence[chosen]):.2f}",
            )
            ax.legend(loc="upper left")
    axes[0].set_yscale("log")
    axes[1].yaxis.get_major_locator().set_params(integer=True)
    axes[0].set_ylabel("test images (log scale)")
    axes[1].set_ylabel("test images")
    fig.suptitle("How sure is the network when it is right, and when it is wrong?")
    fig.tight_layout()
    save_figure(fig, path)
    return fig
