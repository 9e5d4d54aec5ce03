"""Whole epochs in one compiled call: the training set as seed- and epoch-keyed batches, and a Keras model whose
`train_step` can take a whole epoch.

`model.fit(batches.whole_epochs(...), ...)` on a `Network` runs Keras's own `fit`, with its callbacks, history,
`BackupAndRestore` and progress bar, on a dataset of one element per epoch. `Network.train_step` (the hook Keras
documents for customising `fit`) takes that element and, in one compiled call, shuffles the in-memory training set,
gathers each batch, augments it and runs Keras's own `train_step` on it in a `tf.while_loop`, then scores the
validation set with Keras's `test_step`. `batches.dataset` serves the same batches the classic way, one per step
through `tf.data`: for tf.distribute strategies, which split every batch among replicas, and for recipes that ask.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from mnist_ann.augment import distort_batch, shift_batch
from mnist_ann.data import PIXEL_SCALE, normalize

AUGMENTS = ("none", "shift", "elastic")

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


def _as_pixels(x: np.ndarray) -> np.ndarray:
    """uint8 pixels for images that are pixels or exactly `normalize(pixels)`; any other images as float32."""
    if x.dtype == np.uint8:
        return x
    x = x.astype(np.float32, copy=False)
    pixels = np.rint(x * 255)
    if x.size and 0 <= pixels.min() and pixels.max() <= 255:
        pixels = pixels.astype(np.uint8)
        if np.array_equal(normalize(pixels), x):
            return pixels
    return x


class EpochBatches:
    """The training set served in shuffled, optionally augmented batches that depend only on (seed, epoch).

    `x` holds flattened images: floats in 0-1, or uint8 pixels 0-255, which are kept so (a quarter of the memory)
    and scaled as each batch is gathered, to the very floats `normalize` gives. Floats that are exactly what
    `normalize` gives for some pixels are kept as those pixels, for the same reason; other floats stay floats.
    `y` holds one-hot labels.
    `augment` is "none", "shift" (each image moved by up to one pixel in x and y) or "elastic" (elastic distortion
    plus a small rotation, zoom and shift). Train a `Network` on `whole_epochs()`, one compiled call per epoch, or
    any Keras model on `dataset`, one call per batch, with `callback`, which tells the batches which epoch `fit`
    is in. Either way a run resumed at epoch k sees exactly the batches an uninterrupted run sees.
    """

    def __init__(self, x, y, batch_size: int, *, seed: int = 0, augment: str = "none"):
        if augment not in AUGMENTS:
            raise ValueError(f"unknown augment {augment!r}; choose one of: {', '.join(AUGMENTS)}.")
        if len(x) != len(y) or not len(x):
            raise ValueError(f"EpochBatches needs as many labels as images, at least one: got {len(x)} and {len(y)}.")
        self.size, self.batch_size, self.steps = len(x), batch_size, math.ceil(len(x) / batch_size)
        self.augment = augment
        self.x = tf.constant(_as_pixels(np.asarray(x)))
        self.y = tf.constant(np.asarray(y, dtype=np.float32))
        self.seed = tf.constant(seed, tf.int64)
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.callback = keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs=None: self.epoch.assign(epoch))

    def order(self) -> tf.Tensor:
        """This epoch's permutation of the training set."""
        return _order(self.size, self.seed, self.epoch)

    def batch(self, order: tf.Tensor, step) -> tuple[tf.Tensor, tf.Tensor]:
        """Batch number `step` of this epoch: images (augmented) and labels."""
        first_step = self.epoch * self.steps
        return _batch(
            self.x, self.y, order, tf.cast(step, tf.int64), self.batch_size, self.augment, self.seed, first_step
        )

    def whole_epochs(self, validation=None) -> tf.data.Dataset:
        """The training set as one dataset element, repeated: give it to a `Network`'s `fit` with
        `steps_per_epoch=1`, and each step trains a whole epoch in one compiled call.

        The element holds the images, labels, seed and batch size, and names the augmentation by a key ("none",
        "shift" or "elastic"). `Network.train_step` shuffles and cuts them into this epoch's batches itself; it
        takes the epoch from the optimizer's step count, so a resumed run needs no callback. `validation`, an
        (images, labels) pair, is scored at the end of each epoch in the same call, the quickest way; `fit`'s own
        `validation_data` works too. The element repeats without end, so `fit` keeps one iterator for the whole
        run rather than making one per epoch.
        """
        element = {"images": self.x, "labels": self.y, "seed": self.seed}
        element |= {"batch_size": tf.constant(self.batch_size, tf.int64), self.augment: tf.constant(True)}
        if validation is not None:
            element["validation"] = tuple(tf.constant(np.asarray(v, np.float32)) for v in validation)
        return tf.data.Dataset.from_tensors(element).repeat()

    @property
    def dataset(self) -> tf.data.Dataset:
        """The same batches as a tf.data pipeline, one batch per element: for strategies and the "step" loop. Give
        `fit` the batches' `callback` with it, so each epoch draws its own order."""
        order = tf.data.Dataset.from_tensors(0).map(lambda _: self.order())
        batches = order.flat_map(lambda o: tf.data.Dataset.range(self.steps).map(lambda step: self.batch(o, step)))
        batches = batches.apply(tf.data.experimental.assert_cardinality(self.steps))
        return batches.prefetch(tf.data.AUTOTUNE).with_options(in_memory_options())


