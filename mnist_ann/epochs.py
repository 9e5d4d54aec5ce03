"""Whole epochs in one compiled call: the training set as seed- and epoch-keyed batches, and a Keras model that
`fit` drives one epoch per call.

`model.fit(batches, ...)` on a `Network` still runs Keras's own `fit`: its callbacks, history, validation,
`BackupAndRestore` and progress bar. What changes is the function `fit` calls (Keras's documented hook,
`make_train_function`): instead of one call per batch fed by `tf.data`, one `tf.function` per epoch shuffles the
in-memory training set, gathers each batch, augments it and runs Keras's `train_step` on it in a `tf.range` loop,
then scores the validation set with Keras's `test_step` in the same call. Under a multi-replica tf.distribute
strategy, and for recipes that ask for it, the same batches are fed the classic way instead: a `tf.data` pipeline
and one `train_step` per call.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from mnist_ann.augment import distort_batch, shift_batch
from mnist_ann.data import PIXEL_SCALE

AUGMENTS = ("none", "shift", "elastic")
LOOPS = ("epoch", "step")

# Shuffle seeds are [seed, epoch] and augmentation seeds [seed, AUGMENT_STREAM + global step]: the offset keeps
# the two streams of stateless random numbers apart for any run shorter than 2**40 steps.
AUGMENT_STREAM = 1 << 40


def in_memory_options() -> tf.data.Options:
    """tf.data options for in-memory data: under a multi-worker strategy, every worker builds the same
    batches and keeps its share of each (DATA sharding); there are no files to shard by."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return options


def _as_float(x: tf.Tensor) -> tf.Tensor:
    """uint8 pixels 0-255 as float32 in 0-1, bit for bit what `mnist_ann.normalize` gives; floats unchanged."""
    return tf.cast(x, tf.float32) * PIXEL_SCALE if x.dtype == tf.uint8 else x


class EpochBatches:
    """The training set served in shuffled, optionally augmented batches that depend only on (seed, epoch).

    `x` holds flattened images: floats in 0-1, or uint8 pixels 0-255, which are kept so (a quarter of the memory)
    and scaled as each batch is gathered, to the very floats `normalize` gives. `y` holds one-hot labels.
    `augment` is "none", "shift" (each image moved by up to one pixel in x and y) or "elastic" (elastic distortion
    plus a small rotation, zoom and shift). `loop` is "epoch" (one compiled call per epoch) or "step" (one call
    per batch through `tf.data`, as plain Keras). `callback` tells the batches which epoch `fit` is in, so a run
    resumed at epoch k sees exactly the batches an uninterrupted run sees.
    """

    def __init__(self, x, y, batch_size: int, *, seed: int = 0, augment: str = "none", loop: str = "epoch"):
        if augment not in AUGMENTS:
            raise ValueError(f"unknown augment {augment!r}; choose one of: {', '.join(AUGMENTS)}.")
        if loop not in LOOPS:
            raise ValueError(f"unknown loop {loop!r}; choose one of: {', '.join(LOOPS)}.")
        if len(x) != len(y) or not len(x):
            raise ValueError(f"EpochBatches needs as many labels as images, at least one: got {len(x)} and {len(y)}.")
        self.size, self.batch_size, self.steps = len(x), batch_size, math.ceil(len(x) / batch_size)
        self.augment, self.loop = augment, loop
        x = np.asarray(x)
        self.x = tf.constant(x if x.dtype == np.uint8 else x.astype(np.float32, copy=False))
        self.y = tf.constant(np.asarray(y, dtype=np.float32))
        self.seed = tf.constant(seed, tf.int64)
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.callback = keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs=None: self.epoch.assign(epoch))

    def order(self) -> tf.Tensor:
        """This epoch's permutation of the training set."""
        return tf.random.experimental.stateless_shuffle(
            tf.range(self.size, dtype=tf.int64), seed=tf.stack([self.seed, self.epoch])
        )

    def batch(self, order: tf.Tensor, step) -> tuple[tf.Tensor, tf.Tensor]:
        """Batch number `step` of this epoch: images (augmented) and labels."""
        step = tf.cast(step, tf.int64)
        rows = order[step * self.batch_size : (step + 1) * self.batch_size]
        x, y = tf.gather(self.x, rows), tf.gather(self.y, rows)
        if self.augment == "shift":
            x = shift_batch(x)  # exact on uint8 too, and cheaper there
        x = _as_float(x)
        if self.augment == "elastic":
            x = distort_batch(x, tf.stack([self.seed, AUGMENT_STREAM + self.epoch * self.steps + step]))
        return x, y

    def epoch_function(self, train_step, then=lambda: None):
        """A tf.function that runs `train_step` on every batch of the current epoch, in order, then `then()` in the
        same call, and returns what `then` returns."""

        @tf.function
        def one_epoch():
            order = self.order()

            def body(step):
                train_step(self.batch(order, step))
                return (step + 1,)

            tf.while_loop(lambda step: step < self.steps, body, (tf.constant(0, tf.int64),))
            return then()

        return one_epoch

    @property
    def dataset(self) -> tf.data.Dataset:
        """The same batches as a tf.data pipeline, one batch per element (the "step" loop, and strategies)."""
        order = tf.data.Dataset.from_tensors(0).map(lambda _: self.order())
        batches = order.flat_map(lambda o: tf.data.Dataset.range(self.steps).map(lambda step: self.batch(o, step)))
        batches = batches.apply(tf.data.experimental.assert_cardinality(self.steps))
        return batches.prefetch(tf.data.AUTOTUNE).with_options(in_memory_options())

    def clock(self) -> tf.data.Dataset:
        """One element per epoch, for `fit` to count epochs by when each epoch is one call."""
        return tf.data.Dataset.from_tensors(self.first())

    def first(self) -> tuple[tf.Tensor, tf.Tensor]:
        """The first example as a batch of one, as the model takes it: for building what needs a sample."""
        return _as_float(self.x[:1]), self.y[:1]


