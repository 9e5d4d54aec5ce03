"""The notebook's training batches, and a Keras model that can train a whole epoch of them in one compiled call.

The notebook feeds `model.fit` a tf.data pipeline: the training set shuffled anew on every pass by
`Dataset.shuffle(seed=...)`, cut into batches, augmented, repeated. `EpochBatches` serves the very same batches:
`dataset()` one per step, for any Keras model, and `whole_epochs()` a whole epoch at a time, for a `Network`, whose
`train_step` (the hook Keras documents for customising `fit`) takes the epoch's order, gathers each batch, augments
it and runs Keras's own `train_step` on it in a `tf.while_loop`, then scores the validation set with Keras's
`test_step`, all in one compiled call. The three give the same numbers, bit for bit on one machine; the command line
and the benchmark use the last because it is the fastest.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from mnist_ann.augment import PIXELS, distort_batch, shift_batch

AUGMENTS = ("none", "shift", "elastic")

# The elastic distortion works on an epoch's images DISTORT_CHUNK at a time, in the epoch's order, whatever the batch
# size: its cost is per call as much as per image. Chunk c of epoch e draws its random numbers from the stateless
# seed [seed, AUGMENT_STREAM + e * CHUNKS_PER_EPOCH + c], apart from anything else the seed keys.
DISTORT_CHUNK = 1024
AUGMENT_STREAM = 1 << 40
CHUNKS_PER_EPOCH = 1 << 20


def in_memory_options() -> tf.data.Options:
    """tf.data options for in-memory data: under a multi-worker strategy, every worker builds the same
    batches and keeps its share of each (DATA sharding); there are no files to shard by. No default graph
    rewrites, as Keras's own array pipeline does: a rewrite serializes the pipeline, 170 MB of images with it. And
    no autotuning: nothing here has parallelism to tune."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    options.experimental_optimization.apply_default_optimizations = False
    options.autotune.enabled = False  # its thread, on a timed wait, can hold up the end of `fit` by 2.5 s
    return options


class EpochBatches:
    """The training set served in shuffled, augmented batches, as `tf.data` serves them to the notebook.

    `x` holds flattened images (floats in 0-1), `y` one-hot labels. Epoch k's order is the k-th pass of
    `Dataset.shuffle(len(x), seed=seed)` under the global seed `keras.utils.set_random_seed` sets, so each epoch
    has its own order and a run resumed at epoch k draws epoch k's. `augment` is "none", "shift" (each image moved
    by up to one pixel in x and y, by its place in the shuffled batch) or "elastic" (elastic distortion plus a
    small rotation, zoom and shift, on the epoch's images in their order, DISTORT_CHUNK at a time, seeded by the
    epoch and the chunk).
    """

    def __init__(self, x, y, batch_size: int, *, seed: int = 0, augment: str = "none"):
        if augment not in AUGMENTS:
            raise ValueError(f"unknown augment {augment!r}; choose one of: {', '.join(AUGMENTS)}.")
        if len(x) != len(y) or not len(x):
            raise ValueError(f"EpochBatches needs as many labels as images, at least one: got {len(x)} and {len(y)}.")
        self.size, self.batch_size, self.steps = len(x), batch_size, math.ceil(len(x) / batch_size)
        self.augment, self.seed = augment, seed
        self.x = tf.constant(np.asarray(x, dtype=np.float32))
        self.y = tf.constant(np.asarray(y, dtype=np.float32))

    def orders(self, epochs: int, first_epoch: int = 0) -> np.ndarray:
        """The order of the training set in each epoch from `first_epoch` up to `epochs`: [epochs - first_epoch, size].

        They are the passes `tf.data.Dataset.range(len(x)).shuffle(len(x), seed=seed)` makes, as the notebook's
        pipeline draws them, drawn here once, before training, so that no iterator Keras or a tf.distribute strategy
        makes can shift them.
        """
        passes = tf.data.Dataset.range(self.size).shuffle(self.size, seed=self.seed).batch(self.size).repeat()
        return np.stack(list(passes.take(epochs).skip(first_epoch).as_numpy_iterator()))

    def dataset(self, epochs: int, first_epoch: int = 0) -> tf.data.Dataset:
        """Ordinary (images, labels) batches for the epochs from `first_epoch` up to `epochs`, `self.steps` batches
        an epoch: the batches of the notebook's pipeline, for `fit(..., steps_per_epoch=self.steps)`."""
        steps, seed = self.steps, tf.constant(self.seed, tf.int64)

        def epoch(number, order, images, labels):
            images, labels, order, augment = _in_order(images, labels, order, self.augment, seed, first_epoch + number)

            def batch(step):
                return _batch(images, labels, order, step, self.batch_size, augment)

            return tf.data.Dataset.range(steps).map(batch)

        orders = tf.data.Dataset.from_tensor_slices(self.orders(epochs, first_epoch)).enumerate()
        data = tf.data.Dataset.from_tensors((self.x, self.y)).repeat()  # as an element: see whole_epochs
        batches = tf.data.Dataset.zip(orders, data).flat_map(lambda numbered, data: epoch(*numbered, *data))
        return batches.prefetch(tf.data.AUTOTUNE).with_options(in_memory_options())

    def whole_epochs(self, epochs: int, validation=None, first_epoch: int = 0) -> tf.data.Dataset:
        """The training set one epoch per element, from `first_epoch` up to `epochs`: give it to a `Network`'s `fit`
        with `steps_per_epoch=1`, and each step trains a whole epoch in one compiled call.

        An element holds the images, labels, seed and batch size, the epoch's order, and names the augmentation by a
        key ("none", "shift" or "elastic"). `validation`, an (images, labels) pair, is scored at the end of each epoch
        in the same call, as `fit(validation_data=..., validation_batch_size=len(images))` would score it.
        """
        element = {"images": self.x, "labels": self.y, "seed": tf.constant(self.seed, tf.int64)}
        element |= {"batch_size": tf.constant(self.batch_size, tf.int64), self.augment: tf.constant(True)}
        if validation is not None:
            element["validation"] = tuple(tf.constant(np.asarray(v, np.float32)) for v in validation)
        orders = tf.data.Dataset.from_tensor_slices(self.orders(epochs, first_epoch))
        # The images travel as a dataset element, not as a tensor the map captures: a 170 MB capture costs seconds.
        elements = tf.data.Dataset.zip(tf.data.Dataset.from_tensors(element).repeat(), orders)
        return elements.map(lambda element, order: element | {"order": order}).with_options(in_memory_options())


