"""What the recipe searches (`choose_fast`, `choose_augmented`) share: one line per candidate, and the command line
that runs a search on the training images; the test set is loaded with them by `load_mnist`, and never read."""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable

from mnist_ann.data import load_mnist
from mnist_ann.quiet import quiet_tensorflow


def candidate_line(label: str, accuracies: list[float], seconds: list[float], width: int) -> str:
    """A candidate's validation accuracies over its seeds, median (range), and its median training time."""
    return (
        f"{label:<{width}} validation accuracy median {statistics.median(accuracies):.4f} "
        f"({min(accuracies):.4f}-{max(accuracies):.4f}), {statistics.median(seconds):.1f} s"
    )


def search_main(choose: Callable, description: str, default_seeds: int, argv: list[str] | None = None) -> int:
    """Parse --seeds and --data-dir, load MNIST and run `choose(x_train, y_train, seeds)`; the exit status."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seeds", type=int, default=default_seeds, help="seeds per candidate (default: %(default)s)")
    parser.add_argument("--data-dir", help="folder with the MNIST files (default: $MNIST_ANN_DATA_DIR, else the cache)")
    args = parser.parse_args(argv)
    quiet_tensorflow()
    (x_train, y_train), _ = load_mnist(args.data_dir)
    choose(x_train, y_train, args.seeds)
    return 0
