"""Augmentation keeps shape, dtype and range, really moves the digits, and is keyed by its seed."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

import mnist_ann
from conftest import synthetic_digits
from mnist_ann.augment import (
    CENTER,
    DISTORTION,
    MOVES,
    distort_batch,
    random_moves,
    shift_batch,
    warp,
)


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
    orders = batches.orders(6)
    examples = iter(batches.dataset(6))
    moves = []
    for order in orders:
        moved = np.concatenate([next(examples)[0].numpy() for _ in range(batches.steps)])
        moves.append(_moves(moved)[np.argsort(order)])  # example i's move this epoch
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


def _reference_warp(image: np.ndarray, moves: np.ndarray, field: np.ndarray, degrees, zoom, shift) -> np.ndarray:
    """The warp written directly, pixel by pixel, in float64: each output pixel moved by its field and by the affine
    map about the image's centre, then a bilinear sample of the input, 0 outside."""
    angle, scale = moves[0] * np.radians(degrees), 1 + moves[1] * zoom
    picture = image.reshape(28, 28).astype(np.float64)

    def pixel(r, c):
        return picture[r, c] if 0 <= r < 28 and 0 <= c < 28 else 0.0

    out = np.zeros((28, 28))
    for r in range(28):
        for c in range(28):
            dr, dc = r - CENTER, c - CENTER
            p = r * 28 + c
            source_r = (np.cos(angle) * dr - np.sin(angle) * dc) / scale + CENTER + moves[2] * shift + field[0, p]
            source_c = (np.sin(angle) * dr + np.cos(angle) * dc) / scale + CENTER + moves[3] * shift + field[1, p]
            r0, c0 = int(np.floor(source_r)), int(np.floor(source_c))
            fr, fc = source_r - r0, source_c - c0
            out[r, c] = (1 - fr) * ((1 - fc) * pixel(r0, c0) + fc * pixel(r0, c0 + 1)) + fr * (
                (1 - fc) * pixel(r0 + 1, c0) + fc * pixel(r0 + 1, c0 + 1)
            )
    return np.clip(out, 0, 1).ravel()


@pytest.mark.parametrize(
    "degrees, zoom, shift, strength", [(8.0, 0.08, 1.5, 1.0), (30.0, 0.3, 4.0, 3.0), (0, 0, 0, 0.5)]
)
def test_the_warp_is_the_maths_written_directly(batch, degrees, zoom, shift, strength):
    """Against an independent, slow reference on a few images, equal within 1e-3: the warp works in float32 (the
    reference in float64) and clamps sample positions to 0.001 pixel inside its border of zeros; the differences
    seen are below 2e-4."""
    x = tf.constant(batch[:4])
    moves, _ = random_moves(4, _seed(3, int(degrees)), modes=1)
    field = tf.random.stateless_normal([4, 2, 784], _seed(4, 4)) * strength  # any field: here rough noise
    fast = warp(x, moves, field, degrees=degrees, zoom=zoom, shift=shift).numpy()
    for k in range(4):
        expected = _reference_warp(batch[k], moves[k].numpy(), field[k].numpy(), degrees, zoom, shift)
        np.testing.assert_allclose(fast[k], expected, atol=1e-3, err_msg=f"image {k}")
    assert np.abs(fast - batch[:4]).mean() > 0.01  # it did move the images


def _simard_fields(count: int, sigma: float, alpha: float, rng) -> np.ndarray:
    """Simard et al.'s displacement fields, made the direct way: uniform noise in [-1, 1] on every pixel, convolved
    with a 2-D Gaussian of `sigma` pixels (zero outside the image), times `alpha`."""
    radius = int(np.ceil(3 * sigma))
    t = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (t[:, None] ** 2 + t[None, :] ** 2) / sigma**2)
    kernel /= kernel.sum()
    noise = np.pad(rng.uniform(-1, 1, (count, 28, 28)), [(0, 0), (radius, radius), (radius, radius)])
    fields = np.zeros((count, 28, 28))
    for dy in range(2 * radius + 1):
        for dx in range(2 * radius + 1):
            fields += kernel[dy, dx] * noise[:, dy : dy + 28, dx : dx + 28]
    return alpha * fields.reshape(count, 784)


def test_the_fields_have_the_statistics_of_simards_blurred_noise():
    """The distortion's fields, drawn from 6 modes per side, against fields made by blurring noise pixel by pixel:
    the same spread at every pixel (within 6%, the sampling error of 3,000 fields) and the same correlation between
    pixels 2 and 6 apart (within 0.05)."""
    settings = DISTORTION
    _, weights = random_moves(3000, _seed(9, 9), modes=settings["modes"])
    modes = tf.constant(mnist_ann.augment.field_modes(settings["sigma"], settings["modes"]))
    fields = (settings["alpha"] * tf.tensordot(weights, modes, 1)).numpy()[:, 0]  # the rows' displacements
    direct = _simard_fields(3000, settings["sigma"], settings["alpha"], np.random.default_rng(0))
    spread, expected = fields.std(axis=0), direct.std(axis=0)
    np.testing.assert_allclose(spread, expected, rtol=0.06)
    assert 0.6 < expected[14 * 28 + 14] < 1.0 and expected[0] < 0.7 * expected[14 * 28 + 14]  # weaker at the edge
    centre = 14 * 28 + 14
    for lag in (2, 6):
        ours = np.corrcoef(fields[:, centre], fields[:, centre + lag])[0, 1]
        theirs = np.corrcoef(direct[:, centre], direct[:, centre + lag])[0, 1]
        assert abs(ours - theirs) < 0.05, (lag, ours, theirs)


def test_the_distortion_is_distort_batch_with_the_moves_of_its_seed(batch):
    x = tf.constant(batch)
    settings = DISTORTION
    moves, weights = random_moves(len(batch), _seed(5, 6), modes=settings["modes"])
    field = settings["alpha"] * tf.tensordot(
        weights, mnist_ann.augment.field_modes(settings["sigma"], settings["modes"]), 1
    )
    expected = warp(x, moves, field, degrees=settings["degrees"], zoom=settings["zoom"], shift=settings["shift"])
    np.testing.assert_array_equal(distort_batch(x, _seed(5, 6)).numpy(), expected.numpy())
    assert moves.numpy().min() >= -1 and moves.numpy().max() <= 1


def test_distortion_settings_are_arguments_and_never_change_the_defaults(batch):
    x = tf.constant(batch)
    usual = distort_batch(x, _seed(5, 6)).numpy()
    still = distort_batch(x, _seed(5, 6), alpha=0.0, degrees=0.0, zoom=0.0, shift=0.0).numpy()
    np.testing.assert_allclose(still, batch, atol=1e-5)  # nothing moves
    np.testing.assert_array_equal(distort_batch(x, _seed(5, 6)).numpy(), usual)
    with pytest.raises(ValueError, match="unknown distortion settings \\['grid'\\]"):
        distort_batch(x, _seed(5, 6), grid=4)
