"""The benchmark's and the experiments' numbers, shipped inside the package so the notebook shows them anywhere."""

from __future__ import annotations

import json
from importlib import resources

RESULTS_FILE = "precomputed.json"  # package data, written by `make bench` beside benchmarks/results/
EXPERIMENTS_FILE = "experiments.json"  # package data, written by `make experiments`
SUMMARIZED = ("test_accuracy", "train_seconds")


def precomputed_results() -> dict:
    """The last committed benchmark's date, machine and, per recipe, epochs, runs, accuracy and time."""
    return json.loads(resources.files("mnist_ann").joinpath(RESULTS_FILE).read_text())


def precomputed_experiments() -> dict:
    """The notebook's experiments as last measured: date, machine, seeds and, per experiment, its edit and results."""
    return json.loads(resources.files("mnist_ann").joinpath(EXPERIMENTS_FILE).read_text())


def summarize_benchmark(result: dict) -> dict:
    """The part of a full benchmark result that the package ships: what the notebook shows, nothing else."""
    recipes = {
        name: {"epochs": s["epochs"], "runs": s["runs"]} | {key: s[key] for key in SUMMARIZED}
        for name, s in result["summary"].items()
        if name in ("seed", "fast", "augmented")
    }
    return {
        "date": result["date"],
        "machine": result["machine"],
        "matmul_gflops": result["matmul_gflops"],
        "recipes": recipes,
    }
