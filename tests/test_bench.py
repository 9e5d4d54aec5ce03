"""The benchmark script: FLOPs counted from the model, the table, and a whole run on tiny data."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import keras

import mnist_ann
from conftest import synthetic_digits
from mnist_ann.precomputed import precomputed_results, summarize_benchmark

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("bench", ROOT / "benchmarks" / "bench.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def test_flops_per_example_are_counted_from_the_model():
    forward = 2 * (784 * 128 + 128 * 32 + 32 * 10)
    assert bench.flops_per_training_example(mnist_ann.build_model()) == 2 * forward + 2 * (128 * 32 + 32 * 10)
    # ...from the model it is given, not from numbers written down beside it
    wider = keras.Sequential([keras.Input((784,)), keras.layers.Dense(256), keras.layers.Dense(10)])
    assert bench.flops_per_training_example(wider) == 2 * (2 * (784 * 256 + 256 * 10) + 256 * 10)


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
    assert result["flops_per_epoch"] == bench.flops_per_training_example(mnist_ann.build_model()) * 540
    assert all(rate > 0 for rate in result["inference_images_per_second"].values())
    assert "| `augmented` |" in bench.format_table(result)


def test_the_shipped_summary_is_the_committed_benchmark_summarized():
    committed = json.loads((ROOT / "benchmarks" / "results" / "cpu-2core.json").read_text())
    assert precomputed_results() == summarize_benchmark(committed)
    assert set(precomputed_results()["recipes"]) == {"seed", "fast", "augmented"}
