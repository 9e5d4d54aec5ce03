"""Augmentation keeps shape, dtype and range, really moves the digits, and is keyed by its seed."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

import mnist_ann
from conftest import synthetic_digits
from mnist_ann.augment import augment_batch
from mnist_ann.training import make_dataset


@pytest.fixture
def batch():
    images, _ = synthetic_digits(64, seed=5)
    return mnist_ann.preprocess(images)


def test_augmentation_preserves_shape_dtype_and_range_and_changes_images(batch):
    out = augment_batch(tf.constant(batch), tf.constant([1, 2], dtype=tf.int64)).numpy()
    assert out.shape == batch.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    changed = np.abs(out - batch).mean(axis=1) > 0.01
    assert changed.mean() > 0.9  # nearly every image moved
    # ...but stays the same digit: far closer to its source than to other images.
    own = np.abs(out - batch).mean(axis=1)
    other = np.abs(out - np.roll(batch, 1, axis=0)).mean(axis=1)
    assert (own < other).mean() > 0.9


def test_augmentation_is_repeatable_for_a_seed_and_differs_between_seeds(batch):
    x = tf.constant(batch)
    a = augment_batch(x, tf.constant([7, 7], dtype=tf.int64)).numpy()
    b = augment_batch(x, tf.constant([7, 7], dtype=tf.int64)).numpy()
    c = augment_batch(x, tf.constant([8, 7], dtype=tf.int64)).numpy()
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).mean() > 0.01


def test_augmented_pipeline_yields_augmented_batches_with_labels_in_order(batch):
    labels = mnist_ann.one_hot(np.arange(len(batch)) % 10)
    plain = next(iter(make_dataset(batch, labels, 16, seed=0)))
    augmented = next(iter(make_dataset(batch, labels, 16, seed=0, augment=True)))
    np.testing.assert_array_equal(plain[1], augmented[1])  # same shuffle, same labels
    assert np.abs(plain[0].numpy() - augmented[0].numpy()).mean() > 0.01
