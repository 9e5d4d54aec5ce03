"""Augmentation keeps shape, dtype and range and really moves the digits; the benchmark's arithmetic."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

import mnist_ann
from conftest import synthetic_digits
from mnist_ann import bench
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


def test_flops_per_example_counts_forward_and_backward():
    forward = 2 * (784 * 128 + 128 * 32 + 32 * 10)
    assert bench.flops_per_training_example() == 2 * forward + 2 * (128 * 32 + 32 * 10)


def test_table_reports_medians_ranges_and_ratios():
    stat = {"median": 2.0, "min": 1.0, "max": 3.0}
    summary = {
        name: {
            "epochs": 10,
            "train_seconds": stat,
            "seconds_per_epoch": stat,
            "test_accuracy": stat,
            "peak_rss_mb": stat,
        }
        for name in ("seed", "fast")
    }
    result = {
        "summary": summary,
        "seeds": 3,
        "speedup_seed_over_fast": 9.5,
        "matmul_gflops": 100.0,
        "flops_per_epoch": 23e9,
        "floor_seconds_per_epoch": 0.23,
        "fast_epoch_over_floor": 2.5,
        "inference_images_per_second": {"batch_1": 5000.0, "batch_1000": 900000.0},
    }
    table = bench.format_table(result)
    assert "| `fast` | 10 | 2.0 (1.0–3.0) |" in table
    assert "**9.5×**" in table and "0.23 s per epoch" in table and "2.5× the floor" in table


def test_benchmark_runs_end_to_end_on_tiny_data():
    data = (synthetic_digits(600, seed=1), synthetic_digits(100, seed=2))
    result = bench.benchmark(data, seeds=2, augmented_seeds=1, peer_max_iter=2, log=lambda line: None)
    assert sorted(result["summary"]) == ["augmented", "fast", "seed", "sklearn_mlp"]
    assert result["summary"]["fast"]["runs"] == 2 and result["summary"]["augmented"]["runs"] == 1
    assert result["flops_per_epoch"] == bench.flops_per_training_example() * 540
    assert all(rate > 0 for rate in result["inference_images_per_second"].values())
    assert "| `augmented` |" in bench.format_table(result)
