"""The command line on a tiny synthetic dataset: train, and a `long` run's evaluate, predict and export, in
subprocesses as a shell runs them; other runs and the refusals of bad models, images, options and outputs through the
same `main`, in this process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from conftest import bad_images, cli, seven
from mnist_ann.app.cli import build_parser
from mnist_ann.images import digit_to_mnist

# --- train, evaluate, predict --------------------------------------------------------------------


def test_train_writes_the_run_folder(run_dir):
    assert {p.name for p in run_dir.iterdir()} == {
        "model.keras",
        "metrics.json",
        "history.json",
        "curves.png",
        ".lock",  # held while a process trains here
    }
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for key in (
        "test_accuracy",
        "test_loss",
        "epochs",
        "batch_size",
        "recipe",
        "seed",
        "train_seconds",
        "tensorflow_version",
    ):
        assert key in metrics
    assert metrics["epochs"] == 1 and metrics["recipe"] == "fast" and metrics["seed"] == 1
    history = json.loads((run_dir / "history.json").read_text())
    assert len(history["loss"]) == 1 and "val_accuracy" in history


def test_train_refuses_to_overwrite_a_finished_run(run_dir, tiny_data):
    before = (run_dir / "metrics.json").read_bytes()
    result = cli("train", "--epochs", "1", "--data-dir", tiny_data, "--no-verify", "--out", run_dir)
    assert result.returncode == 2 and "already holds a finished run" in result.stderr
    assert (run_dir / "metrics.json").read_bytes() == before


@pytest.mark.full
def test_default_output_is_a_new_folder_under_runs(tmp_path, tiny_data):
    for _ in range(2):
        result = cli("train", "--epochs", "1", "--data-dir", tiny_data, "--no-verify", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    runs = sorted((tmp_path / "runs").iterdir())
    assert len(runs) == 2 and all((r / "metrics.json").is_file() for r in runs)


@pytest.mark.full
def test_the_long_recipe_trains_end_to_end_and_its_deskewing_model_evaluates_and_predicts(tmp_path, tiny_data):
    """A short run of `long` (two epochs of its deskewed, bent batches) through the command line, as a shell runs it:
    the saved model straightens what it reads, and evaluate and predict load it in safe mode."""
    out = tmp_path / "long"
    result = cli("train", "--recipe", "long", "--epochs", "2", "--data-dir", tiny_data, "--no-verify", "--out", out)
    assert result.returncode == 0, result.stderr
    assert "training recipe 'long' (2 epochs, batch 128)" in result.stdout and "epoch 2/2" in result.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["recipe"] == "long" and metrics["epochs"] == 2 and 0.1 < metrics["test_accuracy"] <= 1
    evaluated = cli("evaluate", "--model", out / "model.keras", "--data-dir", tiny_data, "--no-verify", "--json")
    assert json.loads(evaluated.stdout)["test_accuracy"] == pytest.approx(metrics["test_accuracy"], abs=1e-6)
    seven(28).save(tmp_path / "seven.png")
    predicted = cli("predict", "--model", out / "model.keras", tmp_path / "seven.png", "--json")
    assert predicted.returncode == 0, predicted.stderr
    exported = cli("export", "--model", out / "model.keras", tmp_path / "weights.js")
    assert exported.returncode == 2 and "is a Deskew; the page runs Dense layers" in exported.stderr


def test_evaluate_text_and_json(run_dir, tiny_data, cli_here):
    text = cli_here("evaluate", "--model", run_dir / "model.keras", "--data-dir", tiny_data, "--no-verify")
    assert text.returncode == 0, text.stderr
    assert "test accuracy" in text.stdout and "weighted avg" in text.stdout
    result = cli_here("evaluate", "--model", run_dir / "model.keras", "--data-dir", tiny_data, "--no-verify", "--json")
    report = json.loads(result.stdout)
    trained = json.loads((run_dir / "metrics.json").read_text())  # what train measured on the same test set
    assert report["test_accuracy"] == pytest.approx(trained["test_accuracy"], abs=1e-6)
    assert report["per_class"]["7"]["support"] == 10


def test_predict_text_json_and_show_input(run_dir, tmp_path, cli_here):
    seven(300, ink=20, paper=235).save(tmp_path / "seven.jpg")
    shown = tmp_path / "seen.png"
    result = cli_here(
        "predict", "--model", run_dir / "model.keras", tmp_path / "seven.jpg", "--json", "--show-input", shown
    )
    assert result.returncode == 0, result.stderr
    [entry] = json.loads(result.stdout)
    from mnist_ann.images import load_digit
    from mnist_ann.model import load_model

    own = load_model(run_dir / "model.keras").predict(load_digit(tmp_path / "seven.jpg").reshape(1, 784), verbose=0)[0]
    assert entry["digit"] == int(own.argmax()) and entry["probability"] == pytest.approx(float(own.max()), abs=1e-6)
    assert len(entry["top3"]) == 3
    assert entry["top3"][0]["digit"] == entry["digit"] and entry["probability"] >= entry["top3"][1]["probability"]
    with Image.open(shown) as image:
        assert image.size == (28, 28)
    text = cli_here("predict", "--model", run_dir / "model.keras", tmp_path / "seven.jpg")
    assert text.stdout.startswith(f"{tmp_path / 'seven.jpg'}: {entry['digit']} (")


def test_help_explains_every_option_and_its_default():
    subcommands = build_parser()._subparsers._group_actions[0].choices
    assert sorted(subcommands) == ["evaluate", "export", "predict", "train"]
    for command, parser in subcommands.items():
        result = cli(command, "--help")
        assert result.returncode == 0, result.stderr
        text = " ".join(result.stdout.split())  # argparse wraps lines
        for action in parser._actions:
            for option in action.option_strings:
                assert option in text, f"{command} --help does not mention {option}"
            if action.option_strings and not action.required and action.help != "show this help message and exit":
                assert "(default: " in action.help, f"{command} {action.option_strings[0]} does not give its default"
    assert "(default: fast)" in " ".join(cli("train", "--help").stdout.split())


def test_help_answers_without_loading_tensorflow():
    probe = (
        "import sys\n"
        "from mnist_ann.app.cli import main\n"
        "for argv in (['--help'], ['train', '--help'], ['evaluate', '--help'], ['predict', '--help']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip().splitlines()[-1] == "False False", result.stderr


def _template_model(path: Path) -> Path:
    """A 784-in, 10-out model that matches templates: a drawn 7 (class 7), a 1 and a 0; the rest never win."""
    import keras

    one, zero = Image.new("L", (28, 28)), Image.new("L", (28, 28))
    ImageDraw.Draw(one).line([(14, 4), (14, 24)], fill=255, width=2)
    ImageDraw.Draw(zero).ellipse([(7, 4), (21, 24)], outline=255, width=2)
    weights = np.zeros((784, 10), dtype=np.float32)
    for digit, image in ((7, seven()), (1, one), (0, zero)):
        template = digit_to_mnist(image).ravel()
        weights[:, digit] = (template - template.mean()) / np.linalg.norm(template)
    biases = np.full(10, -5.0, dtype=np.float32)
    biases[[0, 1, 7]] = 0.0
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, activation="softmax")])
    model.layers[0].set_weights([weights * 10, biases])
    model.save(path)
    return path


def test_predictions_agree_for_the_mnist_digit_and_its_photo(tmp_path, cli_here):
    model = _template_model(tmp_path / "templates.keras")
    seven().save(tmp_path / "mnist_style.png")
    photo = Image.new("RGB", (300, 300), (250, 250, 250))
    photo.paste((0, 0, 0), (60, 20), mask=seven(200, box=(50, 36, 150, 164), width=14))
    photo.save(tmp_path / "photo.jpg")
    result = cli_here("predict", "--model", model, tmp_path / "mnist_style.png", tmp_path / "photo.jpg", "--json")
    assert result.returncode == 0, result.stderr
    first, second = json.loads(result.stdout)
    assert first["digit"] == second["digit"] == 7


# --- bad input -----------------------------------------------------------------------------------


def test_one_bad_image_among_good_ones_exits_1_and_the_rest_are_predicted(run_dir, tmp_path, cli_here):
    bad = bad_images(tmp_path)
    result = cli_here(
        "predict",
        "--model",
        run_dir / "model.keras",
        tmp_path / "good.png",
        bad["blank"][0],
        tmp_path / "good.png",
        "--json",
    )
    assert result.returncode == 1
    entries = json.loads(result.stdout)
    assert "digit" in entries[0] and "error" in entries[1] and "digit" in entries[2]
    assert f"{bad['blank'][0]}: the image is blank" in result.stderr and "Traceback" not in result.stderr


def test_all_images_bad_exits_2(run_dir, tmp_path, cli_here):
    bad = bad_images(tmp_path)
    result = cli_here("predict", "--model", run_dir / "model.keras", *(path for path, _ in bad.values()))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == len(bad) and "Traceback" not in result.stderr


_SAFE_MODE = (
    "holds Python code (a Lambda layer, say), which Keras's safe mode refuses to run because code in a file can do "
    "anything; if you trust the file, load it yourself with keras.saving.load_model(path, safe_mode=False)."
)


def _lambda_model(path: Path) -> Path:
    import keras

    model = keras.Sequential([keras.Input((784,)), keras.layers.Lambda(lambda x: x * 2), keras.layers.Dense(10)])
    model.save(path)
    return path


def _wrong_shape_model(path: Path) -> Path:
    import keras

    model = keras.Sequential([keras.Input((100,)), keras.layers.Dense(3)])
    model.save(path)
    return path


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: d / "nothing.keras", "does not exist"),
        (lambda d: _lambda_model(d / "code.keras"), _SAFE_MODE),
        (lambda d: (d / "junk.keras").write_bytes(b"not a zip at all") and d / "junk.keras", "cannot be loaded"),
        (lambda d: _wrong_shape_model(d / "small.keras"), "not 784 pixels in and 10 digit probabilities out"),
    ],
    ids=["missing", "code", "corrupt", "wrong-shape"],
)
def test_bad_model_files(tmp_path, make, message, cli_here):
    model = make(tmp_path)
    seven().save(tmp_path / "d.png")
    result = cli_here("predict", "--model", model, tmp_path / "d.png")
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and str(model) in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.strip().endswith(".")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--recipe", "turbo"], "unknown recipe 'turbo'; choose one of"),
        (["--epochs", "-3"], "-3 must be 1 or more"),
        (["--out", "{file}/sub"], "cannot write the run folder"),
        (["--data-dir", "{tmp}/no-such-folder"], "does not exist; point --data-dir at a folder"),
        (["--data-dir", "{data}"], "does not match the published sha256"),
    ],
    ids=["unknown-recipe", "negative-epochs", "unwritable-out", "missing-data", "unverified-data"],
)
def test_bad_train_options(tmp_path, tiny_data, args, message, cli_here):
    (tmp_path / "a-file").write_text("x")
    args = [a.format(file=tmp_path / "a-file", tmp=tmp_path, data=tiny_data) for a in args]
    result = cli_here("train", "--epochs", "1", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("metrics.json"))


def test_evaluate_runs_the_test_set_through_the_model_once(run_dir, tiny_data, cli_here, monkeypatch):
    import keras

    calls = []
    original = keras.Model.predict_on_batch
    monkeypatch.setattr(keras.Model, "predict_on_batch", lambda self, x: calls.append(len(x)) or original(self, x))
    monkeypatch.setattr(keras.Model, "predict", lambda *args, **kwargs: calls.append("predict"))
    result = cli_here("evaluate", "--model", run_dir / "model.keras", "--data-dir", tiny_data, "--no-verify")
    assert result.returncode == 0, result.stderr
    assert calls == [100]  # the 100 test images, in one call


# --- export for the drawing page ------------------------------------------------------------------


def test_export_writes_weights_that_give_the_models_predictions(run_dir, tmp_path, tiny_data, cli_here):
    import keras

    from mnist_ann.data import load_mnist, preprocess
    from mnist_ann.export import load_weights_script, network_from_weights

    out = tmp_path / "weights.js"
    result = cli_here("export", "--model", run_dir / "model.keras", out)
    assert result.returncode == 0, result.stderr
    assert f"wrote {out} (" in result.stdout and out.stat().st_size < 500_000
    layers = load_weights_script(out)
    assert [(layer["inputs"], layer["units"], layer["activation"]) for layer in layers] == [
        (784, 128, "relu"),
        (128, 32, "relu"),
        (32, 10, "softmax"),
    ]
    _, (x_test, _) = load_mnist(tiny_data, verify=False)
    original = keras.saving.load_model(run_dir / "model.keras").predict(preprocess(x_test), verbose=0)
    exported = network_from_weights(layers).predict(preprocess(x_test), verbose=0)
    np.testing.assert_allclose(exported, original, atol=2e-3)  # float16 weights: a few parts in ten thousand
    assert (exported.argmax(axis=1) == original.argmax(axis=1)).all()


@pytest.mark.parametrize(
    "out, message",
    [("{tmp}/no-such-folder/weights.js", "the folder"), ("{tmp}", "is a folder; name the file to write")],
    ids=["missing-folder", "a-folder"],
)
def test_export_names_a_bad_output(run_dir, tmp_path, out, message, cli_here):
    result = cli_here("export", "--model", run_dir / "model.keras", out.format(tmp=tmp_path))
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
