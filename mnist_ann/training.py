"""Training: the learning-rate schedule, the compact log, fit() for a recipe, and train()."""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from mnist_ann.data import training_split
from mnist_ann.epochs import EpochBatches, Network
from mnist_ann.model import build_model, compile_model, network_layout
from mnist_ann.quiet import native_stderr_silenced
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


def changes_from_default(model: keras.Model, recipe: Recipe, x_fit: np.ndarray, batches: EpochBatches) -> list[str]:
    """How a notebook run differs from the notebook as published: the `fast` recipe as it is, its batches of all the
    training images, pixels scaled to 0-1, and mnist_ann's network. Empty when it does not."""
    default, named = get_recipe(DEFAULT_RECIPE), get_recipe(recipe.name)
    changes = [] if named == default else [f"recipe {recipe.name!r} instead of {default.name!r}"]
    for field in dataclasses.fields(Recipe):  # settings changed from the named recipe's own (EPOCHS = 3, say)
        ours, its = getattr(recipe, field.name), getattr(named, field.name)
        if ours != its:
            changes.append(f"{ours} epochs instead of {its}" if field.name == "epochs" else f"{field.name} {ours}")
    if (batches.batch_size, batches.augment) != (recipe.batch_size, recipe.augment):
        changes.append(f"batches of {batches.batch_size} with augment {batches.augment!r}")
    if batches.size != len(x_fit):
        changes.append(f"{batches.size:,} training images instead of {len(x_fit):,}")
    if float(np.max(x_fit)) > 1:
        changes.append("pixels not scaled to 0-1")
    layout, published = network_layout(model), network_layout(build_model())
    if layout != published:
        changes.append(f"network {layout} instead of {published}")
    return changes


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow, and make TensorFlow's ops deterministic, so reruns repeat."""
    tf.config.experimental.enable_op_determinism()
    _absorb_spurious_log()  # before seeding: its tiny model draws random numbers
    keras.utils.set_random_seed(seed)


@functools.cache
def _absorb_spurious_log() -> None:
    """With deterministic ops on, TensorFlow 2.21 logs one spurious C++ error line ("NodeDef mentions attribute
    use_unbounded_threadpool ...") the first time Keras feeds arrays through tf.data in a process; run that first
    time now, with native stderr silenced, so that it does not land in a notebook cell or a log."""
    with native_stderr_silenced():
        tiny = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
        tiny.predict(np.zeros((1, 1), np.float32), verbose=0)


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
    resume: Callable[[keras.Model], int] | None = None,
    loss="categorical_crossentropy",
) -> keras.callbacks.History:
    """Compile `model` for the recipe and train it on (images, one-hot labels); verbose="compact" prints one line per
    epoch.

    A `Network` trains a whole epoch per call into TensorFlow, any other model (and any model under a tf.distribute
    strategy, or with a "step" recipe) one batch per call: the same batches, the same numbers. `resume`, called once
    the model is compiled, may load a saved state into it and returns how many epochs that state has done (0 for
    none); training goes on from there. `loss` is any Keras loss (label smoothing, say).
    """
    recipe = get_recipe(recipe)
    if epochs is not None:
        recipe = dataclasses.replace(recipe, epochs=epochs)
    x, y = train
    with model.distribute_strategy.scope():  # the optimizer and metrics live where the model's variables do
        compile_model(model, learning_rate_schedule(recipe, len(x)), loss=loss)
    first_epoch = resume(model) if resume is not None else 0
    batches = EpochBatches(x, y, recipe.batch_size, seed=seed, augment=recipe.augment)
    callbacks = list(callbacks)
    if verbose == "compact":
        callbacks.append(EpochLog())
        verbose = 0
    if recipe.loop == "epoch" and isinstance(model, Network) and not _under_strategy(model):
        data = batches.whole_epochs(recipe.epochs, validation, first_epoch)  # a step trains a whole epoch...
        steps_per_epoch, validation = 1, None  # ...and scores the validation set at its end
    else:  # a strategy splits each batch among its replicas; "step" recipes train one call per batch
        data, steps_per_epoch = batches.dataset(recipe.epochs, first_epoch), batches.steps
    return model.fit(
        data,
        validation_data=None if validation is None else tuple(validation),
        validation_batch_size=None if validation is None else len(validation[0]),  # all at once, as the notebook
        epochs=recipe.epochs,
        initial_epoch=first_epoch,
        steps_per_epoch=steps_per_epoch,
        shuffle=False,  # the batches are shuffled already
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
    resume: Callable[[keras.Model], int] | None = None,
    strategy: tf.distribute.Strategy | None = None,
    whole_epochs: bool = True,
) -> tuple[keras.Model, keras.callbacks.History, float]:
    """Train a new network on uint8 training images and their digit labels; return model, history and seconds.

    The last 10% of the images are held out for validation, as in the notebook. Under a tf.distribute
    `strategy` the model, optimizer and metrics are created in its scope and each batch of the
    recipe's size is split among its replicas. `resume` is `fit`'s. With `whole_epochs=False` the network is a plain
    keras.Sequential trained one batch per call, as the notebook trains it: the same numbers, more slowly.
    Test images are for `mnist_ann.evaluate`.

    Side effect: like `set_seed`, it turns on TensorFlow's deterministic ops (`enable_op_determinism`) for the rest
    of the calling process, so that the same seed repeats the same run; TensorFlow has no public way to turn them off.
    """
    strategy = strategy or tf.distribute.get_strategy()
    set_seed(seed)
    fit_split, val_split = training_split(images, labels)
    with strategy.scope():
        model = build_model(model_class=Network if whole_epochs else keras.Sequential)
    start = time.perf_counter()
    history = fit(
        model,
        fit_split,
        val_split,
        recipe,
        seed=seed,
        epochs=epochs,
        verbose=verbose,
        callbacks=callbacks,
        resume=resume,
    )
    return model, history, time.perf_counter() - start
