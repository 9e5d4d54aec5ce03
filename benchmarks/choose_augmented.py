"""How the `augmented` recipe was chosen: candidate preparations and epochs trained on the full data, judged on the
validation set only, with `augmented` kept under a minute on the benchmark's machine.

    python -m benchmarks.choose_augmented --seeds 3        (one line per candidate; the test set is never read)

Every candidate is the `augmented` recipe changed by `Recipe.changed`: its batches, learning rate and epochs, its
deskewing, or the settings of its elastic distortion (`mnist_ann.augment.distort_batch`: Simard's field, drawn from its
strongest modes). `benchmarks.choose_long` does the same for `long`.
"""

from __future__ import annotations

import sys
import time

from benchmarks.search import candidate_line, search_main
from mnist_ann.data import training_split
from mnist_ann.recipes import get_recipe

# The recipe before deskewing (100 epochs, 84 s in the benchmark), then deskewed for fewer epochs; the last is
# `augmented`. The candidates of the chooser before this one (batch 256, another strength) are in docs/benchmark.md.
CANDIDATES = {
    "not deskewed, 100 epochs": dict(deskew=False, epochs=100),
    "deskewed, 50 epochs": dict(epochs=50),
    "deskewed, 60 epochs": dict(epochs=60),
    "deskewed, 55 epochs": dict(epochs=55),
}


def train_candidate(candidate: dict, data, seed: int, base: str = "augmented"):
    """Train one candidate (a change to the recipe `base`) for one seed; its history and seconds."""
    from mnist_ann.model import build_model
    from mnist_ann.training import fit, set_seed

    recipe = get_recipe(base).changed(**candidate)
    (x_fit, y_fit), validation = data
    set_seed(seed)
    model = build_model(deskew=recipe.deskew)
    start = time.perf_counter()
    history = fit(model, (x_fit, y_fit), validation, recipe, seed=seed, verbose=0)
    return history.history, time.perf_counter() - start


def choose(
    x_train, y_train, seeds: int, candidates=CANDIDATES, log=print, base: str = "augmented"
) -> dict[str, list[float]]:
    """Train every candidate (changes to `base`) for `seeds` seeds; log and return each one's final validation
    accuracies."""
    data = training_split(x_train, y_train)
    results = {}
    for label, candidate in candidates.items():
        accuracies, seconds = [], []
        for seed in range(seeds):
            history, elapsed = train_candidate(candidate, data, seed, base)
            accuracies.append(history["val_accuracy"][-1])
            seconds.append(elapsed)
        log(candidate_line(label, accuracies, seconds, width=36))
        results[label] = accuracies
    return results


def main(argv: list[str] | None = None) -> int:
    return search_main(choose, __doc__.splitlines()[0], default_seeds=3, argv=argv)


if __name__ == "__main__":
    sys.exit(main())
