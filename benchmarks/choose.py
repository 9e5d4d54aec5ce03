"""How the recipes were chosen: each recipe's candidates, changes to it made by `Recipe.changed`, trained on the full
data and judged on the validation set only; the last candidate of each is the recipe itself.

    python -m benchmarks.choose fast --seeds 5          (one line per candidate; the test set is never read)
    python -m benchmarks.choose augmented --seeds 3
    python -m benchmarks.choose long --seeds 3

Candidates that needed settings the recipes no longer have (label smoothing, a convolutional network to learn from,
other distortion strengths) are in docs/benchmark.md, with their numbers and the commit whose choosers ran them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from mnist_ann.data import load_mnist, training_split
from mnist_ann.quiet import quiet_tensorflow
from mnist_ann.recipes import get_recipe

CANDIDATES = {
    # Before batches of 1024, then the epochs and the warmup.
    "fast": {
        "batch 256, lr 4e-3, 7 epochs": dict(batch_size=256, learning_rate=4e-3, epochs=7, warmup_epochs=0),
        "batch 512, lr 8e-3, 7 epochs": dict(batch_size=512, learning_rate=8e-3, epochs=7, warmup_epochs=0),
        "batch 1024, lr 1e-2, 10 epochs": dict(epochs=10, warmup_epochs=0),
        "batch 1024, lr 1e-2, 12 epochs": dict(warmup_epochs=0),
        "batch 1024, lr 1e-2, 12 epochs, 1 warmup epoch": dict(),
    },
    # The recipe before deskewing (100 epochs, 84 s in the benchmark), then deskewed for fewer epochs, kept under a
    # minute on the benchmark's machine.
    "augmented": {
        "not deskewed, 100 epochs": dict(deskew=False, epochs=100),
        "deskewed, 50 epochs": dict(epochs=50),
        "deskewed, 60 epochs": dict(epochs=60),
        "deskewed, 55 epochs": dict(),
    },
    # `augmented` trained longer, within ten minutes a run.
    "long": {
        "200 epochs": dict(epochs=200),
        "400 epochs": dict(),
    },
}
SEEDS = {"fast": 5, "augmented": 3, "long": 3}


def candidate_line(label: str, accuracies: list[float], seconds: list[float], width: int) -> str:
    """A candidate's validation accuracies over its seeds, median (range), and its median training time."""
    return (
        f"{label:<{width}} validation accuracy median {statistics.median(accuracies):.4f} "
        f"({min(accuracies):.4f}-{max(accuracies):.4f}), {statistics.median(seconds):.1f} s"
    )


def choose(recipe: str, x_train, y_train, seeds: int, candidates: dict | None = None, log=print) -> dict:
    """Train each candidate (a change to `recipe`; its own CANDIDATES by default) for `seeds` seeds on the training
    images; log and return each one's final validation accuracies."""
    from mnist_ann.model import build_model
    from mnist_ann.training import fit, set_seed

    (x_fit, y_fit), validation = training_split(x_train, y_train)
    candidates = CANDIDATES[recipe] if candidates is None else candidates
    width = max(map(len, candidates))
    results = {}
    for label, change in candidates.items():
        changed = get_recipe(recipe).changed(**change)
        accuracies, seconds = [], []
        for seed in range(seeds):
            set_seed(seed)
            model = build_model(deskew=changed.deskew)
            start = time.perf_counter()
            history = fit(model, (x_fit, y_fit), validation, changed, seed=seed, verbose=0)
            seconds.append(time.perf_counter() - start)
            accuracies.append(history.history["val_accuracy"][-1])
        log(candidate_line(label, accuracies, seconds, width))
        results[label] = accuracies
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe", choices=sorted(CANDIDATES), help="the recipe whose candidates to train")
    parser.add_argument("--seeds", type=int, help="seeds per candidate (default: 5 for fast, 3 for the others)")
    parser.add_argument("--data-dir", help="folder with the MNIST files (default: $MNIST_ANN_DATA_DIR, else the cache)")
    args = parser.parse_args(argv)
    quiet_tensorflow()
    (x_train, y_train), _ = load_mnist(args.data_dir)  # the test set comes with them, and is never read
    choose(args.recipe, x_train, y_train, args.seeds or SEEDS[args.recipe])
    return 0


if __name__ == "__main__":
    sys.exit(main())
