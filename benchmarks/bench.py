"""Benchmark: the `original` and `fast` recipes, alternated in one run,
the arithmetic floor, the slower recipes, inference, a peer, and a figure of test accuracy against training time.

    python -m benchmarks.bench --seeds 5 --slow-seeds 3 \
        --json benchmarks/results/cpu-2core.json --summary mnist_ann/precomputed.json \
        --figure images/benchmark.png        (what `make bench` runs)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

import numpy as np

from mnist_ann.data import load_mnist, preprocess, split_validation
from mnist_ann.evaluation import evaluate
from mnist_ann.files import write_text_atomically
from mnist_ann.quiet import quiet_tensorflow
from mnist_ann.recipes import RECIPES, get_recipe

FLOPS_PER_MULTIPLY_ADD = 2
MATMUL_SHAPE = (256, 784, 1024)  # the float32 product whose rate stands for the machine's sustained matmul rate
INFERENCE_BATCHES = (1, 1000)
SLOW = [name for name in RECIPES if name not in ("original", "fast")]  # the recipes trained for fewer seeds
FRONTIER = SLOW[-1]  # the recipe the frontier cuts short


def flops_per_training_example(model) -> int:
    """FLOPs one example costs a training step of `model`, counted from its Dense layers' kernels.

    Forward: one multiply-add per weight. Backward: one per weight for the weight gradients, and one per
    weight for the input gradients of every layer but the first (the pixels need no gradient).
    """
    kernels = [layer.kernel.shape for layer in model.layers if hasattr(layer, "kernel")]
    weights = [int(rows) * int(cols) for rows, cols in kernels]
    return FLOPS_PER_MULTIPLY_ADD * (2 * sum(weights) + sum(weights[1:]))


def _peak_rss_reset() -> None:
    try:  # Linux: writing 5 resets the peak-RSS counter (VmHWM) of this process
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _peak_rss_mb() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def matmul_gflops(repeats: int = 30) -> float:
    """Median float32 matrix-multiply rate of this machine, in GFLOP/s, on a 256x784 @ 784x1024 product."""
    import tensorflow as tf

    rows, inner, cols = MATMUL_SHAPE
    a = tf.random.stateless_uniform((rows, inner), seed=[1, 2])
    b = tf.random.stateless_uniform((inner, cols), seed=[3, 4])
    product = tf.function(lambda a, b: tf.reduce_sum(tf.matmul(a, b)))
    product(a, b).numpy()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        product(a, b).numpy()
        times.append(time.perf_counter() - start)
    return FLOPS_PER_MULTIPLY_ADD * rows * inner * cols / statistics.median(times) / 1e9


def inference_rate(model, x: np.ndarray, batch: int, seconds: float = 1.0) -> float:
    """Images per second through the model's compiled forward pass at a given batch size (median of calls)."""
    import tensorflow as tf

    forward = tf.function(lambda v: model(v, training=False))
    inputs = tf.constant(x[:batch])
    forward(inputs).numpy()
    times, deadline = [], time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(times) < 5:
        start = time.perf_counter()
        forward(inputs).numpy()
        times.append(time.perf_counter() - start)
    return batch / statistics.median(times)


def run_recipe(data, name: str, seed: int, epochs: int | None = None):
    """Train one recipe on the full data for one seed (for `epochs`, default the recipe's): its time, accuracy and
    peak memory, and the model."""
    from mnist_ann.training import train

    recipe = get_recipe(name).changed(epochs=epochs)  # a schedule fitted to the epochs run
    (x_train, y_train), (x_test, y_test) = data
    _peak_rss_reset()
    model, _, seconds = train(x_train, y_train, recipe, seed=seed, verbose=0)
    loss, accuracy = evaluate(model, x_test, y_test)
    result = {
        "recipe": name,
        "seed": seed,
        "epochs": recipe.epochs,
        "train_seconds": seconds,
        "seconds_per_epoch": seconds / recipe.epochs,
        "test_accuracy": accuracy,
        "test_loss": loss,
        "peak_rss_mb": _peak_rss_mb(),
    }
    return result, model


