"""Command line: `mnist-ann train | evaluate | predict | export`, on the same library functions the notebook uses.

This module parses arguments and calls the library and the application's modules. Those are imported
inside the commands, not at the top: they load TensorFlow, and `mnist-ann --help` must answer at once.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from mnist_ann.app.distribute import DEFAULT_STRATEGY, STRATEGIES
from mnist_ann.quiet import BackendError, quiet_tensorflow, require_tensorflow_backend
from mnist_ann.recipes import DEFAULT_RECIPE, RECIPES, get_recipe

EXIT_ERROR = 2  # bad input: one sentence on stderr, nothing written
EXIT_PARTIAL = 1  # predict: some images failed, the others were predicted
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT
EXIT_WRITE_FAILED = 74  # a file could not be written (a full disk, say): sysexits' EX_IOERR


class UsageError(Exception):
    """Bad input from the user; the message names the input and the fix."""


class Interrupted(Exception):
    """Ctrl-C; the message says what was kept and how to carry on."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be 1 or more")
    return value


def _data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="folder holding the four MNIST .gz files (default: $MNIST_ANN_DATA_DIR, else the cache)",
    )
    parser.add_argument(
        "--no-verify",
        action="store_true",
        help="skip the sha256 check, to read another dataset in MNIST's IDX format (default: verify)",
    )


