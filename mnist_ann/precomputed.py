"""The benchmark's and the experiments' numbers, shipped inside the package so the notebook shows them anywhere."""

from __future__ import annotations

import json
from importlib import resources

RESULTS_FILE = "precomputed.json"  # package data, written by `make bench` beside benchmarks/results/
EXPERIMENTS_FILE = "experiments.json"  # package data, written by `make experiments`


def precomputed_results() -> dict:
    """The last committed benchmark's date, machine and, per recipe, epochs, runs, accuracy and time."""
    return json.loads(resources.files("mnist_ann").joinpath(RESULTS_FILE).read_text())


def precomputed_experiments() -> dict:
    """The notebook's experiments as last measured: date, machine, seeds and, per experiment, its edit and results."""
    return json.loads(resources.files("mnist_ann").joinpath(EXPERIMENTS_FILE).read_text())
