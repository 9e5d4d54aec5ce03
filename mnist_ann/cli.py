"""Command line: `mnist-ann train | evaluate | predict | bench`, on the same functions the notebook uses."""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import sys
import tempfile
from pathlib import Path

from mnist_ann.files import replaced_atomically, write_text_atomically

EXIT_ERROR = 2  # bad input: one sentence on stderr, nothing written
EXIT_PARTIAL = 1  # predict: some images failed, the others were predicted


class UsageError(Exception):
    """Bad input from the user; the message names the input and the fix."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be 1 or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    from mnist_ann.distribute import DEFAULT_STRATEGY, STRATEGIES
    from mnist_ann.recipes import DEFAULT_RECIPE, RECIPES

    parser = argparse.ArgumentParser(
        prog="mnist-ann",
        description="Train, evaluate and use the 784-128-32-10 MNIST network.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def data_options(p):
        p.add_argument(
            "--data-dir",
            metavar="DIR",
            help="folder holding the four MNIST .gz files (default: $MNIST_ANN_DATA_DIR, else the cache)",
        )
        p.add_argument(
            "--no-verify",
            action="store_true",
            help="skip the sha256 check, to read another dataset in MNIST's IDX format (default: verify)",
        )

    train = commands.add_parser("train", help="train the network and save a run folder")
    train.add_argument(
        "--recipe", default=DEFAULT_RECIPE, help=f"training recipe: {', '.join(RECIPES)} (default: %(default)s)"
    )
    train.add_argument("--epochs", type=_positive_int, help="number of epochs (default: the recipe's)")
    train.add_argument("--batch-size", type=_positive_int, help="batch size (default: the recipe's)")
    train.add_argument(
        "--seed", type=int, default=0, help="random seed; the same seed repeats the same run (default: %(default)s)"
    )
    train.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default=DEFAULT_STRATEGY,
        help="tf.distribute strategy: auto (several GPUs: mirrored, else default), default (one device), "
        "mirrored (all local GPUs), multi-worker (the machines in $TF_CONFIG; see the README's "
        '"Scaling out") (default: %(default)s)',
    )
    data_options(train)
    train.add_argument(
        "--out",
        metavar="DIR",
        help="run folder to create; the same --out resumes an interrupted run (default: a new folder under runs/)",
    )

    evaluate = commands.add_parser("evaluate", help="test loss, accuracy and per-class report")
    evaluate.add_argument("--model", required=True, metavar="PATH", help="a model.keras written by train")
    data_options(evaluate)
    evaluate.add_argument("--json", action="store_true", help="print JSON instead of text (default: text)")

    predict = commands.add_parser("predict", help="predict the digit in your own images")
    predict.add_argument("--model", required=True, metavar="PATH", help="a model.keras written by train")
    predict.add_argument("images", nargs="+", metavar="IMAGE", help="image files (PNG, JPEG, ...), one digit each")
    predict.add_argument("--json", action="store_true", help="print JSON instead of text (default: text)")
    predict.add_argument(
        "--show-input",
        metavar="PATH",
        help="save the 28x28 image the model saw as PNG, several side by side (default: not saved)",
    )
    bench = commands.add_parser("bench", help="time the seed and fast recipes, the floor, inference, a peer")
    bench.add_argument("--seeds", type=_positive_int, default=1, help="seeds per recipe (default: %(default)s)")
    bench.add_argument(
        "--augmented-seeds", type=int, default=0, help="also train `augmented` for this many seeds (default: 0)"
    )
    bench.add_argument(
        "--peer-epochs", type=_positive_int, default=30, help="max epochs of scikit-learn's MLP (default: 30)"
    )
    data_options(bench)
    bench.add_argument("--json", metavar="PATH", help="also write the results as JSON (default: not written)")
    bench.add_argument(
        "--summary",
        metavar="PATH",
        help="also write the summary the notebook shows (make bench: mnist_ann/precomputed.json; default: not written)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of `mnist-ann` and `python -m mnist_ann`; returns the exit status."""
    from mnist_ann.quiet import quiet_tensorflow

    quiet_tensorflow()
    args = build_parser().parse_args(argv)
    from mnist_ann.data import MnistDataError
    from mnist_ann.images import ImageInputError

    try:
        commands = {"train": cmd_train, "evaluate": cmd_evaluate, "predict": cmd_predict, "bench": cmd_bench}
        return commands[args.command](args)
    except (UsageError, MnistDataError, ImageInputError) as exc:
        print(f"mnist-ann {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        hint = "nothing half-written was left behind"
        if args.command == "train" and getattr(args, "run_folder", None):
            hint += f"; run the same command with --out {args.run_folder} to resume from the last completed epoch"
        print(f"mnist-ann {args.command}: interrupted; {hint}.", file=sys.stderr)
        return 130


# --- helpers -------------------------------------------------------------------------------------


def _load_data(args):
    from mnist_ann.data import load_mnist

    return load_mnist(args.data_dir, verify=not args.no_verify, progress=sys.stderr.isatty())


def load_model(path: str):
    """Load a saved 784-input, 10-class Keras model in safe mode (no code from the file runs)."""
    import keras

    file = Path(path)
    if not file.is_file():
        raise UsageError(f"model file {path} does not exist; pass the model.keras that `mnist-ann train` wrote.")
    try:
        model = keras.saving.load_model(file, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a bad file; all mean the same to the user
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"model file {path} cannot be loaded as a Keras model ({reason}).") from None
    if tuple(model.input_shape) != (None, 784) or tuple(model.output_shape) != (None, 10):
        raise UsageError(
            f"model file {path} takes {model.input_shape} and gives {model.output_shape}, "
            "not 784 pixels in and 10 digit probabilities out; use a model written by `mnist-ann train`."
        )
    return model


def _new_run_folder(out: str | None, recipe: str) -> Path:
    if out is None:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        base = Path("runs") / f"{stamp}-{recipe}"
        folder, n = base, 1
        while folder.exists():
            n += 1
            folder = base.with_name(f"{base.name}-{n}")
    else:
        folder = Path(out)
        if folder.exists() and not folder.is_dir():
            raise UsageError(f"--out {out} is a file, not a folder; choose a folder name.")
        if (folder / "metrics.json").exists():  # written last: the run finished
            raise UsageError(f"--out {out} already holds a finished run; choose a new folder so it is kept.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test.")
        probe.close()
    except OSError as exc:
        raise UsageError(f"cannot write the run folder {folder} ({exc.strerror}); choose a writable --out.") from None
    return folder


# --- commands ------------------------------------------------------------------------------------


def _follow_backup(backup_dir: str):
    """For a worker other than the chief: resume from the chief's backup when it can see it, never write it."""
    import keras

    class FollowBackup(keras.callbacks.BackupAndRestore):
        def on_epoch_end(self, epoch, logs=None):
            pass

        def on_train_batch_end(self, batch, logs=None):
            pass

        def on_train_end(self, logs=None):
            pass

    return FollowBackup(backup_dir)


def cmd_train(args) -> int:
    import keras
    import tensorflow as tf

    from mnist_ann import plots
    from mnist_ann.distribute import (
        StrategyError,
        describe,
        is_chief_task,
        make_strategy,
        read_tf_config,
        strategy_name,
    )
    from mnist_ann.training import evaluate_test, get_recipe, train

    try:
        recipe = get_recipe(args.recipe)
        tf_config = read_tf_config() if args.strategy == "multi-worker" else None
    except (ValueError, StrategyError) as exc:
        raise UsageError(str(exc)) from None
    if args.batch_size:
        recipe = dataclasses.replace(recipe, batch_size=args.batch_size)
    if args.epochs:
        recipe = dataclasses.replace(recipe, epochs=args.epochs)
    chief = is_chief_task(tf_config)
    if tf_config and not args.out:
        raise UsageError("--strategy multi-worker needs --out, the same run folder on every worker; add --out DIR.")
    if chief:
        folder = _new_run_folder(args.out, recipe.name)
        args.run_folder = folder
    else:  # only the chief writes the run folder; the others may read its backup to resume
        folder = Path(args.out)
        task = tf_config["task"]
        print(f"{task['type']} {task['index']}: training with the chief; the chief alone writes {folder}")
    data = _load_data(args)
    if tf_config:
        tasks = [address for addresses in tf_config["cluster"].values() for address in addresses]
        print(f"waiting for all {len(tasks)} tasks in TF_CONFIG ({', '.join(tasks)}) to start", flush=True)
    strategy = make_strategy(args.strategy)
    print(f"training recipe {recipe.name!r} ({recipe.epochs} epochs, batch {recipe.batch_size}), seed {args.seed}")
    print(describe(strategy, recipe.batch_size))
    # Keras saves weights, optimizer state and epoch here after every epoch and deletes it when training ends;
    # rerunning with the same --out after a crash or Ctrl-C resumes from the last completed epoch.
    backup = folder / "backup"
    if backup.is_dir():
        print(f"resuming the interrupted run from {backup}")
    callback = keras.callbacks.BackupAndRestore(str(backup)) if chief else _follow_backup(str(backup))
    verbose = 1 if sys.stdout.isatty() else "compact"
    model, history, seconds = train(
        data, recipe, seed=args.seed, verbose=verbose, callbacks=[callback], strategy=strategy
    )

    (_, _), (x_test, y_test) = data
    test_loss, test_accuracy = evaluate_test(model, x_test, y_test)  # every worker takes part
    print(f"test accuracy {test_accuracy:.4f}, test loss {test_loss:.4f}, trained in {seconds:.1f} s")
    if not chief:
        return 0
    metrics = {
        "test_accuracy": test_accuracy,
        "test_loss": test_loss,
        "epochs": recipe.epochs,
        "batch_size": recipe.batch_size,
        "recipe": recipe.name,
        "seed": args.seed,
        "strategy": strategy_name(strategy),
        "replicas": strategy.num_replicas_in_sync,
        "train_seconds": round(seconds, 3),
        "tensorflow_version": tf.__version__,
        "keras_version": keras.__version__,
    }
    with replaced_atomically(folder / "model.keras") as tmp:
        model.save(tmp)
    history_dict = {key: [float(v) for v in values] for key, values in history.history.items()}
    write_text_atomically(folder / "history.json", json.dumps(history_dict, indent=2) + "\n")
    for metric in ("accuracy", "loss"):
        fig = plots.plot_history(history_dict, metric, folder / f"{metric}Plot.png")
        plots.plt.close(fig)
    write_text_atomically(folder / "metrics.json", json.dumps(metrics, indent=2) + "\n")  # last: marks the run finished
    print(f"saved {folder / 'model.keras'}, metrics.json, history.json and plots")
    return 0


def cmd_evaluate(args) -> int:
    from mnist_ann.data import preprocess
    from mnist_ann.evaluation import format_report, per_class_report
    from mnist_ann.training import evaluate_test

    model = load_model(args.model)
    (_, _), (x_test, y_test) = _load_data(args)
    loss, accuracy = evaluate_test(model, x_test, y_test)
    predicted = model.predict(preprocess(x_test), batch_size=1000, verbose=0).argmax(axis=1)
    report = per_class_report(y_test, predicted)
    if args.json:
        print(json.dumps({"test_loss": loss, "test_accuracy": accuracy, "per_class": report}, indent=2))
    else:
        print(f"test loss {loss:.4f}, test accuracy {accuracy:.4f} on {len(y_test)} images\n")
        print(format_report(report))
    return 0


def cmd_predict(args) -> int:
    import numpy as np

    from mnist_ann.images import ImageInputError, load_digit

    model = load_model(args.model)
    results, inputs = [], []
    for path in args.images:
        try:
            inputs.append(load_digit(path))
            results.append({"image": path})
        except ImageInputError as exc:
            print(f"mnist-ann predict: error: {exc}", file=sys.stderr)
            results.append({"image": path, "error": str(exc)})
    good = [r for r in results if "error" not in r]
    if inputs:  # one forward pass for all readable images
        probabilities = model.predict(np.stack(inputs).reshape(len(inputs), 784), verbose=0)
        for result, p in zip(good, probabilities, strict=True):
            top = np.argsort(-p)[:3]
            result["digit"] = int(top[0])
            result["probability"] = float(p[top[0]])
            result["top3"] = [{"digit": int(d), "probability": float(p[d])} for d in top]
    if args.show_input and inputs:
        from PIL import Image

        strip = (np.concatenate(inputs, axis=1) * 255).round().astype(np.uint8)
        try:
            with replaced_atomically(args.show_input) as tmp:
                Image.fromarray(strip).save(tmp, format="PNG")
        except OSError as exc:
            raise UsageError(f"cannot write --show-input {args.show_input} ({exc.strerror or exc}).") from None
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for r in results:
            if "digit" in r:
                others = ", ".join(f"{t['digit']} {t['probability']:.2%}" for t in r["top3"][1:])
                print(f"{r['image']}: {r['digit']} ({r['probability']:.2%}; then {others})")
    failed = sum("error" in r for r in results)
    if failed == len(results):
        return EXIT_ERROR
    return EXIT_PARTIAL if failed else 0


def cmd_bench(args) -> int:
    from mnist_ann import bench

    return bench.main(args)
