"""The benchmark script: FLOPs counted from the model, the table, and a whole run on tiny data."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import pytest

import mnist_ann
from benchmarks import bench, choose, experiments
from conftest import synthetic_digits
from mnist_ann.precomputed import precomputed_results
from mnist_ann.recipes import RECIPES

ROOT = Path(__file__).resolve().parents[1]


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
        for name in ("original", "fast")
    }
    result = {
        "summary": summary,
        "seeds": 3,
        "speedup_original_over_fast": 9.5,
        "machine": {"cpu_model": "Test CPU", "cpu_count": 2},
        "matmul_gflops": 100.0,
        "matmul_gflops_range": [90.0, 120.0],
        "flops_per_epoch": 23e9,
        "floor_seconds_per_epoch": 0.23,
        "fast_epoch_over_floor": 2.5,
        "fast_epoch_over_floor_range": [2.1, 2.9],
        "inference_images_per_second": {"batch_1": 5000.0, "batch_1000": 900000.0},
    }
    table = bench.format_table(result)
    assert "| `fast` | 10 | 2.0 (1.0–3.0) |" in table
    assert "**9.5×**" in table and "0.23 s per epoch" in table and "**2.5× the floor** (2.1–2.9)" in table
    assert "100 GFLOP/s, the median of measurements before each run (90–120)" in table
    assert "Measured on Test CPU, 2 cores." in table and "Network" not in table


@pytest.mark.full
def test_benchmark_runs_end_to_end_on_tiny_data(tmp_path):
    data = (synthetic_digits(600, seed=1), synthetic_digits(100, seed=2))
    result = bench.benchmark(
        data, seeds=2, slow_seeds=1, frontier=(1, 2), peer_max_iter=2, log=lambda line: None, slow_epochs=2
    )
    assert sorted(result["summary"]) == ["augmented", "fast", "long", "original", "sklearn_mlp"]
    assert result["summary"]["long"]["epochs"] == result["summary"]["augmented"]["epochs"] == 2
    assert [run["epochs"] for run in result["runs"]["frontier"]] == [1, 2]
    assert all(run["matmul_gflops_before"] > 0 for runs in result["runs"].values() for run in runs)
    every_run = [run["matmul_gflops_before"] for runs in result["runs"].values() for run in runs]
    assert result["matmul_gflops_range"] == [min(every_run), max(every_run)]  # the median is of every run's
    assert {"cpu_model", "cpu_count"} <= set(result["machine"])
    assert all(run["epoch_over_floor"] > 0 for run in result["runs"]["fast"])
    assert result["summary"]["fast"]["runs"] == 2 and result["summary"]["augmented"]["runs"] == 1
    assert result["flops_per_epoch"] == bench.flops_per_training_example(mnist_ann.build_model()) * 540
    assert all(rate > 0 for rate in result["inference_images_per_second"].values())
    table = bench.format_table(result)
    assert "| `augmented` |" in table and "| `long` |" in table and "| `long --epochs 2` | 2 |" in table
    assert "1 for `augmented` and `long`, one for each cut of `long`." in table
    figure = tmp_path / "benchmark.png"
    bench.plot_accuracy_against_time(result, figure)
    assert figure.read_bytes().startswith(b"\x89PNG")


def test_the_shipped_summary_is_the_committed_benchmark_summarized():
    committed = json.loads((ROOT / "benchmarks" / "results" / "cpu-2core.json").read_text())
    assert precomputed_results() == bench.summarize_benchmark(committed)
    assert {"original", "fast", "augmented", "long"} <= set(precomputed_results()["recipes"]) <= set(RECIPES)
    assert "matmul_gflops" not in precomputed_results()  # the machine's rate stays in docs/benchmark.md


def test_a_recipe_added_before_the_benchmark_reruns_leaves_the_tables_as_the_results_hold_them(monkeypatch):
    committed = json.loads((ROOT / "benchmarks" / "results" / "cpu-2core.json").read_text())
    before = bench.headline(committed), bench.format_table(committed), bench.summarize_benchmark(committed)
    monkeypatch.setitem(RECIPES, "newer", RECIPES["fast"].changed(name="newer", epochs=3))
    monkeypatch.setattr(bench, "SLOW", [*bench.SLOW, "newer"])
    assert (bench.headline(committed), bench.format_table(committed), bench.summarize_benchmark(committed)) == before
    assert "`newer`" not in before[0]


def test_each_fast_run_is_set_against_the_matmul_rate_measured_just_before_it():
    data = (synthetic_digits(600, seed=1), synthetic_digits(100, seed=2))
    model = mnist_ann.build_model()
    gflop = bench.flops_per_training_example(model) * 540 / 1e9  # one epoch of the 540 training examples
    fast = [{"seconds_per_epoch": 1.0, "matmul_gflops_before": gflop * k} for k in (1, 2, 4)]
    original = [{"seconds_per_epoch": 9.0, "matmul_gflops_before": gflop * 8}]
    floor = bench._floor(data, model, original + fast, fast)
    assert floor["fast_epoch_over_floor"] == 2.0 and floor["fast_epoch_over_floor_range"] == [1.0, 4.0]
    assert floor["matmul_gflops"] == gflop * 3 and floor["matmul_gflops_range"] == [gflop, gflop * 8]


def test_each_recipes_last_candidate_is_the_recipe_and_every_candidate_is_a_recipe_change():
    assert set(choose.CANDIDATES) <= set(RECIPES)
    for name, candidates in choose.CANDIDATES.items():
        *others, last = candidates.values()
        assert RECIPES[name].changed(**last) == RECIPES[name], name
        assert all(RECIPES[name].changed(**other) != RECIPES[name] for other in others), name


@pytest.mark.full
def test_choosing_trains_each_candidate_on_the_validation_set_only():
    tiny = {
        "not deskewed": dict(epochs=2, batch_size=64, deskew=False),
        "deskewed": dict(epochs=2, batch_size=64),
    }
    lines = []
    results = choose.choose("augmented", *synthetic_digits(300, seed=3), seeds=1, candidates=tiny, log=lines.append)
    assert list(results) == list(tiny) and len(lines) == 2 and lines[0].startswith("not deskewed validation accuracy")
    assert results["not deskewed"] != results["deskewed"]  # the candidate's change was trained
    assert all(0.0 <= accuracy <= 1.0 for accuracies in results.values() for accuracy in accuracies)


@pytest.mark.full
def test_experiments_run_every_edit_on_tiny_data_and_report_ranges():
    lines = []
    data = (synthetic_digits(300, seed=3), synthetic_digits(100, seed=4))
    result = experiments.measure(data, seeds=2, log=lines.append)
    assert list(result["experiments"]) == list(experiments.EXPERIMENTS) and len(lines) == len(experiments.EXPERIMENTS)
    for entry in result["experiments"].values():
        accuracy = entry["test_accuracy"]
        assert len(accuracy["runs"]) == 2 and accuracy["min"] <= accuracy["median"] <= accuracy["max"]
    assert result["experiments"]["the notebook as it is"]["test_accuracy"]["median"] > 0.5  # it learned
    assert {"cpu_model", "cpu_count", "tensorflow"} <= set(result["machine"])


def test_the_shipped_experiments_cover_every_edit_over_five_seeds():
    shipped = mnist_ann.precomputed_experiments()
    assert shipped["seeds"] >= 5 and list(shipped["experiments"]) == list(experiments.EXPERIMENTS)
    for name, entry in shipped["experiments"].items():
        assert entry["edit"] == experiments.EXPERIMENTS[name].edit
        assert len(entry["test_accuracy"]["runs"]) == shipped["seeds"]
