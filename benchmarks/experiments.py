"""The notebook's "experiments to try", measured: each edit trained over several seeds on the full data.

    python -m benchmarks.experiments --seeds 5 --json mnist_ann/experiments.json    (what `make experiments` runs)

Each experiment changes one thing in the notebook as it is and reports the test accuracy it reaches, so that a
learner who makes the same edit knows what to expect, and how much of a difference is only seed-to-seed noise.
The file it writes ships inside mnist_ann, and the notebook prints it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time

from benchmarks.bench import describe_machine
from mnist_ann.data import load_mnist, preprocess, training_split
from mnist_ann.evaluation import EVAL_BATCH, scores
from mnist_ann.files import write_text_atomically
from mnist_ann.model import HIDDEN
from mnist_ann.quiet import quiet_tensorflow
from mnist_ann.recipes import DEFAULT_RECIPE, get_recipe


@dataclasses.dataclass(frozen=True)
class Experiment:
    """One edit to the notebook: what to change there, and what it changes in training."""

    edit: str
    hidden: tuple[int, ...] = HIDDEN
    activation: str | None = "relu"
    scale: bool = True
    augment: str | None = None  # None: the recipe's
    epochs: int | None = None  # None: the recipe's
    learning_rate: float | None = None  # None: the recipe's
    schedule: str | None = None  # None: the recipe's; "constant": no warmup and no decay
    batch_size: int | None = None  # None: the recipe's
    train_size: int | None = None  # train on the first this many training images only; None: all 54,000
    recipe: str = DEFAULT_RECIPE


EXPERIMENTS = {
    "the notebook as it is": Experiment("nothing"),
    "the quickstart's settings": Experiment(
        "a constant learning rate and no shifts: the quickstart fit's settings", schedule="constant", augment="none"
    ),
    "no hidden layers": Experiment("delete the two hidden layers' lines from build_model", hidden=()),
    "no ReLU": Experiment('activation="relu" -> activation=None, in both hidden layers', activation=None),
    "64 units in the first hidden layer": Experiment("HIDDEN_1 = 128 -> HIDDEN_1 = 64", hidden=(64, HIDDEN[1])),
    "no scaling to 0-1": Experiment(
        'x_train.astype("float32") * (1 / 255) -> x_train.astype("float32"), same for x_test', scale=False
    ),
    "no augmentation": Experiment('augment=recipe.augment -> augment="none" in the training cell', augment="none"),
    "half the epochs": Experiment("EPOCHS = None -> EPOCHS = 6", epochs=6),
    "learning rate x10 (0.1)": Experiment("LEARNING_RATE = None -> LEARNING_RATE = 0.1", learning_rate=0.1),
    "learning rate x100 (1.0)": Experiment("LEARNING_RATE = None -> LEARNING_RATE = 1.0", learning_rate=1.0),
    "learning rate /10 (0.001)": Experiment("LEARNING_RATE = None -> LEARNING_RATE = 0.001", learning_rate=0.001),
    "1,000 training images, 50 epochs": Experiment(
        "the overfitting run of section 6: x_fit[:1000], batches of 100, no shifts, 50 epochs",
        train_size=1000,
        batch_size=100,
        augment="none",
        epochs=50,
    ),
    "the original recipe": Experiment('RECIPE = "fast" -> RECIPE = "original"', recipe="original"),
}


def run(experiment: Experiment, data, seed: int) -> tuple[float, float, list[float]]:
    """Train the notebook's network with one edit for one seed; its test accuracy, training seconds and validation
    accuracy after each epoch."""
    from mnist_ann.model import build_model
    from mnist_ann.training import fit, set_seed

    (x_train, y_train), (x_test, y_test) = data
    fit_split, val_split = training_split(x_train, y_train, scale=experiment.scale)
    recipe = get_recipe(experiment.recipe).changed(
        augment=experiment.augment,
        epochs=experiment.epochs,
        learning_rate=experiment.learning_rate,
        batch_size=experiment.batch_size,
        schedule=experiment.schedule,
        warmup_epochs=0 if experiment.schedule == "constant" else None,
    )
    fit_split = tuple(part[: experiment.train_size] for part in fit_split)
    set_seed(seed)
    model = build_model(experiment.hidden, experiment.activation)
    start = time.perf_counter()
    history = fit(model, fit_split, val_split, recipe, seed=seed, verbose=0)
    seconds = time.perf_counter() - start
    x_test = preprocess(x_test, scale=experiment.scale)
    _, accuracy = scores(model.predict(x_test, batch_size=EVAL_BATCH, verbose=0), y_test)
    return accuracy, seconds, [round(value, 4) for value in history.history["val_accuracy"]]


def measure(data, seeds: int, log=print) -> dict:
    """Every experiment for seeds 0 .. seeds-1: the date, the machine, and each one's accuracies and times."""
    results = {}
    for name, experiment in EXPERIMENTS.items():
        accuracies, seconds, curves = zip(*(run(experiment, data, seed) for seed in range(seeds)), strict=True)
        results[name] = {
            "edit": experiment.edit,
            "test_accuracy": {
                "median": statistics.median(accuracies),
                "min": min(accuracies),
                "max": max(accuracies),
                "runs": list(accuracies),
            },
            "train_seconds": {"median": statistics.median(seconds), "min": min(seconds), "max": max(seconds)},
            "val_accuracy_curves": list(curves),  # one per seed: the validation accuracy after each epoch
        }
        acc = results[name]["test_accuracy"]
        log(f"{name:<36} test accuracy median {acc['median']:.4f} ({acc['min']:.4f}-{acc['max']:.4f})")
    return describe_machine() | {"seeds": seeds, "experiments": results}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds per experiment (default: %(default)s)")
    parser.add_argument("--json", metavar="PATH", help="write the results here as JSON")
    parser.add_argument("--data-dir", help="folder with the MNIST files (default: $MNIST_ANN_DATA_DIR, else the cache)")
    args = parser.parse_args(argv)
    quiet_tensorflow()
    result = measure(load_mnist(args.data_dir), args.seeds)
    if args.json:
        write_text_atomically(args.json, json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
