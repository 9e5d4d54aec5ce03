"""The training batches: the training set shuffled anew on every pass by `Dataset.shuffle(seed=...)`, cut into
batches, augmented, epoch after epoch, as a tf.data pipeline for `model.fit`. The notebook, the command line and the
benchmark all train on them, the same way.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from mnist_ann.augment import PIXELS, distort_batch, shift_batch
from mnist_ann.augment import deskew as deskew_images

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
    epoch and the chunk). `deskew` straightens every image once, before anything else (`augment.deskew`).
    """

    def __init__(self, x, y, batch_size: int, *, seed: int = 0, augment: str = "none", deskew: bool = False):
        if augment not in AUGMENTS:
            raise ValueError(f"unknown augment {augment!r}; choose one of: {', '.join(AUGMENTS)}.")
        if len(x) != len(y) or not len(x):
            raise ValueError(f"EpochBatches needs as many labels as images, at least one: got {len(x)} and {len(y)}.")
        self.size, self.batch_size, self.steps = len(x), batch_size, math.ceil(len(x) / batch_size)
        self.augment, self.seed = augment, seed
        self.x = tf.constant(np.asarray(x, dtype=np.float32))
        if deskew:
            self.x = deskew_images(self.x)
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
        # An elastic epoch is distorted whole, before it is cut into batches; the others are shifted batch by batch.
        augment = "none" if self.augment == "elastic" else self.augment

        def prepare(numbered, data):
            (number, order), (images, labels) = numbered, data
            epoch = first_epoch + number
            return _in_order(images, labels, order, self.augment, seed, epoch)

        def cut(images, labels, order):
            def batch(step):
                return _batch(images, labels, order, step, self.batch_size, augment)

            return tf.data.Dataset.range(steps).map(batch)

        orders = tf.data.Dataset.from_tensor_slices(self.orders(epochs, first_epoch)).enumerate()
        # The images travel as a dataset element, not as a tensor the map captures: a 170 MB capture costs seconds.
        data = tf.data.Dataset.from_tensors((self.x, self.y)).repeat()
        # The next epoch is prepared while this one trains (prefetch(1)): its distortion overlaps the training steps.
        prepared = tf.data.Dataset.zip(orders, data).map(prepare).prefetch(1)
        return prepared.flat_map(cut).prefetch(tf.data.AUTOTUNE).with_options(in_memory_options())


def _in_order(images, labels, order, augment: str, seed, epoch):
    """An epoch before it is cut into batches: for "elastic", its images distorted DISTORT_CHUNK at a time in its
    order, with the labels in that order too (then the order is the identity and nothing is left to augment); for
    the other augmentations, everything as it is."""
    if augment != "elastic":
        return images, labels, order
    size = tf.shape(order, out_type=tf.int64)[0]
    chunks = (size + DISTORT_CHUNK - 1) // DISTORT_CHUNK
    first = AUGMENT_STREAM + tf.cast(epoch, tf.int64) * CHUNKS_PER_EPOCH

    def distort(chunk, done):
        rows = order[chunk * DISTORT_CHUNK : (chunk + 1) * DISTORT_CHUNK]
        distorted = distort_batch(tf.gather(images, rows), tf.stack([seed, first + chunk]))
        return chunk + 1, done.write(tf.cast(chunk, tf.int32), distorted)

    parts = tf.TensorArray(tf.float32, size=tf.cast(chunks, tf.int32), infer_shape=False, element_shape=[None, PIXELS])
    _, parts = tf.while_loop(lambda chunk, _: chunk < chunks, distort, (tf.constant(0, tf.int64), parts))
    return parts.concat(), tf.gather(labels, order), tf.range(size)


def _batch(images, labels, order, step, batch_size, augment: str) -> tuple[tf.Tensor, tf.Tensor]:
    """Batch `step` of an epoch in `order`: its images, moved by `shift_batch` when `augment` is "shift", and its
    labels."""
    step = tf.cast(step, tf.int64)
    rows = order[step * batch_size : (step + 1) * batch_size]
    images = tf.gather(images, rows)
    images = shift_batch(images) if augment == "shift" else images
    return images, tf.gather(labels, rows)