def _order(size, seed: tf.Tensor, epoch: tf.Tensor) -> tf.Tensor:
    """The permutation of `size` examples for (seed, epoch)."""
    return tf.random.experimental.stateless_shuffle(tf.range(size, dtype=tf.int64), seed=tf.stack([seed, epoch]))


def _batch(images, labels, order, step, batch_size, augment: str, seed, first_step) -> tuple[tf.Tensor, tf.Tensor]:
    """Batch `step` of an epoch in `order` whose first batch is the run's `first_step`: its images, augmented with
    seeds [seed, AUGMENT_STREAM + global step], and its labels. One definition for both ways of training."""
    rows = order[step * batch_size : (step + 1) * batch_size]
    x = augment_batch(tf.gather(images, rows), augment, tf.stack([seed, AUGMENT_STREAM + first_step + step]))
    return x, tf.gather(labels, rows)


def augment_batch(x: tf.Tensor, augment: str, seed: tf.Tensor) -> tf.Tensor:
    """A batch gathered from the training set, augmented as `augment` says and scaled to floats in 0-1."""
    if augment == "shift":
        x = shift_batch(x)  # exact on uint8 too, and cheaper there
    x = _as_float(x)
    return distort_batch(x, seed) if augment == "elastic" else x


@keras.saving.register_keras_serializable(package="mnist_ann")
class Network(keras.Sequential):
    """A keras.Sequential that can also train a whole epoch per step: `fit(batches.whole_epochs(...))`.

    It customises what Keras documents for customising `fit`. `compile` also creates the optimizer's and the
    metrics' variables, now: made inside the first compiled step instead, they make TensorFlow trace it twice.
    It leaves XLA off unless asked (`jit_compile=True` suits ordinary batches only).
    `train_step`, given an ordinary batch, is Keras's own; given the element `EpochBatches.whole_epochs` makes, it
    trains a whole epoch: it shuffles the training set by (seed, epoch), gathers each batch, augments it and runs
    Keras's `train_step` on it, then, when the element carries a validation set, scores it with Keras's
    `test_step` and adds the `val_` metrics. Keras then counts one step per epoch: `on_train_batch_*` callbacks
    are called once per epoch, not per batch, and `on_test_*` ones not for the in-step validation.
    """

    def compile(self, *args, jit_compile=False, **kwargs):
        # No XLA, which Keras turns on by itself where there is a GPU: a whole epoch's step shuffles with an op XLA
        # cannot compile, and its last batch is smaller than the others.
        super().compile(*args, jit_compile=jit_compile, **kwargs)
        if self.built and self.optimizer is not None:
            self.optimizer.build(self.trainable_variables)
            x = tf.zeros([1, *self.input_shape[1:]])
            y = tf.zeros([1, *self.output_shape[1:]])
            self.compute_metrics(x, y, self(x))
            self.reset_metrics()

    def train_step(self, data):
        if not (isinstance(data, dict) and "batch_size" in data):
            return super().train_step(data)
        augment = next(name for name in AUGMENTS if name in data)
        images, labels, seed, batch_size = data["images"], data["labels"], data["seed"], data["batch_size"]
        size = tf.shape(images, out_type=tf.int64)[0]
        steps = (size + batch_size - 1) // batch_size
        first_step = tf.cast(self.optimizer.iterations, tf.int64)  # Keras counts every batch trained
        order = _order(size, seed, first_step // steps)

        def train_batch(step):
            super(Network, self).train_step(_batch(images, labels, order, step, batch_size, augment, seed, first_step))
            return (step + 1,)

        tf.while_loop(lambda step: step < steps, train_batch, (tf.constant(0, tf.int64),))
        logs = self.get_metrics_result()
        if "validation" not in data:
            return logs
        for metric in self.metrics:
            metric.reset_state()
        self.test_step(data["validation"])
        return logs | {f"val_{name}": value for name, value in self.get_metrics_result().items()}
