"""Training: the learning-rate schedule, the compact log, fit() for a recipe, and train()."""

from __future__ import annotations

import dataclasses
import math
import time

import keras
import numpy as np
import tensorflow as tf

from mnist_ann.data import flatten, normalize, one_hot, split_validation
from mnist_ann.epochs import EpochBatches
from mnist_ann.evaluation import EVAL_BATCH
from mnist_ann.model import build_model, compile_model
from mnist_ann.recipes import DEFAULT_RECIPE, Recipe, get_recipe


def learning_rate_schedule(recipe: Recipe, train_size: int, *, epochs: int | None = None):
    """The recipe's learning rate for `train_size` examples and `epochs` (default: the recipe's): a number, or a
    Keras schedule for "cosine", which starts from the first step of the run it is made for and ends at zero."""
    if recipe.schedule == "constant":
        return recipe.learning_rate
    steps_per_epoch = math.ceil(train_size / recipe.batch_size)
    steps = (epochs or recipe.epochs) * steps_per_epoch
    # The warmup takes at most half of the run, so a run cut short (--epochs 1) still warms up and decays.
    warmup = min(recipe.warmup_epochs * steps_per_epoch, steps // 2)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup else recipe.learning_rate,
        decay_steps=steps - warmup,
        warmup_target=recipe.learning_rate if warmup else None,
        warmup_steps=warmup,
    )


def changes_from_default(model: keras.Model, recipe: Recipe, epochs: int, batches: EpochBatches) -> list[str]:
    """How a run differs from the notebook as published: the `fast` recipe with its epochs and augmentation, pixels
    scaled to 0-1, and mnist_ann's network. Empty when it does not; the notebook's 98% check applies only then."""
    from mnist_ann.model import build_model, network_layout

    default = get_recipe(DEFAULT_RECIPE)
    changes = []
    if recipe != default:
        changes.append(f"recipe {recipe.name!r} instead of {default.name!r}")
    if epochs != recipe.epochs:  # against the recipe's own: another recipe brings its own epochs and augmentation
        changes.append(f"{epochs} epochs instead of {recipe.epochs}")
    if batches.augment != recipe.augment:
        changes.append(f"augment {batches.augment!r} instead of {recipe.augment!r}")
    if batches.x.dtype != tf.uint8 and float(tf.reduce_max(batches.x)) > 1:
        changes.append("pixels not scaled to 0-1")
    layout, published = network_layout(model), network_layout(build_model())
    if layout != published:
        changes.append(f"network {layout} instead of {published}")
    return changes


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow, and make TensorFlow's ops deterministic, so reruns repeat."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


class EpochLog(keras.callbacks.Callback):
    """Prints one compact line per epoch: loss and accuracy for training and validation."""

    def __init__(self, print_fn=print):
        super().__init__()
        self.print_fn = print_fn

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        width = len(str(self.params["epochs"]))
        parts = [f"epoch {epoch + 1:>{width}}/{self.params['epochs']}"]
        parts += [f"{key} {logs[key]:.4f}" for key in ("loss", "accuracy", "val_loss", "val_accuracy") if key in logs]
        self.print_fn("  ".join(parts))


def fit(
    model: keras.Model,
    train: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray] | None,
    recipe: str | Recipe = DEFAULT_RECIPE,
    *,
    seed: int = 0,
    epochs: int | None = None,
    verbose: int | str = "compact",
    callbacks: list | tuple = (),
) -> keras.callbacks.History:
    """Compile `model` for the recipe and train it; verbose="compact" prints one line per epoch."""
    recipe = get_recipe(recipe)
    if epochs is not None:
        recipe = dataclasses.replace(recipe, epochs=epochs)
    x, y = train
    with model.distribute_strategy.scope():  # the optimizer and metrics live where the model's variables do
        compile_model(model, learning_rate_schedule(recipe, len(x)), label_smoothing=recipe.label_smoothing)
    batches = EpochBatches(x, y, recipe.batch_size, seed=seed, augment=recipe.augment)
    callbacks = list(callbacks)
    if verbose == "compact":
        callbacks.append(EpochLog())
        verbose = 0
    if recipe.loop == "epoch" and not _under_strategy(model):
        data, steps_per_epoch = batches.whole_epochs(validation), 1  # a step trains a whole epoch...
        validation = None  # ...and scores the validation set at its end
    else:  # a strategy splits each batch among its replicas; "step" recipes train one call per batch
        data, steps_per_epoch = batches.dataset, None
        callbacks.insert(0, batches.callback)
    return model.fit(
        data,
        validation_data=None if validation is None else tuple(validation),
        validation_batch_size=EVAL_BATCH,
        epochs=recipe.epochs,
        steps_per_epoch=steps_per_epoch,
        shuffle=False,  # the batches are shuffled already, by seed and epoch
        verbose=verbose,
        callbacks=callbacks,
    )


def _under_strategy(model: keras.Model) -> bool:
    """Whether `model` lives under a tf.distribute strategy rather than TensorFlow's default (one device)."""
    with model.distribute_strategy.scope():
        return tf.distribute.has_strategy()


def train(
    images: np.ndarray,
    labels: np.ndarray,
    recipe: str | Recipe = DEFAULT_RECIPE,
    *,
    seed: int = 0,
    epochs: int | None = None,
    verbose: int | str = "compact",
    callbacks: list | tuple = (),
    strategy: tf.distribute.Strategy | None = None,
) -> tuple[keras.Model, keras.callbacks.History, float]:
    """Train a new network on uint8 training images and their digit labels; return model, history and seconds.

    The last 10% of the images are held out for validation, as in the notebook. Under a tf.distribute
    `strategy` the model, optimizer and metrics are created in its scope and each batch of the
    recipe's size is split among its replicas. Test images are for `mnist_ann.evaluation.evaluate`.

    Side effect: like `set_seed`, it turns on TensorFlow's deterministic ops (`enable_op_determinism`) for the rest
    of the calling process, so that the same seed repeats the same run; TensorFlow offers no way to turn them off.
    """
    strategy = strategy or tf.distribute.get_strategy()
    set_seed(seed)
    # The training images stay uint8 (EpochBatches scales each batch as it gathers it: a quarter of the memory to
    # copy); the validation images are normalized once.
    (x_fit, y_fit), (x_val, y_val) = split_validation(flatten(np.asarray(images)), one_hot(labels))
    fit_split, val_split = (x_fit, y_fit), (normalize(x_val), y_val)
    with strategy.scope():
        model = build_model()
    start = time.perf_counter()
    history = fit(model, fit_split, val_split, recipe, seed=seed, epochs=epochs, verbose=verbose, callbacks=callbacks)
    return model, history, time.perf_counter() - start
