"""What each piece of the training engine costs: full `fast` runs with one piece taken away at a time, alternated,
and `augmented` on the engine against plain `model.fit` with `steps_per_execution`.

    python -m benchmarks.engine --rounds 3 --json benchmarks/results/engine-cpu-2core.json   (what `make engine` runs)

Every variant trains its recipe on the full training split (seed 0) and gets the same batches; the variants run in
turn, round after round, so a machine whose speed drifts affects them alike. Reported: the median training time of
each, and its difference from `Network` as shipped on the same recipe.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

from mnist_ann.data import load_mnist, training_split
from mnist_ann.files import write_text_atomically
from mnist_ann.quiet import quiet_tensorflow
from mnist_ann.recipes import get_recipe

VARIANTS = {
    "Network as shipped": "fit(batches.whole_epochs(12, validation), steps_per_epoch=1)",
    "validation by fit's validation_data": "fit(batches.whole_epochs(12), validation_data=...): Keras's evaluate",
    "variables made in the first step": "keras.Sequential.compile: TensorFlow traces the epoch's step twice",
    "plain Keras, model.fit": "keras.Sequential, fit(batches.dataset(12), steps_per_epoch=53)",
    "plain Keras, steps_per_execution": "the same with compile(steps_per_execution=53): 53 batches per call",
    "augmented: Network as shipped": "augmented, fit(batches.whole_epochs(100, validation), steps_per_epoch=1)",
    "augmented: plain Keras, steps_per_execution": "augmented, keras.Sequential, compile(steps_per_execution=422)",
}
AUGMENTED = "augmented: "  # variants of the `augmented` recipe; the others train `fast`


def train_variant(variant: str, data, seed: int = 0) -> float:
    """Train `fast` (or `augmented`) with one piece of the engine changed; return the seconds `fit` took."""
    import keras

    from mnist_ann.epochs import EpochBatches, Network
    from mnist_ann.model import build_model, compile_model
    from mnist_ann.training import learning_rate_schedule, set_seed

    recipe = get_recipe("augmented" if variant.startswith(AUGMENTED) else "fast")
    variant = variant.removeprefix(AUGMENTED)
    (x_fit, y_fit), (x_val, y_val) = data
    set_seed(seed)
    plain = variant.startswith("plain Keras")
    model = build_model(model_class=keras.Sequential if plain else Network)
    batches = EpochBatches(x_fit, y_fit, recipe.batch_size, seed=seed, augment=recipe.augment)
    schedule = learning_rate_schedule(recipe, len(x_fit))
    if variant == "variables made in the first step":
        keras.Sequential.compile(
            model, optimizer=keras.optimizers.Adam(schedule), loss="categorical_crossentropy", metrics=["accuracy"]
        )
    elif variant == "plain Keras, steps_per_execution":
        compile_model(model, schedule, steps_per_execution=batches.steps)
    else:
        compile_model(model, schedule)
    fit = dict(epochs=recipe.epochs, shuffle=False, verbose=0)
    validation = dict(validation_data=(x_val, y_val), validation_batch_size=len(x_val))  # the notebook's
    start = time.perf_counter()
    if plain:
        model.fit(batches.dataset(recipe.epochs), steps_per_epoch=batches.steps, **validation, **fit)
    elif variant == "validation by fit's validation_data":
        model.fit(batches.whole_epochs(recipe.epochs), steps_per_epoch=1, **validation, **fit)
    else:
        model.fit(batches.whole_epochs(recipe.epochs, (x_val, y_val)), steps_per_epoch=1, **fit)
    return time.perf_counter() - start


def measure(data, rounds: int, log=print) -> dict:
    """Every variant `rounds` times, in turn; the medians and each one's cost over `Network` as shipped."""
    from benchmarks.bench import describe_machine, matmul_gflops

    times = {name: [] for name in VARIANTS}
    rates = []
    for round_ in range(rounds):
        rates.append(matmul_gflops())
        for name in VARIANTS if round_ % 2 == 0 else reversed(VARIANTS):
            times[name].append(train_variant(name, data))
            log(f"  round {round_ + 1}: {name:<36} {times[name][-1]:5.2f} s")
    base = {
        recipe: statistics.median(times[f"{recipe}Network as shipped"])
        for recipe in ("", AUGMENTED)
        if times.get(f"{recipe}Network as shipped")
    }
    variants = {
        name: {
            "how": VARIANTS[name],
            "seconds": runs,
            "median": statistics.median(runs),
            "over_shipped": statistics.median(runs) - base[AUGMENTED if name.startswith(AUGMENTED) else ""],
        }
        for name, runs in times.items()
    }
    return describe_machine() | {"rounds": rounds, "matmul_gflops": statistics.median(rates), "variants": variants}


def format_table(result: dict) -> str:
    rows = [
        "| engine | how | training time, median (s) | cost over `Network` (s) | cost over `Network` |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, v in result["variants"].items():
        share = v["over_shipped"] / (v["median"] - v["over_shipped"])
        rows.append(f"| {name} | {v['how']} | {v['median']:.2f} | {v['over_shipped']:+.2f} | {share:+.0%} |")
    machine = result["machine"]
    rows += [
        "",
        f"`fast` (and `augmented` where named), seed 0, median of {result['rounds']} rounds, "
        f"on {machine['cpu_model']}, {machine['cpu_count']} cores, "
        f"{result['matmul_gflops']:.0f} GFLOP/s matrix multiply.",
    ]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="runs of each variant (default: %(default)s)")
    parser.add_argument("--data-dir", help="folder with the MNIST files (default: $MNIST_ANN_DATA_DIR, else the cache)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON (default: not written)")
    args = parser.parse_args(argv)
    quiet_tensorflow()
    (x_train, y_train), _ = load_mnist(args.data_dir)
    result = measure(training_split(x_train, y_train), args.rounds)
    table = format_table(result)
    print(table)
    if args.json:
        write_text_atomically(args.json, json.dumps(result | {"table": table}, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