def _train_parser(commands) -> None:
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
    _data_options(train)
    train.add_argument(
        "--out",
        metavar="DIR",
        help="run folder to create; the same --out resumes an interrupted run (default: a new folder under runs/)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The mnist-ann argument parser: train, evaluate, predict and export, every option with its default."""
    parser = argparse.ArgumentParser(
        prog="mnist-ann", description="Train, evaluate and use the 784-128-32-10 MNIST network."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _train_parser(commands)

    evaluate = commands.add_parser("evaluate", help="test loss, accuracy and per-class report")
    evaluate.add_argument("--model", required=True, metavar="PATH", help="a model.keras written by train")
    _data_options(evaluate)
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

    export = commands.add_parser("export", help="write a model's weights for the drawing page (docs/draw/)")
    export.add_argument("--model", required=True, metavar="PATH", help="a model.keras written by train")
    export.add_argument("out", metavar="OUT", help="the JavaScript file to write, such as docs/draw/weights.js")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of `mnist-ann` and `python -m mnist_ann`; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        require_tensorflow_backend()
    except BackendError as exc:
        print(f"mnist-ann {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    from mnist_ann.app.distribute import StrategyError
    from mnist_ann.app.runs import RunFolderError
    from mnist_ann.data import MnistDataError
    from mnist_ann.export import ExportError
    from mnist_ann.files import ModelFileError, WriteError
    from mnist_ann.images import ImageInputError

    commands = {"train": cmd_train, "evaluate": cmd_evaluate, "predict": cmd_predict, "export": cmd_export}
    try:
        return commands[args.command](args)
    except (
        UsageError,
        MnistDataError,
        ImageInputError,
        RunFolderError,
        StrategyError,
        ExportError,
        ModelFileError,
    ) as exc:
        print(f"mnist-ann {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except WriteError as exc:
        print(f"mnist-ann {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_WRITE_FAILED
    except Interrupted as exc:
        print(f"mnist-ann {args.command}: interrupted; {exc}.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print(f"mnist-ann {args.command}: interrupted; nothing half-written was left behind.", file=sys.stderr)
        return EXIT_INTERRUPTED


# --- train ---------------------------------------------------------------------------------------


def cmd_train(args) -> int:
    from mnist_ann.app.distribute import is_chief_task, read_tf_config
    from mnist_ann.app.runs import RunFolder

    recipe = _recipe(args)
    tf_config = read_tf_config() if args.strategy == "multi-worker" else None
    if tf_config and not args.out:
        raise UsageError("--strategy multi-worker needs --out, the same run folder on every worker; add --out DIR.")
    # The folder is claimed (and locked) before TensorFlow loads, so a clash is reported at once.
    folder = RunFolder.create(args.out, recipe.name) if is_chief_task(tf_config) else RunFolder.follow(args.out)
    quiet_tensorflow()
    with folder:
        try:
            return _train_into(folder, recipe, args, tf_config)
        except KeyboardInterrupt:
            raise Interrupted(
                f"nothing half-written was left behind; run the same command with --out {folder.path} "
                "to resume from the last completed epoch"
            ) from None


def _recipe(args):
    try:
        recipe = get_recipe(args.recipe)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return recipe.changed(batch_size=args.batch_size, epochs=args.epochs)


def _train_into(folder, recipe, args, tf_config) -> int:
    from mnist_ann.app.callbacks import hooks, snapshots
    from mnist_ann.app.distribute import describe, make_strategy
    from mnist_ann.data import load_mnist
    from mnist_ann.evaluation import evaluate
    from mnist_ann.training import train

    if not folder.writer:
        task = tf_config["task"]
        print(f"{task['type']} {task['index']}: training with the chief; the chief alone writes {folder.path}")
    (x_train, y_train), (x_test, y_test) = load_mnist(args.data_dir, verify=not args.no_verify)
    if tf_config:
        tasks = [address for addresses in tf_config["cluster"].values() for address in addresses]
        print(f"waiting for all {len(tasks)} tasks in TF_CONFIG ({', '.join(tasks)}) to start", flush=True)
    strategy = make_strategy(args.strategy)
    print(f"training recipe {recipe.name!r} ({recipe.epochs} epochs, batch {recipe.batch_size}), seed {args.seed}")
    print(describe(strategy, recipe.batch_size))
    if snapshots(folder.backup):  # an interrupted run left a complete backup here
        print(f"resuming the interrupted run from {folder.backup}")
    verbose = 1 if sys.stdout.isatty() else "compact"
    callbacks, resume = hooks(folder, run_settings(recipe, args.seed))
    model, _, seconds = train(
        x_train, y_train, recipe, seed=args.seed, verbose=verbose, callbacks=callbacks, resume=resume, strategy=strategy
    )
    loss, accuracy = evaluate(model, x_test, y_test)  # every worker takes part
    print(f"test accuracy {accuracy:.4f}, test loss {loss:.4f}, trained in {seconds:.1f} s")
    if folder.writer:
        folder.save(model, _metrics(recipe, args.seed, strategy, seconds, loss, accuracy))
        print(f"saved {folder.path / 'model.keras'}, metrics.json, history.json and curves.png")
    return 0


def run_settings(recipe, seed: int) -> dict:
    """What makes a run, as its backups record it: the recipe's settings and the seed (not its description)."""
    settings = {key: value for key, value in dataclasses.asdict(recipe).items() if key not in ("name", "description")}
    # As JSON has them (a tuple comes back from a backup as a list), so that a backup's settings compare equal.
    return json.loads(json.dumps({"recipe": recipe.name} | settings | {"seed": seed}))


def _metrics(recipe, seed: int, strategy, seconds: float, loss: float, accuracy: float) -> dict:
    import keras
    import tensorflow as tf

    from mnist_ann.app.distribute import strategy_name

    return {
        "test_accuracy": accuracy,
        "test_loss": loss,
        "epochs": recipe.epochs,
        "batch_size": recipe.batch_size,
        "recipe": recipe.name,
        "seed": seed,
        "strategy": strategy_name(strategy),
        "replicas": strategy.num_replicas_in_sync,
        "train_seconds": round(seconds, 3),
        "tensorflow_version": tf.__version__,
        "keras_version": keras.__version__,
    }


# --- evaluate and predict ------------------------------------------------------------------------


def cmd_evaluate(args) -> int:
    quiet_tensorflow()
    from sklearn.metrics import classification_report

    from mnist_ann.data import load_mnist
    from mnist_ann.evaluation import DIGITS, per_class_report, predict_probabilities, scores
    from mnist_ann.model import load_model

    model = load_model(args.model)
    _, (x_test, y_test) = load_mnist(args.data_dir, verify=not args.no_verify)
    probabilities = predict_probabilities(model, x_test)  # the test set through the model once
    loss, accuracy = scores(probabilities, y_test)
    predicted = probabilities.argmax(axis=1)
    if args.json:
        report = per_class_report(y_test, predicted)
        print(json.dumps({"test_loss": loss, "test_accuracy": accuracy, "per_class": report}, indent=2))
    else:
        print(f"test loss {loss:.4f}, test accuracy {accuracy:.4f} on {len(y_test)} images\n")
        print(classification_report(y_test, predicted, labels=DIGITS, digits=4, zero_division=0))
    return 0


def cmd_predict(args) -> int:
    quiet_tensorflow()
    from mnist_ann.app.images import predict_images, save_strip
    from mnist_ann.model import load_model

    model = load_model(args.model)
    results, inputs = predict_images(
        model, args.images, on_error=lambda e: print(f"mnist-ann predict: error: {e}", file=sys.stderr)
    )
    if args.show_input and inputs:
        try:
            save_strip(inputs, args.show_input)
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


def cmd_export(args) -> int:
    quiet_tensorflow()
    from mnist_ann.export import save_weights_script
    from mnist_ann.model import load_model

    out = Path(args.out)
    if not out.parent.is_dir():
        raise UsageError(
            f"cannot write {out}: the folder {out.parent} does not exist; create it or choose another OUT."
        )
    if out.is_dir():
        raise UsageError(f"{out} is a folder; name the file to write, such as {out / 'weights.js'}.")
    model = load_model(args.model)
    save_weights_script(model, out, note=f"exported from {args.model}")
    print(f"wrote {out} ({out.stat().st_size:,} bytes): the drawing page reads it as weights.js beside its index.html")
    return 0
