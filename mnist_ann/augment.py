"""Augmentation of flattened 28x28 digits: one-pixel shifts (cheap), and elastic distortion with small affine moves.

Neither keeps random state, so a resumed run sees exactly what an uninterrupted one saw: a shift is set by an
image's place in its shuffled batch, and the distortion draws stateless random numbers from a seed tensor of shape
[2] that the batch's number in the run sets.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import tensorflow as tf

from mnist_ann.data import PIXELS, SIDE

CENTER = (SIDE - 1) / 2  # the middle of the image in pixel coordinates: the pivot of rotations and zooms

# The elastic distortion's settings (docs/benchmark.md: others did no better on the validation set): the
# field's strength in pixels and its smoothness, as Simard et al.'s alpha and sigma; how many smooth modes per side
# draw it; the largest rotation in degrees, zoom in or out, and shift in pixels.
DISTORTION = {"alpha": 20.0, "sigma": 4.0, "modes": 6, "degrees": 8.0, "zoom": 0.08, "shift": 1.5}

# The nine moves of `shift_batch`: (rows, columns) in {-1, 0, 1}^2; move 4 leaves the image as it is.
MOVES = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]


def shift_batch(images: tf.Tensor) -> tf.Tensor:
    """Move each image of a batch ([n, 784], flattened) by one pixel, up, down, sideways or diagonally, or not at
    all; zeros come in at the edge. Same shape and dtype.

    The batch is cut into nine runs of consecutive images, of nearly equal length, and run k is moved by MOVES[k]:
    fed a shuffled batch, that gives every image a random move, the nine moves equally often. Each run is one slice
    of the batch with a border of zeros around every image. The notebook shows the same code.
    """
    grids = tf.pad(tf.reshape(images, [-1, SIDE, SIDE]), [[0, 0], [1, 1], [1, 1]])  # a border of zeros
    cuts = tf.range(len(MOVES) + 1) * tf.shape(images)[0] // len(MOVES)  # nine runs of (nearly) equal length
    moved = [
        grids[cuts[k] : cuts[k + 1], 1 - dy : 1 - dy + SIDE, 1 - dx : 1 - dx + SIDE]  # run k moved by (dy, dx)
        for k, (dy, dx) in enumerate(MOVES)
    ]
    return tf.reshape(tf.concat(moved, axis=0), [-1, PIXELS])


def _gaussian_band(sigma: float) -> np.ndarray:
    """[28, 28]: the matrix that blurs each column of an image with a Gaussian of `sigma` pixels (band @ image), up
    to three sigmas, zero outside the image as in a zero-padded convolution."""
    radius = math.ceil(3 * sigma)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    distance = np.abs(np.arange(SIDE)[:, None] - np.arange(SIDE)[None, :])
    return np.where(distance <= radius, kernel[radius + np.minimum(distance, radius)], 0.0)


@functools.cache
def field_modes(sigma: float, modes: int) -> np.ndarray:
    """[modes * modes, 784]: the smooth patterns a displacement field is drawn from, each scaled by its strength.

    Simard et al. blur uniform noise in [-1, 1] with a Gaussian of `sigma` pixels. Such a field is a sum of fixed
    patterns with independent random weights: the eigenvectors of its covariance, kron(A, A) / 3 with A = band @
    band.T along each side. The `modes` strongest per side carry nearly all of it (6 of 28 keep 99.9% of the variance
    for sigma 4), so `random_moves` draws modes**2 numbers per image and direction instead of 784.
    """
    band = _gaussian_band(sigma)
    strengths, vectors = np.linalg.eigh(band @ band.T)
    strongest = np.argsort(strengths)[::-1][:modes]
    along = vectors[:, strongest] * np.sqrt(np.maximum(strengths[strongest], 0))
    # Mode (i, j) x pixel (r, c): along[r, i] * along[c, j], for noise of variance 1/3, uniform noise in [-1, 1]'s.
    return (np.kron(along, along).T / np.sqrt(3)).astype(np.float32)


def distort_batch(x: tf.Tensor, seed: tf.Tensor, **settings) -> tf.Tensor:
    """Elastic distortion (Simard et al., 2003), plus a random rotation, zoom and shift, of each flattened image.

    `x` holds float images in 0-1, shape [n, 784]; `seed` is a stateless seed, shape [2]; `settings` change those of
    DISTORTION. Each image gets a smooth random displacement field with the statistics of Simard's (uniform noise
    blurred with a Gaussian of `sigma` pixels, times `alpha`), drawn from its strongest modes (`field_modes`) at a
    fraction of the cost, and one affine map: a rotation up to `degrees`, a zoom up to `zoom` and a shift up to
    `shift` pixels. Each output pixel then samples the input bilinearly at its moved position, in one pass; outside
    the image counts as 0. Same shape, dtype and 0-1 range.
    """
    unknown = set(settings) - set(DISTORTION)
    if unknown:
        raise ValueError(f"unknown distortion settings {sorted(unknown)}; choose from {sorted(DISTORTION)}.")
    settings = DISTORTION | settings
    moves, weights = random_moves(tf.shape(x)[0], seed, modes=settings["modes"])
    field = settings["alpha"] * tf.tensordot(weights, tf.constant(field_modes(settings["sigma"], settings["modes"])), 1)
    return warp(x, moves, field, degrees=settings["degrees"], zoom=settings["zoom"], shift=settings["shift"])


def random_moves(n, seed: tf.Tensor, *, modes: int) -> tuple[tf.Tensor, tf.Tensor]:
    """The random numbers of `distort_batch` for `n` images: their affine moves ([n, 4], each in [-1, 1]: rotation,
    zoom, shift down, shift right) and the weights of their field's modes ([n, 2, modes**2], standard normal: rows,
    columns)."""
    seeds = tf.random.experimental.stateless_split(seed, 2)
    moves = tf.random.stateless_uniform([n, 4], seeds[0], -1.0, 1.0)
    weights = tf.random.stateless_normal([n, 2, modes * modes], seeds[1])
    return moves, weights


def warp(x, moves, field, *, degrees: float, zoom: float, shift: float) -> tf.Tensor:
    """Images `x` ([n, 784]) moved by a displacement `field` ([n, 2, 784]: rows, columns, in pixels) and by their
    affine moves (see `random_moves`), sampled bilinearly in one pass."""
    return _warp(x, moves, field, tf.constant([degrees * math.pi / 180, zoom, shift], tf.float32))


@tf.function(jit_compile=True)  # XLA fuses the per-pixel arithmetic into a few loops: about 5 times faster on a CPU
def _warp(x: tf.Tensor, moves: tf.Tensor, field: tf.Tensor, limits: tf.Tensor) -> tf.Tensor:
    """Sample each image of x at its pixels' positions moved by `field` ([n, 2, 784]: rows, columns) and by the
    affine map `moves` ([n, 4] in [-1, 1]) scaled by `limits` (largest angle in radians, zoom, shift)."""
    angle = moves[:, :1] * limits[0]
    scale = 1.0 + moves[:, 1:2] * limits[1]
    offset = moves[:, 2:] * limits[2]
    rows, cols = np.divmod(np.arange(PIXELS, dtype=np.float32), SIDE)
    r, c = rows - CENTER, cols - CENTER
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    src_r = cos * r - sin * c + CENTER + offset[:, :1] + field[:, 0]
    src_c = sin * r + cos * c + CENTER + offset[:, 1:] + field[:, 1]
    return sample(x, src_r, src_c)


def sample(x: tf.Tensor, src_r: tf.Tensor, src_c: tf.Tensor) -> tf.Tensor:
    """Each image of x ([n, 784]) read at [n, 784] row and column positions, bilinearly, 0 outside the image and
    clipped to 0-1."""
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


def deskew(x: tf.Tensor) -> tf.Tensor:
    """Flattened images ([n, 784] floats in 0-1) straightened (`model.Deskew`): each one's rows sheared so that
    its ink has no slant, and its centre of ink moved to the middle; sampled bilinearly, 0 outside the image."""
    rows, cols = np.divmod(np.arange(PIXELS, dtype=np.float32), SIDE)
    ink = tf.maximum(tf.reduce_sum(x, axis=1, keepdims=True), 1e-6)  # an empty image: no ink, no slant
    mean_r = tf.reduce_sum(x * rows, axis=1, keepdims=True) / ink
    mean_c = tf.reduce_sum(x * cols, axis=1, keepdims=True) / ink
    var_r = tf.reduce_sum(x * (rows - mean_r) ** 2, axis=1, keepdims=True) / ink
    cov = tf.reduce_sum(x * (rows - mean_r) * (cols - mean_c), axis=1, keepdims=True) / ink
    slant = cov / tf.maximum(var_r, 1e-6)
    # Output pixel (r, c) reads the input at the centre of ink plus (r, c + slant * r), both from the middle.
    return sample(x, mean_r + (rows - CENTER), mean_c + (cols - CENTER) + slant * (rows - CENTER))
