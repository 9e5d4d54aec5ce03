"""Augmentation keeps shape, dtype and range, really moves the digits, and is keyed by its seed."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

import mnist_ann
from conftest import synthetic_digits
from mnist_ann.augment import MOVES, _gaussian_kernel, distort_batch, gaussian_blur, shift_batch


@pytest.fixture
def batch():
    images, _ = synthetic_digits(64, seed=5)
    return mnist_ann.preprocess(images)


def _seed(a, b):
    return tf.constant([a, b], dtype=tf.int64)


def test_each_shift_is_an_exact_one_pixel_move_with_zeros_coming_in():
    image = np.arange(1, 785, dtype=np.float32).reshape(28, 28)  # every pixel distinct and non-zero
    out = shift_batch(tf.constant(np.tile(image.reshape(1, 784), (9, 1)))).numpy()  # nine runs of one image
    for k, (dy, dx) in enumerate(MOVES):
        expected = np.zeros((30, 30), np.float32)
        expected[1 + dy : 29 + dy, 1 + dx : 29 + dx] = image  # moved by (dy, dx) inside a zero border
        np.testing.assert_array_equal(out[k].reshape(28, 28), expected[1:29, 1:29], err_msg=f"move {dy, dx}")


def _moves(out: np.ndarray) -> np.ndarray:
    """The move each output row got, read off a single lit pixel that started in the middle of the image."""
    rows, cols = np.divmod(out.argmax(axis=1), 28)
    return np.array([MOVES.index((r - 14, c - 14)) for r, c in zip(rows, cols, strict=True)])


@pytest.mark.parametrize("n", [9, 64, 240, 512])
def test_the_nine_moves_come_equally_often_in_runs_of_consecutive_images(n):
    dot = np.zeros((n, 784), np.float32)
    dot[:, 14 * 28 + 14] = 1.0
    moves = _moves(shift_batch(tf.constant(dot)).numpy())
    assert (np.diff(moves) >= 0).all()  # run k holds move k, in order
    counts = np.bincount(moves, minlength=9)
    assert counts.max() - counts.min() <= 1 and counts.sum() == n


@pytest.mark.parametrize("dtype", [np.float32, np.uint8])
def test_shift_keeps_shape_dtype_and_range_and_moves_all_but_one_run(batch, dtype):
    x = batch if dtype == np.float32 else (batch * 255).round().astype(np.uint8)
    out = shift_batch(tf.constant(x)).numpy()
    assert out.shape == x.shape and out.dtype == dtype
    assert out.min() >= x.min() and out.max() <= x.max()
    moved = (out != x).any(axis=1)
    stay = np.zeros(len(x), bool)
    stay[4 * len(x) // 9 : 5 * len(x) // 9] = True  # the fifth run gets move (0, 0)
    np.testing.assert_array_equal(moved, ~stay)


def test_an_example_gets_a_different_move_from_epoch_to_epoch():
    dot = np.zeros((90, 784), np.float32)
    dot[:, 14 * 28 + 14] = 1.0
    labels = np.eye(10, dtype=np.float32)[np.arange(90) % 10]
    batches = mnist_ann.EpochBatches(dot, labels, 45, seed=0, augment="shift")
    moves = []
    for epoch in range(6):
        batches.epoch.assign(epoch)
        order = batches.order()
        moved = np.concatenate([batches.batch(order, step)[0].numpy() for step in range(batches.steps)])
        moves.append(_moves(moved)[np.argsort(order.numpy())])  # example i's move this epoch
    moves = np.stack(moves)
    assert ((moves != moves[0]).any(axis=0)).mean() > 0.9  # nearly every example moves differently over epochs
    assert len(np.unique(moves)) == 9


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


@pytest.mark.parametrize("sigma", [1.0, 4.0, 6.0])
def test_the_blur_is_a_direct_2d_gaussian_convolution_with_zeros_outside(sigma):
    rng = np.random.default_rng(3)
    images = rng.uniform(-1, 1, (5, 28, 28)).astype(np.float32)
    one_d = _gaussian_kernel(sigma).astype(np.float64)
    kernel = np.outer(one_d, one_d)  # the 2-D Gaussian itself, weight by weight
    radius = len(one_d) // 2
    padded = np.pad(images.astype(np.float64), [(0, 0), (radius, radius), (radius, radius)])
    expected = np.zeros(images.shape)
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            window = padded[:, radius + dy : radius + dy + 28, radius + dx : radius + dx + 28]
            expected += kernel[radius + dy, radius + dx] * window
    blurred = gaussian_blur(tf.constant(images), sigma).numpy()
    assert blurred.shape == images.shape and blurred.dtype == np.float32
    np.testing.assert_allclose(blurred, expected, atol=1e-5)
    assert np.abs(blurred).mean() < 0.5 * np.abs(images).mean()  # it did smooth the noise
