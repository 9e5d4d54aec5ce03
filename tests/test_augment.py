"""Augmentation keeps shape, dtype and range, really moves the digits, and is keyed by its seed."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

import mnist_ann
from conftest import synthetic_digits
from mnist_ann.augment import MOVES, distort_batch, random_moves, shift_batch


@pytest.fixture
def batch():
    images, _ = synthetic_digits(64, seed=5)
    return mnist_ann.preprocess(images)


def _seed(a, b):
    return tf.constant([a, b], dtype=tf.int64)


def test_each_shift_is_an_exact_one_pixel_move_with_zeros_coming_in():
    image = np.arange(1, 785, dtype=np.float32).reshape(28, 28)  # every pixel distinct and non-zero
    out = shift_batch(tf.constant(np.tile(image.reshape(1, 784), (9, 1))), tf.range(9)).numpy()
    for k, (dy, dx) in enumerate(MOVES):
        expected = np.zeros((30, 30), np.float32)
        expected[1 + dy : 29 + dy, 1 + dx : 29 + dx] = image  # moved by (dy, dx) inside a zero border
        np.testing.assert_array_equal(out[k].reshape(28, 28), expected[1:29, 1:29], err_msg=f"move {dy, dx}")


@pytest.mark.parametrize("dtype", [np.float32, np.uint8])
def test_shift_keeps_shape_dtype_and_range_and_moves_most_images(batch, dtype):
    x = batch if dtype == np.float32 else (batch * 255).round().astype(np.uint8)
    moves = random_moves(len(x), _seed(1, 2))
    out = shift_batch(tf.constant(x), moves).numpy()
    assert out.shape == x.shape and out.dtype == dtype
    assert out.min() >= x.min() and out.max() <= x.max()
    moved = (out != x).any(axis=1)
    np.testing.assert_array_equal(moved, moves.numpy() != MOVES.index((0, 0)))  # all but the "stay" move change
    assert moved.mean() > 0.7


def test_moves_are_uniform_repeatable_for_a_seed_and_differ_between_seeds():
    a = random_moves(9000, _seed(3, 4)).numpy()
    assert np.array_equal(a, random_moves(9000, _seed(3, 4)).numpy())
    assert not np.array_equal(a, random_moves(9000, _seed(4, 4)).numpy())
    counts = np.bincount(a, minlength=9)
    assert counts.min() > 850 and counts.max() < 1150  # 1000 each expected


def test_distortion_preserves_shape_dtype_and_range_and_changes_images(batch):
    out = distort_batch(tf.constant(batch), _seed(1, 2)).numpy()
    assert out.shape == batch.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    changed = np.abs(out - batch).mean(axis=1) > 0.01
    assert changed.mean() > 0.9  # nearly every image moved
    # ...but stays the same digit: far closer to its source than to other images.
    own = np.abs(out - batch).mean(axis=1)
    other = np.abs(out - np.roll(batch, 1, axis=0)).mean(axis=1)
    assert (own < other).mean() > 0.9


def test_distortion_without_any_movement_returns_the_images():
    x = tf.constant(np.random.default_rng(0).random((4, 784), dtype=np.float32))
    out = distort_batch(x, _seed(1, 2), alpha=0.0, degrees=0.0, zoom=0.0, shift=0.0).numpy()
    np.testing.assert_allclose(out, x.numpy(), atol=1e-5)


def test_distortion_is_repeatable_for_a_seed_and_differs_between_seeds(batch):
    x = tf.constant(batch)
    a = distort_batch(x, _seed(7, 7)).numpy()
    np.testing.assert_array_equal(a, distort_batch(x, _seed(7, 7)).numpy())
    assert np.abs(a - distort_batch(x, _seed(8, 7)).numpy()).mean() > 0.01