def run_peer(data, seed: int, max_iter: int) -> dict:
    """scikit-learn's MLPClassifier with the same hidden layers (128, 32), Adam, same training split."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    (x_train, y_train), (x_test, y_test) = data
    (x_fit, y_fit), _ = split_validation(preprocess(x_train), y_train)
    peer = MLPClassifier(hidden_layer_sizes=(128, 32), max_iter=max_iter, random_state=seed)
    _peak_rss_reset()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        peer.fit(x_fit, y_fit)
    seconds = time.perf_counter() - start
    accuracy = peer.score(preprocess(x_test), y_test)
    return {
        "recipe": f"sklearn MLPClassifier(128, 32), {peer.n_iter_} epochs",
        "seed": seed,
        "epochs": peer.n_iter_,
        "train_seconds": seconds,
        "seconds_per_epoch": seconds / peer.n_iter_,
        "test_accuracy": float(accuracy),
        "test_loss": None,
        "peak_rss_mb": _peak_rss_mb(),
    }


def summarize(runs: list[dict]) -> dict:
    """Median and min-max of each measured quantity over seeds."""
    out = {"runs": len(runs)}
    for key in ("train_seconds", "seconds_per_epoch", "test_accuracy", "peak_rss_mb", "matmul_gflops_before"):
        values = [r[key] for r in runs]
        out[key] = {"median": statistics.median(values), "min": min(values), "max": max(values)}
    out["epochs"] = runs[0]["epochs"]
    return out


def benchmark(
    data, seeds: int = 5, slow_seeds: int = 0, frontier=(), peer_max_iter: int = 30, log=print, slow_epochs=None
) -> dict:
    """Run everything and return one JSON-ready dict: `original` and `fast` for `seeds` seeds, alternating, and each
    slower recipe (SLOW) for `slow_seeds` (for `slow_epochs` in place of their own, if given). `frontier`: epoch
    counts to train FRONTIER for, once each (seed 0), to show what shorter runs of it give."""
    runs = {"original": [], "fast": []}
    fast_model = None

    def record(name: str, seed: int, epochs: int | None = None, key: str | None = None):
        gflops = matmul_gflops()  # the machine's matmul rate just before this run: its own floor
        result, model = run_recipe(data, name, seed, epochs)
        runs.setdefault(key or name, []).append(result | {"matmul_gflops_before": gflops})
        log(
            f"  {key or name:>16} seed {seed}, {result['epochs']:3} epochs: {result['train_seconds']:6.1f} s, "
            f"test accuracy {result['test_accuracy']:.4f}, peak {result['peak_rss_mb']:.0f} MB"
        )
        return model

    for seed in range(seeds):
        for name in ("original", "fast") if seed % 2 == 0 else ("fast", "original"):  # drift hits both
            model = record(name, seed)
            fast_model = model if name == "fast" else fast_model  # inference is timed on a trained `fast` model
    for name in SLOW:
        for seed in range(slow_seeds):
            record(name, seed, slow_epochs)
    for epochs in frontier:
        record(FRONTIER, 0, epochs, key="frontier")
    gflops = matmul_gflops()
    peer = run_peer(data, 0, peer_max_iter) | {"matmul_gflops_before": gflops}
    log(f"  sklearn peer: {peer['train_seconds']:.1f} s, test accuracy {peer['test_accuracy']:.4f}")
    runs["sklearn_mlp"] = [peer]
    summary = {name: summarize(r) for name, r in runs.items() if name != "frontier"}
    summary["sklearn_mlp"] |= {"recipe": peer["recipe"]}
    return describe_machine() | {
        "seeds": seeds,
        "summary": summary,
        "speedup_original_over_fast": summary["original"]["train_seconds"]["median"]
        / summary["fast"]["train_seconds"]["median"],
        **_floor(data, fast_model, [run for r in runs.values() for run in r], runs["fast"]),
        "inference_images_per_second": {
            f"batch_{batch}": inference_rate(fast_model, preprocess(data[0][0][:1000]), batch)
            for batch in INFERENCE_BATCHES
        },
        "runs": runs,
    }


def cpu_model() -> str:
    """The CPU's model name as the operating system reports it, or the architecture where it does not."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe_machine() -> dict:
    """Today's date and the machine: CPU model and count, Python, TensorFlow and Keras versions."""
    import keras
    import tensorflow as tf

    return {
        "date": time.strftime("%Y-%m-%d"),
        "machine": {
            "cpu_model": cpu_model(),
            "cpu_count": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
        },
    }


def _floor(data, model, all_runs: list[dict], fast_runs: list[dict]) -> dict:
    """The arithmetic floor of one epoch: the model's FLOPs over the training split at this machine's matmul rate.

    The rate is measured before every run, since a shared machine's speed drifts; the rate reported is the median
    of all those measurements. Each `fast` run is set against the rate measured just before it, and the ratio
    reported is the median over the runs.
    """
    (x_train, y_train), _ = data
    train_examples = len(split_validation(x_train, y_train)[0][0])
    flops_per_epoch = flops_per_training_example(model) * train_examples
    rates = [run["matmul_gflops_before"] for run in all_runs]
    gflops = statistics.median(rates)
    ratios = [run["seconds_per_epoch"] * run["matmul_gflops_before"] * 1e9 / flops_per_epoch for run in fast_runs]
    for run, ratio in zip(fast_runs, ratios, strict=True):
        run["epoch_over_floor"] = ratio
    return {
        "matmul_gflops": gflops,
        "matmul_gflops_range": [min(rates), max(rates)],
        "flops_per_epoch": flops_per_epoch,
        "floor_seconds_per_epoch": flops_per_epoch / (gflops * 1e9),
        "fast_epoch_over_floor": statistics.median(ratios),
        "fast_epoch_over_floor_range": [min(ratios), max(ratios)],
    }


