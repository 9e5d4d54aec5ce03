"""The library behind the MNIST notebook: data, model, training, evaluation and plots.

The application around it (command line, run folders, distributed training, image input) lives in
`mnist_ann.app`, which imports from here and never the other way round.

Importing it does nothing else: each name below is loaded from its module on first use, so
`import mnist_ann` is instant and loads TensorFlow only when a name that needs it is touched.
Call `mnist_ann.quiet_tensorflow()` first to load TensorFlow without its start-up chatter.
"""

from __future__ import annotations

import importlib

_WHERE = {
    "data": (
        "MnistDataError",
        "load_mnist",
        "preprocess",
        "training_split",
    ),
    "evaluation": (
        "confusion",
        "evaluate",
        "misclassified",
        "most_confused",
        "per_class_report",
        "worst_class",
    ),
    "export": ("save_weights_script",),
    "images": ("ImageInputError", "load_digit_steps", "sample_digit"),
    "model": ("Deskew", "build_model", "load_model", "network_layout"),
    "plots": (
        "plot_activation_functions",
        "plot_activations",
        "plot_computation",
        "plot_confidence",
        "plot_confusion_matrix",
        "plot_digit_grid",
        "plot_history",
        "plot_learning_rate",
        "plot_loss_slice",
        "plot_network",
        "plot_neuron_examples",
        "plot_preparation",
        "plot_validation_curves",
        "plot_weights",
    ),
    "precomputed": ("precomputed_experiments", "precomputed_results"),
    "quiet": ("quiet_tensorflow",),
    "recipes": ("RECIPES", "Recipe", "get_recipe"),
    "epochs": ("EpochBatches",),
    "training": ("EpochLog", "fit", "learning_rate_schedule", "set_seed", "train"),
}
_MODULE_OF = {name: module for module, names in _WHERE.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'mnist_ann' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"mnist_ann.{_MODULE_OF[name]}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
