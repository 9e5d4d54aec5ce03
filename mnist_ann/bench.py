"""Benchmark: the `seed` and `fast` recipes alternated in one run, the arithmetic floor, inference, a peer."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time

import numpy as np

from mnist_ann.data import preprocess, split_validation
from mnist_ann.files import write_text_atomically
from mnist_ann.precomputed import summarize_benchmark
from mnist_ann.training import evaluate_test, get_recipe, train

LAYERS = [(784, 128), (128, 32), (32, 10)]


def flops_per_training_example() -> int:
    """Multiply-adds x 2 for the forward pass, the weight gradients, and the input gradients of layers 2-3."""
    macs = sum(i * o for i, o in LAYERS)
    input_grad_macs = sum(i * o for i, o in LAYERS[1:])  # the pixels need no gradient
    return 2 * (2 * macs + input_grad_macs)


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

    a = tf.random.stateless_uniform((256, 784), seed=[1, 2])
    b = tf.random.stateless_uniform((784, 1024), seed=[3, 4])
    product = tf.function(lambda a, b: tf.reduce_sum(tf.matmul(a, b)))
    product(a, b).numpy()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        product(a, b).numpy()
        times.append(time.perf_counter() - start)
    return 2 * 256 * 784 * 1024 / statistics.median(times) / 1e9


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


def run_recipe(data, name: str, seed: int) -> dict:
    """Train one recipe on the full data for one seed; time, accuracy, peak memory."""
    recipe = get_recipe(name)
    _peak_rss_reset()
    model, history, seconds = train(data, recipe, seed=seed, verbose=0)
    (_, _), (x_test, y_test) = data
    loss, accuracy = evaluate_test(model, x_test, y_test)
    return {
        "recipe": name,
        "seed": seed,
        "epochs": recipe.epochs,
        "train_seconds": seconds,
        "seconds_per_epoch": seconds / recipe.epochs,
        "test_accuracy": accuracy,
        "test_loss": loss,
        "peak_rss_mb": _peak_rss_mb(),
        "model": model,
    }


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
    for key in ("train_seconds", "seconds_per_epoch", "test_accuracy", "peak_rss_mb"):
        values = [r[key] for r in runs]
        out[key] = {"median": statistics.median(values), "min": min(values), "max": max(values)}
    out["epochs"] = runs[0]["epochs"]
    return out


def benchmark(data, seeds: int = 5, augmented_seeds: int = 0, peer_max_iter: int = 30, log=print) -> dict:
    """Run everything and return one JSON-ready dict."""
    import keras
    import tensorflow as tf

    runs = {"seed": [], "fast": []}

    def record(name: str, seed: int):
        result = run_recipe(data, name, seed)
        model = result.pop("model")
        runs.setdefault(name, []).append(result)
        log(
            f"  {name:>9} seed {seed}: {result['train_seconds']:6.1f} s, "
            f"test accuracy {result['test_accuracy']:.4f}, peak {result['peak_rss_mb']:.0f} MB"
        )
        return model

    for seed in range(seeds):
        order = ("seed", "fast") if seed % 2 == 0 else ("fast", "seed")  # alternate, so drift hits both
        models = {name: record(name, seed) for name in order}
    fast_model = models["fast"]  # inference is timed on a trained `fast` model
    for seed in range(augmented_seeds):
        record("augmented", seed)
    peer = run_peer(data, 0, peer_max_iter)
    log(f"  sklearn peer: {peer['train_seconds']:.1f} s, test accuracy {peer['test_accuracy']:.4f}")

    (x_train, _), _ = data
    train_examples = len(split_validation(x_train, x_train)[0][0])
    gflops = matmul_gflops()
    flops_per_epoch = flops_per_training_example() * train_examples
    floor_epoch = flops_per_epoch / (gflops * 1e9)
    x = preprocess(x_train[:1000])
    summary = {name: summarize(r) for name, r in runs.items()}
    summary["sklearn_mlp"] = summarize([peer]) | {"recipe": peer["recipe"]}
    fast_epoch = summary["fast"]["seconds_per_epoch"]["median"]
    return {
        "date": time.strftime("%Y-%m-%d"),
        "machine": {
            "cpu_count": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
        },
        "seeds": seeds,
        "summary": summary,
        "speedup_seed_over_fast": summary["seed"]["train_seconds"]["median"]
        / summary["fast"]["train_seconds"]["median"],
        "matmul_gflops": gflops,
        "flops_per_epoch": flops_per_epoch,
        "floor_seconds_per_epoch": floor_epoch,
        "fast_epoch_over_floor": fast_epoch / floor_epoch,
        "inference_images_per_second": {
            "batch_1": inference_rate(fast_model, x, 1),
            "batch_1000": inference_rate(fast_model, x, 1000),
        },
        "runs": runs | {"sklearn_mlp": [peer]},
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
    inf = result["inference_images_per_second"]
    rows += [
        "",
        f"Median of {result['seeds']} seeds (min–max in brackets); `seed` and `fast` alternate within one run. "
        f"`seed` / `fast` training time: **{result['speedup_seed_over_fast']:.1f}×**.",
        f"Matrix multiply: {result['matmul_gflops']:.0f} GFLOP/s; one epoch is {result['flops_per_epoch'] / 1e9:.1f} "
        f"GFLOP, so the arithmetic floor is {result['floor_seconds_per_epoch']:.2f} s per epoch and `fast` runs at "
        f"{result['fast_epoch_over_floor']:.1f}× the floor.",
        f"Inference: {inf['batch_1']:,.0f} images/s at batch 1, {inf['batch_1000']:,.0f} images/s at batch 1000.",
    ]
    return "\n".join(rows)


def main(args) -> int:
    from mnist_ann.data import load_mnist

    data = load_mnist(args.data_dir, verify=not args.no_verify)
    print(f"benchmarking on {os.cpu_count()} CPU cores, {args.seeds} seed(s)")
    result = benchmark(data, seeds=args.seeds, augmented_seeds=args.augmented_seeds, peer_max_iter=args.peer_epochs)
    table = format_table(result)
    print(table)
    if args.json:
        write_text_atomically(args.json, json.dumps(result | {"table": table}, indent=2) + "\n")
        print(f"wrote {args.json}")
    if args.summary:  # the numbers the notebook shows, shipped inside the package
        write_text_atomically(args.summary, json.dumps(summarize_benchmark(result), indent=2) + "\n")
        print(f"wrote {args.summary}")
    return 0
