"""Augmentation of flattened 28x28 digits: one-pixel shifts (cheap), and elastic distortion with small affine moves.

Neither keeps random state, so a resumed run sees exactly what an uninterrupted one saw: a shift is set by an
image's place in its (seed- and epoch-keyed) shuffled batch, and the distortion draws stateless random numbers from
a seed tensor of shape [2].
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

SIDE = 28  # the images are SIDE x SIDE pixels
PIXELS = SIDE * SIDE
CENTER = (SIDE - 1) / 2  # the middle of the image in pixel coordinates: the pivot of rotations and zooms

# The nine moves of `shift_batch`: (rows, columns) in {-1, 0, 1}^2; move 4 leaves the image as it is.
MOVES = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
PAD = SIDE + 1  # one row and one column: the farthest a move reaches in the flattened image


def _move_masks() -> np.ndarray:
    """[9, 784] uint8: 1 where a pixel moved by MOVES[k] came from inside the image, 0 where it came from outside."""
    rows, cols = np.divmod(np.arange(PIXELS), SIDE)
    return np.stack(
        [((0 <= rows - dy) & (rows - dy < SIDE) & (0 <= cols - dx) & (cols - dx < SIDE)) for dy, dx in MOVES]
    ).astype(np.uint8)


def shift_batch(x: tf.Tensor) -> tf.Tensor:
    """Move the images of `x` (flattened, [n, 784]) by one pixel or none, filling with 0; same shape and dtype.

    The batch is cut into nine near-equal runs of consecutive images, and run k is moved by MOVES[k]. Fed a
    shuffled batch, that gives every image a random move, with the nine moves equally often. In the flattened
    image a move by (dy, dx) is an offset of 28 * dy + dx, so each run is a slice of the zero-padded batch; a
    mask clears the pixels a sideways move carries across a row end. No per-pixel gather: this costs about as
    much as copying the batch a few times.
    """
    n = tf.shape(x)[0]
    bounds = tf.range(len(MOVES) + 1) * n // len(MOVES)
    runs = tf.split(tf.pad(x, [[0, 0], [PAD, PAD]]), bounds[1:] - bounds[:-1], num=len(MOVES))
    masks = _move_masks()
    moved = []
    for k, (run, (dy, dx)) in enumerate(zip(runs, MOVES, strict=True)):
        start = PAD - (SIDE * dy + dx)
        run = run[:, start : start + PIXELS]
        moved.append(run if dx == 0 else run * tf.constant(masks[k], dtype=x.dtype))  # dx = 0 wraps no row end
    return tf.concat(moved, axis=0)


def _gaussian_kernel(sigma: float) -> np.ndarray:
    radius = math.ceil(3 * sigma)
    t = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (t / sigma) ** 2)
    return (kernel / kernel.sum()).astype(np.float32)


def gaussian_band(sigma: float) -> np.ndarray:
    """[28, 28] float32: the matrix that blurs each row of an image with a Gaussian of `sigma` pixels (image @ band).

    Entry (i, j) is the kernel's weight for a distance |i - j|, up to three sigmas; past the image's edge there is
    nothing to weigh, as with a zero-padded convolution. The Gaussian is symmetric, so the matrix is too, and
    band @ image blurs each column.
    """
    kernel = _gaussian_kernel(sigma)
    radius = len(kernel) // 2
    distance = np.abs(np.arange(SIDE)[:, None] - np.arange(SIDE)[None, :])
    return np.where(distance <= radius, kernel[radius + np.minimum(distance, radius)], 0).astype(np.float32)


def gaussian_blur(images: tf.Tensor, sigma: float) -> tf.Tensor:
    """Blur [m, 28, 28] images with a 2-D Gaussian of `sigma` pixels, zero outside the image; same shape.

    A 2-D Gaussian is a Gaussian along the rows times one along the columns, so the blur is two small matrix
    products with a banded matrix: a few times faster on a CPU than two 25-tap depthwise convolutions, and far
    faster where those convolutions have no optimized kernel.
    """
    band = tf.constant(gaussian_band(sigma))
    return tf.matmul(band, tf.matmul(images, band))


def _smooth_field(n, seed: tf.Tensor, sigma: float) -> tf.Tensor:
    """[n, 784, 2] random displacements (rows, columns) per pixel: uniform in [-1, 1], then Gaussian-blurred
    (Simard et al.)."""
    field = gaussian_blur(tf.random.stateless_uniform([n * 2, SIDE, SIDE], seed, -1.0, 1.0), sigma)
    return tf.transpose(tf.reshape(field, [n, 2, PIXELS]), [0, 2, 1])


def distort_batch(
    x: tf.Tensor,
    seed: tf.Tensor,
    *,
    alpha: float = 20.0,
    sigma: float = 4.0,
    degrees: float = 8.0,
    zoom: float = 0.08,
    shift: float = 1.5,
) -> tf.Tensor:
    """Elastic distortion (Simard et al., 2003) plus a random rotation, zoom and shift of each flattened image.

    `x` holds float images in 0-1, shape [n, 784]. Each output pixel samples the input bilinearly at its own
    position moved by a smooth random field (uniform noise blurred with a Gaussian of `sigma` pixels, scaled by
    `alpha`) and by one affine map per image (rotation up to `degrees`, zoom up to `zoom`, shift up to `shift`
    pixels). Same shape, dtype and 0-1 range; outside the image counts as 0. The defaults are milder than Simard's
    (alpha 34): on the validation set this small network did better with alpha 20 and gentle affine moves.
    """
    n = tf.shape(x)[0]
    seeds = tf.random.experimental.stateless_split(seed, 5)
    angle = tf.random.stateless_uniform([n, 1], seeds[0], -1.0, 1.0) * (degrees * math.pi / 180)
    scale = 1.0 + tf.random.stateless_uniform([n, 1], seeds[1], -zoom, zoom)
    offset = tf.random.stateless_uniform([n, 2], seeds[2], -shift, shift)
    field = alpha * _smooth_field(n, seeds[3], sigma)
    rows, cols = np.divmod(np.arange(PIXELS, dtype=np.float32), SIDE)
    r, c = rows - CENTER, cols - CENTER
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    src_r = cos * r - sin * c + CENTER + offset[:, :1] + field[..., 0]
    src_c = sin * r + cos * c + CENTER + offset[:, 1:] + field[..., 1]
    return tf.clip_by_value(_bilinear(x, src_r, src_c), 0.0, 1.0)


def _bilinear(x: tf.Tensor, src_r: tf.Tensor, src_c: tf.Tensor) -> tf.Tensor:
    """Sample each image of x ([n, 784]) at [n, 784] row and column positions; 0 outside the image."""
    n = tf.shape(x)[0]
    side = SIDE + 2  # one pixel of zeros around the image: positions outside read 0
    padded = tf.reshape(tf.pad(tf.reshape(x, [n, SIDE, SIDE]), [[0, 0], [1, 1], [1, 1]]), [-1])
    src_r = tf.clip_by_value(src_r + 1.0, 0.0, side - 1.001)
    src_c = tf.clip_by_value(src_c + 1.0, 0.0, side - 1.001)
    r0, c0 = tf.floor(src_r), tf.floor(src_c)
    fr, fc = src_r - r0, src_c - c0
    base = tf.range(n)[:, None] * (side * side) + tf.cast(r0, tf.int32) * side + tf.cast(c0, tf.int32)
    top = (1 - fc) * tf.gather(padded, base) + fc * tf.gather(padded, base + 1)
    bottom = (1 - fc) * tf.gather(padded, base + side) + fc * tf.gather(padded, base + side + 1)
    return (1 - fr) * top + fr * bottom
