"""Tested, reusable parts of the MNIST feed-forward network notebook."""

from mnist_ann.data import MnistDataError, load_mnist
from mnist_ann.model import build_model, compile_model
from mnist_ann.training import (
    RECIPES,
    EpochLog,
    Recipe,
    fit,
    get_recipe,
    one_hot,
    preprocess,
    set_seed,
    split_validation,
    train,
)

__all__ = [
    "RECIPES",
    "EpochLog",
    "MnistDataError",
    "Recipe",
    "build_model",
    "compile_model",
    "fit",
    "get_recipe",
    "load_mnist",
    "one_hot",
    "preprocess",
    "set_seed",
    "split_validation",
    "train",
]