def format_table(result: dict) -> str:
    """The benchmark as a Markdown table plus the floor and inference lines."""
    rows = [
        "| recipe | epochs | train time (s) | s / epoch | test accuracy | peak RSS (MB) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]

    def cell(stat, fmt):
        if stat["min"] == stat["max"]:
            return format(stat["median"], fmt)
        return f"{stat['median']:{fmt}} ({stat['min']:{fmt}}–{stat['max']:{fmt}})"

    for name, s in result["summary"].items():
        label = s.get("recipe", f"`{name}`")
        rows.append(
            f"| {label} | {s['epochs']} | {cell(s['train_seconds'], '.1f')} | {cell(s['seconds_per_epoch'], '.2f')} "
            f"| {cell(s['test_accuracy'], '.4f')} | {cell(s['peak_rss_mb'], '.0f')} |"
        )
    for run in result.get("runs", {}).get("frontier", []):
        rows.append(
            f"| `{run['recipe']} --epochs {run['epochs']}` | {run['epochs']} | {run['train_seconds']:.1f} "
            f"| {run['seconds_per_epoch']:.2f} | {run['test_accuracy']:.4f} | {run['peak_rss_mb']:.0f} |"
        )
    inf = result["inference_images_per_second"]
    low, high = result["matmul_gflops_range"]
    machine = result.get("machine", {})
    best, worst = result["fast_epoch_over_floor_range"]
    rows += [
        "",
        f"Measured on {machine.get('cpu_model', 'an unnamed CPU')}, {machine.get('cpu_count', '?')} cores. "
        f"Median over seeds (min–max in brackets): {result['seeds']} for `original` and `fast`, which alternate "
        f"within one run, {_slow_runs(result)}"
        + (f", one for each cut of `{FRONTIER}`" if result.get("runs", {}).get("frontier") else "")
        + f". `original` / `fast` training time: **{result['speedup_original_over_fast']:.1f}×**.",
        f"Matrix multiply (a {' × '.join(map(str, MATMUL_SHAPE[:2]))} by {' × '.join(map(str, MATMUL_SHAPE[1:]))} "
        f"float32 product, the machine's sustained rate): {result['matmul_gflops']:.0f} GFLOP/s, the median of "
        f"measurements before each run ({low:.0f}–{high:.0f}); one epoch is {result['flops_per_epoch'] / 1e9:.1f} "
        f"GFLOP, so the arithmetic floor is {result['floor_seconds_per_epoch']:.2f} s per epoch. Each `fast` run, "
        f"first epoch's tracing included, set against the rate measured just before it: "
        f"**{result['fast_epoch_over_floor']:.1f}× the floor** ({best:.1f}–{worst:.1f}).",
        f"Inference: {inf['batch_1']:,.0f} images/s at batch 1, {inf['batch_1000']:,.0f} images/s at batch 1000.",
    ]
    return "\n".join(rows)


def _slow_runs(result: dict) -> str:
    """How many seeds each slower recipe ran for, in words: "3 for `augmented` and `long`"."""
    counts = {}
    for name in SLOW:
        if name in result["summary"]:
            counts.setdefault(result["summary"][name]["runs"], []).append(f"`{name}`")
    return "; ".join(f"{runs} for {' and '.join(names)}" for runs, names in counts.items()) or "none slower"


def headline(result: dict) -> str:
    """The README's results table: each recipe's median test accuracy and training time, and the machine."""
    machine, summary = result["machine"], result["summary"]
    rows = [
        "| recipe | test accuracy, median (range) | training time, median |",
        "| --- | --- | --- |",
    ]
    labels = {"fast": "`fast` (default)", "original": "`original`, the write-up's"}
    # The recipes the result holds, in the README's order: a recipe added since the last `make bench` is left out.
    for name in [name for name in ["fast", *SLOW, "original"] if name in summary]:
        label = labels.get(name, f"`{name}`")
        accuracy, seconds = summary[name]["test_accuracy"], summary[name]["train_seconds"]["median"]
        rows.append(
            f"| {label}, {summary[name]['epochs']} epochs | **{100 * accuracy['median']:.2f}%** "
            f"({100 * accuracy['min']:.2f}–{100 * accuracy['max']:.2f}%, {summary[name]['runs']} seeds) "
            f"| {seconds:.1f} s |"
        )
    rows += [
        "",
        f"Measured by `make bench` on {result['date']}: {machine['cpu_model']}, {machine['cpu_count']} cores "
        f"(matrix multiply at {result['matmul_gflops']:.0f} GFLOP/s). `fast` trains "
        f"{result['speedup_original_over_fast']:.1f}× faster than `original` in the same run.",
    ]
    return "\n".join(rows)


LABELS = {
    "original": "original (the write-up's recipe)",
    "fast": "fast",
    "augmented": "augmented",
    "frontier": f"{FRONTIER} cut to N epochs",
    "sklearn_mlp": "scikit-learn MLP (128, 32)",
}


def plot_accuracy_against_time(result: dict, path: str | None = None):
    """Test accuracy against training seconds, one point per run (seed), for every recipe and the peer."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter

    from mnist_ann.plots import save_figure

    fig, ax = plt.subplots(figsize=(8, 4.6))
    for (name, runs), marker in zip(result["runs"].items(), "osD^vP", strict=False):
        seconds = [run["train_seconds"] for run in runs]
        accuracy = [100 * run["test_accuracy"] for run in runs]
        style = "-" if name == "frontier" else ""
        ax.plot(seconds, accuracy, marker + style, label=LABELS.get(name, name), alpha=0.8)
        if name == "frontier":
            for run in runs:
                ax.annotate(
                    f"{run['epochs']}",
                    (run["train_seconds"], 100 * run["test_accuracy"]),
                    fontsize=8,
                    textcoords="offset points",
                    xytext=(4, -10),
                )
    ax.axvline(60, color="grey", linestyle=":", linewidth=1)
    ax.annotate("1 minute", (60, ax.get_ylim()[0]), fontsize=8, color="grey", textcoords="offset points", xytext=(3, 4))
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))  # 1, 2, 5, 10, 20, 50, ... seconds
    ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("training time (s, log scale)")
    ax.set_ylabel("test accuracy (%)")
    machine = result["machine"]
    ax.set_title(
        f"784-128-32-10 network on MNIST: {machine.get('cpu_model', machine['processor'])}, "
        f"{machine['cpu_count']} cores, matrix multiply at {result['matmul_gflops']:.0f} GFLOP/s",
        fontsize=10,
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    save_figure(fig, path)
    return fig


SUMMARIZED = ("test_accuracy", "train_seconds")


def summarize_benchmark(result: dict) -> dict:
    """The part of a full benchmark result that the package ships for the notebook: each recipe's epochs, runs,
    accuracy and time, with the date and the machine."""
    recipes = {
        name: {"epochs": s["epochs"], "runs": s["runs"]} | {key: s[key] for key in SUMMARIZED}
        for name, s in result["summary"].items()
        if name in RECIPES
    }
    return {"date": result["date"], "machine": result["machine"], "recipes": recipes}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1, help="seeds per recipe (default: %(default)s)")
    parser.add_argument(
        "--slow-seeds", type=int, default=0, help=f"also train {', '.join(SLOW)} this often (default: 0)"
    )
    parser.add_argument(
        "--frontier", default="", help=f"comma-separated epoch counts to also train `{FRONTIER}` for (default: none)"
    )
    parser.add_argument(
        "--from-json", metavar="PATH", help="measure nothing: write the table, summary and figure of a saved result"
    )
    parser.add_argument("--figure", metavar="PATH", help="also draw accuracy against training time (default: not)")
    parser.add_argument("--peer-epochs", type=int, default=30, help="max epochs of scikit-learn's MLP (default: 30)")
    parser.add_argument("--data-dir", help="folder with the MNIST files (default: $MNIST_ANN_DATA_DIR, else the cache)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON (default: not written)")
    parser.add_argument("--summary", metavar="PATH", help="also write the summary the notebook shows (default: not)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    quiet_tensorflow()
    if args.from_json:  # a saved result: its table, summary and figure drawn again by this version of the script
        with open(args.from_json) as f:
            result = {key: value for key, value in json.load(f).items() if key != "table"}
    else:
        data = load_mnist(args.data_dir)
        print(f"benchmarking on {cpu_model()}, {os.cpu_count()} CPU cores, {args.seeds} seed(s)")
        frontier = [int(epochs) for epochs in args.frontier.split(",") if epochs]
        result = benchmark(data, args.seeds, args.slow_seeds, frontier=frontier, peer_max_iter=args.peer_epochs)
    table = format_table(result)
    print(table)
    if args.json:
        write_text_atomically(args.json, json.dumps(result | {"table": table}, indent=2) + "\n")
        print(f"wrote {args.json}")
    if args.figure:
        plot_accuracy_against_time(result, args.figure)
        print(f"wrote {args.figure}")
    if args.summary:  # the numbers the notebook shows, shipped inside the package
        write_text_atomically(args.summary, json.dumps(summarize_benchmark(result), indent=2) + "\n")
        print(f"wrote {args.summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
