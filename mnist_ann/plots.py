"""Figures: training curves and digit grids, shown inline and saved as PNGs for the README."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm
from sklearn.metrics import ConfusionMatrixDisplay

from mnist_ann.files import replaced_atomically

DPI = 110


def save_figure(fig: plt.Figure, path: str | os.PathLike | None) -> None:
    """Save `fig` as a PNG via a temporary file renamed into place, so a crash never leaves half a file."""
    if path is None:
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with replaced_atomically(path) as tmp:
        # No software tag: the PNG bytes stay identical between runs that draw the same figure.
        fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})


def plot_history(history: dict, metric: str, path: str | os.PathLike | None = None) -> plt.Figure:
    """Training and validation `metric` ("accuracy" or "loss") per epoch."""
    fig, ax = plt.subplots(figsize=(6, 4))
    epochs = np.arange(1, len(history[metric]) + 1)
    ax.plot(epochs, history[metric], "o-", label="training")
    if f"val_{metric}" in history:
        ax.plot(epochs, history[f"val_{metric}"], "s-", label="validation")
    ax.set(title=f"Model {metric}", xlabel="epoch", ylabel=metric)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right" if metric == "accuracy" else "upper right")
    fig.tight_layout()
    save_figure(fig, path)
    return fig


def plot_digit(image: np.ndarray, title: str = "", path: str | os.PathLike | None = None) -> plt.Figure:
    """One 28x28 digit in grayscale, white ink on black as MNIST stores it."""
    fig, ax = plt.subplots(figsize=(2.4, 2.4))
    ax.imshow(image.reshape(28, 28), cmap="gray", vmin=0, vmax=image.max() or 1)
    ax.set_title(title)
    ax.axis("off")
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
    path: str | os.PathLike | None = None,
) -> plt.Figure:
    """A grid of 28x28 digits, each with its own title (for example 'pred 7 / true 7')."""
    rows = max(1, -(-len(images) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(1.35 * columns, 1.55 * rows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(images):
            ax.imshow(images[i].reshape(28, 28), cmap="gray_r")
            color = title_colors[i] if title_colors else "black"
            ax.set_title(titles[i], fontsize=8, color=color)
    if suptitle:
        fig.suptitle(suptitle)
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
    """Histogram of the top predicted probability, for right and for wrong answers."""
    confidence = probabilities.max(axis=1)
    right = probabilities.argmax(axis=1) == y_true
    fig, ax = plt.subplots(figsize=(6, 3.6))
    bins = np.linspace(0, 1, 41)
    ax.hist(confidence[right], bins=bins, alpha=0.7, label=f"right ({right.sum()})")
    ax.hist(confidence[~right], bins=bins, alpha=0.8, label=f"wrong ({(~right).sum()})", color="tab:red")
    ax.set_yscale("log")
    ax.set(title="How sure is the model?", xlabel="probability of the predicted digit", ylabel="test images (log)")
    ax.legend(loc="upper left")
    fig.tight_layout()
    save_figure(fig, path)
    return fig