@keras.saving.register_keras_serializable(package="mnist_ann")
class Network(keras.Sequential):
    """A keras.Sequential whose `fit` also takes `EpochBatches`, training a whole epoch per compiled call.

    Given anything else (arrays, a tf.data dataset), `fit` is Keras's, unchanged. Given `EpochBatches`, it runs
    Keras's `fit` with the batches' epoch callback added, and a train function that runs a whole epoch and then,
    when `validation_data` is an (x, y) pair checked every epoch, computes the `val_` metrics in the same call
    (Keras's `on_test_*` callbacks are then not called; nothing here uses them). When the model lives under a
    tf.distribute strategy, or the batches ask for loop="step", it feeds the batches through `tf.data` instead,
    one `train_step` per call, so every replica gets its share of each batch.
    """

    _epoch_batches = None
    _epoch_validation = None

    def fit(self, x=None, y=None, *args, callbacks=None, **kwargs):
        if not isinstance(x, EpochBatches):
            return super().fit(x, y, *args, callbacks=callbacks, **kwargs)
        if y is not None:
            raise ValueError("fit(EpochBatches) takes no y: the batches carry the labels.")
        batches = x
        whole_epochs = batches.loop == "epoch" and self._distribute_strategy is None
        self._epoch_batches = batches if whole_epochs else None
        validation = kwargs.get("validation_data")
        every_epoch = kwargs.get("validation_freq", 1) == 1
        if whole_epochs and every_epoch and isinstance(validation, tuple) and len(validation) == 2:
            # Validated inside the epoch's call, in one batch: no second compiled function to trace and call.
            self._epoch_validation = tuple(tf.convert_to_tensor(v, tf.float32) for v in validation)
            kwargs = {k: v for k, v in kwargs.items() if k not in ("validation_data", "validation_batch_size")}
        self.train_function = None  # built again for these batches
        callbacks = [batches.callback, *(callbacks or [])]
        data = batches.clock() if whole_epochs else batches.dataset
        try:
            return super().fit(data, *args, callbacks=callbacks, **(kwargs | {"shuffle": False}))
        finally:
            self._epoch_batches = self._epoch_validation = None
            self.train_function = None

    def make_train_function(self, force=False):
        batches = self._epoch_batches
        if batches is None:
            return super().make_train_function(force)
        if self.train_function is not None and not force:
            return self.train_function
        # The optimizer's and the metrics' variables are made now, eagerly: variables first made inside a
        # tf.function make TensorFlow trace it twice, and tracing is most of what the first epoch costs.
        if not self.optimizer.built:
            self.optimizer.build(self.trainable_variables)
        x, y = batches.first()
        self.compute_metrics(x, y, self(x))
        self.reset_metrics()
        one_epoch = batches.epoch_function(self.train_step, then=self._epoch_logs)

        def train_function(iterator):  # Keras passes the clock's iterator; the epoch needs nothing from it
            return {name: float(value) for name, value in one_epoch().items()}

        self.train_function = train_function
        return train_function

    def _epoch_logs(self) -> dict:
        """The epoch's metrics, then the validation set's as `val_` ones, as Keras's `evaluate` would give them:
        the same metrics, reset, updated by `test_step` on the validation set (here in one batch)."""
        logs = self.get_metrics_result()
        if self._epoch_validation is None:
            return logs
        for metric in self.metrics:
            metric.reset_state()
        self.test_step(self._epoch_validation)
        return logs | {f"val_{name}": value for name, value in self.get_metrics_result().items()}
