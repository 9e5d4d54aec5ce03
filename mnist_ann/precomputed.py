"""The benchmark's numbers, shipped inside the package so the notebook can show them wherever it runs."""

from __future__ import annotations

import json
from importlib import resources

RESULTS_FILE = "precomputed.json"  # package data, written by `make bench` beside benchmarks/results/
SUMMARIZED = ("test_accuracy", "train_seconds")


def precomputed_results() -> dict:
    """The last committed benchmark's date, machine and, per recipe, epochs, runs, accuracy and time."""
    return json.loads(resources.files("mnist_ann").joinpath(RESULTS_FILE).read_text())


def summarize_benchmark(result: dict) -> dict:
    """The part of a full benchmark result that the package ships: what the notebook shows, nothing else."""
    recipes = {
        name: {"epochs": s["epochs"], "runs": s["runs"]} | {key: s[key] for key in SUMMARIZED}
        for name, s in result["summary"].items()
        if name in ("seed", "fast", "augmented")
    }
    return {"date": result["date"], "machine": result["machine"], "recipes": recipes}
