"""On-the-fly augmentation: small random rotations, scalings and shifts of the 28x28 digits."""

from __future__ import annotations

import math

import tensorflow as tf

MAX_DEGREES = 12.0
MAX_SCALE = 0.12  # zoom by up to +-12%
MAX_SHIFT = 2.5  # pixels, each direction
SIDE = 28  # the images are SIDE x SIDE pixels
CENTER = (SIDE - 1) / 2  # the middle of the image in pixel coordinates: the pivot of rotations and zooms


def augment_batch(x: tf.Tensor, seed: tf.Tensor, strength: float = 1.0) -> tf.Tensor:
    """Randomly rotate, scale and shift a batch of flattened 28x28 images; same shape, dtype and 0-1 range.

    `strength` scales every limit (1.0: up to 12 degrees, 12% zoom and 2.5 pixels of shift).
    One affine map per image (TensorFlow's projective-transform op, bilinear), drawn with stateless
    random ops from `seed` (shape [2]) so that a seeded run repeats exactly.
    """
    n = tf.shape(x)[0]
    seeds = tf.random.experimental.stateless_split(seed, 4)
    angle = tf.random.stateless_uniform([n], seeds[0], -1.0, 1.0) * (strength * MAX_DEGREES * math.pi / 180)
    scale = 1.0 + strength * tf.random.stateless_uniform([n], seeds[1], -MAX_SCALE, MAX_SCALE)
    dx = strength * tf.random.stateless_uniform([n], seeds[2], -MAX_SHIFT, MAX_SHIFT)
    dy = strength * tf.random.stateless_uniform([n], seeds[3], -MAX_SHIFT, MAX_SHIFT)
    # The op maps each output pixel back to an input pixel: input = R(-angle) (output - c) / scale + c - shift.
    c = CENTER
    a0, a1 = tf.cos(angle) / scale, -tf.sin(angle) / scale
    b0, b1 = tf.sin(angle) / scale, tf.cos(angle) / scale
    a2 = c - a0 * c - a1 * c - dx
    b2 = c - b0 * c - b1 * c - dy
    zeros = tf.zeros_like(a0)
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
    images = tf.reshape(x, [n, SIDE, SIDE, 1])
    moved = tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=[SIDE, SIDE],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
    return tf.clip_by_value(tf.reshape(moved, [n, SIDE * SIDE]), 0.0, 1.0)
