"""Training: the learning-rate schedule, the compact log, fit() for a recipe, and train(): one way, Keras's own
`model.fit` on the recipe's batches, with `steps_per_execution` set to an epoch's batches so that each call into
TensorFlow trains a whole epoch."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from mnist_ann.data import training_split
from mnist_ann.epochs import EpochBatches
from mnist_ann.model import Deskew, build_model, compile_model
from mnist_ann.recipes import DEFAULT_RECIPE, Recipe, get_recipe


def learning_rate_schedule(recipe: Recipe, train_size: int):
    """The recipe's learning rate for `train_size` examples: a number, or a Keras schedule for "cosine", which starts
    from the first step of the run it is made for and ends at zero after the recipe's epochs."""
    if recipe.schedule == "constant":
        return recipe.learning_rate
    steps_per_epoch = math.ceil(train_size / recipe.batch_size)
    steps = recipe.epochs * steps_per_epoch
    # The warmup takes at most half of the run, so a run cut short (--epochs 1) still warms up and decays.
    warmup = min(recipe.warmup_epochs * steps_per_epoch, steps // 2)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup else recipe.learning_rate,
        decay_steps=steps - warmup,
        warmup_target=recipe.learning_rate if warmup else None,
        warmup_steps=warmup,
    )


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow, and make TensorFlow's ops deterministic, so reruns repeat."""
    tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(seed)


class EpochLog(keras.callbacks.Callback):
    """Prints one compact line per epoch: loss and accuracy for training and validation, after `prefix`."""

    def __init__(self, print_fn=print, prefix: str = ""):
        super().__init__()
        self.print_fn, self.prefix = print_fn, prefix

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        width = len(str(self.params["epochs"]))
        parts = [f"{self.prefix}epoch {epoch + 1:>{width}}/{self.params['epochs']}"]
        parts += [f"{key} {logs[key]:.4f}" for key in ("loss", "accuracy", "val_loss", "val_accuracy") if key in logs]
        self.print_fn("  ".join(parts))


def fit(
    model: keras.Model,
    train: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray] | None,
    recipe: str | Recipe = DEFAULT_RECIPE,
    *,
    seed: int = 0,
    verbose: int | str = "compact",
    callbacks: list | tuple = (),
    resume: Callable[[keras.Model], int] | None = None,
) -> keras.callbacks.History:
    """Compile `model` for the recipe and train it on (images, one-hot labels); verbose="compact" prints one line per
    epoch. The one way this project trains: `model.fit` on the recipe's `EpochBatches`, an epoch's batches per call
    into TensorFlow (`steps_per_execution`; one batch under a multi-worker strategy), under whatever tf.distribute
    strategy the model was built in.

    A recipe that deskews needs a model that does (`build_model(deskew=True)`).

    `resume`, called once the model is compiled, may load a saved state into it and returns how many epochs that
    state has done (0 for none); training goes on from there.
    """
    recipe = get_recipe(recipe)
    x, y = train
    if recipe.deskew and not any(isinstance(layer, Deskew) for layer in model.layers):
        raise ValueError(
            f"recipe {recipe.name!r} deskews its training digits, so the model must deskew what it reads too: build it "
            "with build_model(deskew=True)."
        )
    batches = EpochBatches(x, y, recipe.batch_size, seed=seed, augment=recipe.augment, deskew=recipe.deskew)
    # Keras's loop over several steps per call fails under MultiWorkerMirroredStrategy (TensorFlow 2.21 raises
    # InvalidArgumentError in it): there, one step per call, the same batches and numbers.
    multi_worker = isinstance(model.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy)
    with model.distribute_strategy.scope():  # the optimizer and metrics live where the model's variables do
        compile_model(
            model,
            learning_rate_schedule(recipe, len(x)),
            steps_per_execution=1 if multi_worker else batches.steps,
        )
    first_epoch = resume(model) if resume is not None else 0
    callbacks = list(callbacks)
    if verbose == "compact":
        callbacks.append(EpochLog())
        verbose = 0
    return model.fit(
        batches.dataset(recipe.epochs, first_epoch),
        validation_data=None if validation is None else tuple(validation),
        validation_batch_size=None if validation is None else len(validation[0]),  # all at once, as the notebook
        epochs=recipe.epochs,
        initial_epoch=first_epoch,
        steps_per_epoch=batches.steps,
        shuffle=False,  # the batches are shuffled already
        verbose=verbose,
        callbacks=callbacks,
    )


def train(
    images: np.ndarray,
    labels: np.ndarray,
    recipe: str | Recipe = DEFAULT_RECIPE,
    *,
    seed: int = 0,
    verbose: int | str = "compact",
    callbacks: list | tuple = (),
    resume: Callable[[keras.Model], int] | None = None,
    strategy: tf.distribute.Strategy | None = None,
) -> tuple[keras.Model, keras.callbacks.History, float]:
    """Train a new network on uint8 training images and their digit labels; return model, history and seconds.

    The last 10% of the images are held out for validation, as in the notebook. Under a tf.distribute
    `strategy` the model, optimizer and metrics are created in its scope and each batch of the
    recipe's size is split among its replicas. `resume` is `fit`'s. Test images are for `mnist_ann.evaluate`.

    Side effect: like `set_seed`, it turns on TensorFlow's deterministic ops (`enable_op_determinism`) for the rest
    of the calling process, so that the same seed repeats the same run; TensorFlow has no public way to turn them off.
    """
    strategy = strategy or tf.distribute.get_strategy()
    set_seed(seed)
    fit_split, val_split = training_split(images, labels)
    recipe = get_recipe(recipe)
    with strategy.scope():
        model = build_model(deskew=recipe.deskew)
    start = time.perf_counter()
    history = fit(
        model,
        fit_split,
        val_split,
        recipe,
        seed=seed,
        verbose=verbose,
        callbacks=callbacks,
        resume=resume,
    )
    return model, history, time.perf_counter() - start
