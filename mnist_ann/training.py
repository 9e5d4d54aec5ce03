"""Training: the learning-rate schedule, the epoch-keyed input pipeline, the compact log, and train()."""

from __future__ import annotations

import dataclasses
import math
import time

import keras
import numpy as np
import tensorflow as tf

from mnist_ann.augment import augment_batch
from mnist_ann.data import one_hot, preprocess, split_validation
from mnist_ann.evaluation import EVAL_BATCH
from mnist_ann.model import build_model, compile_model
from mnist_ann.recipes import DEFAULT_RECIPE, Recipe, get_recipe

# Augmentation seeds are [seed, AUGMENT_STREAM + global step], shuffle seeds [seed, epoch]: the offset keeps the two
# streams of stateless random numbers apart for any run shorter than 2**40 epochs.
AUGMENT_STREAM = 1 << 40


def learning_rate_schedule(recipe: Recipe, train_size: int):
    """The recipe's learning rate for `train_size` examples: a number, or a Keras schedule for "cosine"."""
    if recipe.schedule == "constant":
        return recipe.learning_rate
    steps_per_epoch = math.ceil(train_size / recipe.batch_size)
    warmup = recipe.warmup_epochs * steps_per_epoch
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup else recipe.learning_rate,
        decay_steps=recipe.epochs * steps_per_epoch - warmup,
        warmup_target=recipe.learning_rate if warmup else None,
        warmup_steps=warmup,
    )


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow, and make TensorFlow's ops deterministic, so reruns repeat."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def in_memory_options() -> tf.data.Options:
    """tf.data options for in-memory data: under a multi-worker strategy, every worker builds the same
    batches and keeps its share of each (DATA sharding); there are no files to shard by."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return options


class EpochDataset:
    """A shuffled, batched in-memory tf.data pipeline whose order depends only on (seed, epoch).

    Each epoch's permutation and augmentation are drawn with stateless random ops keyed by the seed
    and the epoch number, which the `callback` sets at the start of every epoch. So a run resumed at
    epoch k (BackupAndRestore) sees exactly the batches an uninterrupted run sees, and the pipeline
    gathers whole batches from tensors: no per-example Python or tf.data work per step.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, *, seed: int, augment: float = 0.0):
        n = len(x)
        steps = math.ceil(n / batch_size)
        x, y = tf.constant(x), tf.constant(y)
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
        run = tf.constant(seed, tf.int64)
        epoch_seed = lambda: tf.stack([run, self.epoch])  # noqa: E731

        def batches(order):
            def batch(step):
                i = order[step * batch_size : (step + 1) * batch_size]
                xb, yb = tf.gather(x, i), tf.gather(y, i)
                if augment:
                    xb = augment_batch(xb, tf.stack([run, AUGMENT_STREAM + self.epoch * steps + step]), augment)
                return xb, yb

            return tf.data.Dataset.range(steps).map(batch)

        order = tf.data.Dataset.from_tensors(0).map(
            lambda _: tf.random.experimental.stateless_shuffle(tf.range(n, dtype=tf.int64), seed=epoch_seed())
        )
        batched = order.flat_map(batches).apply(tf.data.experimental.assert_cardinality(steps))
        self.dataset = batched.prefetch(tf.data.AUTOTUNE).with_options(in_memory_options())
        self.callback = keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs=None: self.epoch.assign(e))


def make_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, *, seed: int, augment: float = 0.0) -> tf.data.Dataset:
    """The first epoch's batches of an EpochDataset (for inspection and tests)."""
    return EpochDataset(x, y, batch_size, seed=seed, augment=augment).dataset


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
    strategy = model.distribute_strategy
    # Keras 3's multi-step loop fails to run with more than one replica ("You must feed a value for
    # placeholder tensor ... while/cond"), so replicated training runs one step per call.
    steps_per_execution = recipe.steps_per_execution if strategy.num_replicas_in_sync == 1 else 1
    with strategy.scope():  # the optimizer and metrics live where the model's variables do
        compile_model(
            model,
            learning_rate_schedule(recipe, len(x)),
            jit_compile=recipe.jit_compile,
            steps_per_execution=steps_per_execution,
        )
    data = EpochDataset(x, y, recipe.batch_size, seed=seed, augment=recipe.augment)
    val = None
    if validation is not None:
        val = tf.data.Dataset.from_tensor_slices(validation).batch(EVAL_BATCH).with_options(in_memory_options())
    callbacks = [data.callback, *callbacks]
    if verbose == "compact":
        callbacks.append(EpochLog())
        verbose = 0
    return model.fit(
        data.dataset, validation_data=val, epochs=recipe.epochs, shuffle=False, verbose=verbose, callbacks=callbacks
    )


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
    """
    strategy = strategy or tf.distribute.get_strategy()
    set_seed(seed)
    fit_split, val_split = split_validation(preprocess(images), one_hot(labels))
    with strategy.scope():
        model = build_model()
    start = time.perf_counter()
    history = fit(model, fit_split, val_split, recipe, seed=seed, epochs=epochs, verbose=verbose, callbacks=callbacks)
    return model, history, time.perf_counter() - start