def _in_order(images, labels, order, augment: str, seed, epoch):
    """An epoch before it is cut into batches: for "elastic", its images distorted DISTORT_CHUNK at a time in its
    order, with the labels in that order too (then the order is the identity and nothing is left to augment); for the
    other augmentations, everything as it is. One definition for both ways of training."""
    if augment != "elastic":
        return images, labels, order, augment
    size = tf.shape(order, out_type=tf.int64)[0]
    chunks = (size + DISTORT_CHUNK - 1) // DISTORT_CHUNK
    first = AUGMENT_STREAM + tf.cast(epoch, tf.int64) * CHUNKS_PER_EPOCH

    def distort(chunk, done):
        rows = order[chunk * DISTORT_CHUNK : (chunk + 1) * DISTORT_CHUNK]
        distorted = distort_batch(tf.gather(images, rows), tf.stack([seed, first + chunk]))
        return chunk + 1, done.write(tf.cast(chunk, tf.int32), distorted)

    parts = tf.TensorArray(tf.float32, size=tf.cast(chunks, tf.int32), infer_shape=False, element_shape=[None, PIXELS])
    _, parts = tf.while_loop(lambda chunk, _: chunk < chunks, distort, (tf.constant(0, tf.int64), parts))
    return parts.concat(), tf.gather(labels, order), tf.range(size), "none"


def _batch(images, labels, order, step, batch_size, augment: str) -> tuple[tf.Tensor, tf.Tensor]:
    """Batch `step` of an epoch in `order`: its images, moved by `shift_batch` when `augment` is "shift", and its
    labels. One definition for both ways of training."""
    step = tf.cast(step, tf.int64)
    rows = order[step * batch_size : (step + 1) * batch_size]
    images = tf.gather(images, rows)
    return shift_batch(images) if augment == "shift" else images, tf.gather(labels, rows)


@keras.saving.register_keras_serializable(package="mnist_ann")
class Network(keras.Sequential):
    """A keras.Sequential that can also train a whole epoch per step: `fit(batches.whole_epochs(...))`.

    It customises what Keras documents for customising `fit`. `compile` also creates the optimizer's and the
    metrics' variables, now: made inside the first compiled step instead, they make TensorFlow trace it twice.
    It leaves XLA off unless asked (`jit_compile=True` suits ordinary batches only).
    `train_step`, given an ordinary batch, is Keras's own; given the element `EpochBatches.whole_epochs` makes, it
    trains a whole epoch: it gathers each batch in the epoch's order, augments it and runs Keras's `train_step` on
    it, then, when the element carries a validation set, scores it with Keras's `test_step` and adds the `val_`
    metrics. Keras then counts one step per epoch: `on_train_batch_*` callbacks are called once per epoch, not per
    batch, and `on_test_*` ones not for the in-step validation.
    """

    def compile(self, *args, jit_compile=False, **kwargs):
        # No XLA, which Keras turns on by itself where there is a GPU: a whole epoch's last batch is smaller than
        # the others, and the step holds a loop of them.
        super().compile(*args, jit_compile=jit_compile, **kwargs)
        if self.built and self.optimizer is not None:
            self.optimizer.build(self.trainable_variables)
            x = tf.zeros([1, *self.input_shape[1:]])
            y = tf.zeros([1, *self.output_shape[1:]])
            self.compute_metrics(x, y, self(x))
            self.reset_metrics()

    def train_step(self, data):
        if not (isinstance(data, dict) and "order" in data):
            return super().train_step(data)
        augment = next(name for name in AUGMENTS if name in data)
        images, labels, order = data["images"], data["labels"], data["order"]
        size, batch_size = tf.shape(order, out_type=tf.int64)[0], data["batch_size"]
        steps = (size + batch_size - 1) // batch_size
        epoch = tf.cast(self.optimizer.iterations, tf.int64) // steps  # Keras counts every batch trained
        images, labels, order, augment = _in_order(images, labels, order, augment, data["seed"], epoch)

        def train_batch(step):
            super(Network, self).train_step(_batch(images, labels, order, step, batch_size, augment))
            return (step + 1,)

        tf.while_loop(lambda step: step < steps, train_batch, (tf.constant(0, tf.int64),))
        logs = self.get_metrics_result()
        if "validation" not in data:
            return logs
        for metric in self.metrics:
            metric.reset_state()
        self.test_step(data["validation"])  # one batch, as fit(validation_batch_size=len(x_val)) scores it
        return logs | {f"val_{name}": value for name, value in self.get_metrics_result().items()}
