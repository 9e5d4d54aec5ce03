"""Tested, reusable parts of the MNIST feed-forward network notebook."""

from mnist_ann._quiet import import_tensorflow_quietly

import_tensorflow_quietly()

# ruff: noqa: E402 (TensorFlow must be imported quietly before the modules that use it)

from mnist_ann.data import MnistDataError, flatten, load_mnist, normalize, one_hot, preprocess
from mnist_ann.distribute import STRATEGIES, make_strategy
from mnist_ann.evaluation import confusion, format_report, misclassified, most_confused, per_class_report, worst_class
from mnist_ann.model import build_model, compile_model
from mnist_ann.plots import (
    plot_confidence,
    plot_confusion_matrix,
    plot_digit,
    plot_digit_grid,
    plot_history,
    save_figure,
)
from mnist_ann.training import (
    RECIPES,
    EpochLog,
    Recipe,
    fit,
    get_recipe,
    set_seed,
    split_validation,
    train,
)

__all__ = [
    "build_model",
    "compile_model",
    "confusion",
    "EpochLog",
    "fit",
    "flatten",
    "format_report",
    "get_recipe",
    "load_mnist",
    "make_strategy",
    "misclassified",
    "MnistDataError",
    "most_confused",
    "normalize",
    "one_hot",
    "per_class_report",
    "plot_confidence",
    "plot_confusion_matrix",
    "plot_digit",
    "plot_digit_grid",
    "plot_history",
    "preprocess",
    "Recipe",
    "RECIPES",
    "save_figure",
    "set_seed",
    "split_validation",
    "STRATEGIES",
    "train",
    "worst_class",
]
