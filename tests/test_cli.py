"""The command line end to end in subprocesses, on a tiny synthetic dataset, and its image preprocessing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from conftest import CRASH_AFTER_EPOCH_2, write_mnist
from mnist_ann.images import ImageInputError, digit_to_mnist, load_digit


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mnist_ann", *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=600
    )


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("idx")
    write_mnist(folder, n_train=400, n_test=100)
    return folder


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory, tiny_data) -> Path:
    out = tmp_path_factory.mktemp("runs") / "run1"
    result = cli("train", "--epochs", "1", "--data-dir", tiny_data, "--no-verify", "--out", out, "--seed", "1")
    assert result.returncode == 0, result.stderr
    return out


def seven(size: int = 28, ink: int = 255, paper: int = 0, box=(7, 5, 21, 23), width: int = 2) -> Image.Image:
    """A hand-drawn-looking 7 on a square canvas."""
    image = Image.new("L", (size, size), paper)
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = box
    draw.line([(left, top), (right, top)], fill=ink, width=width)
    draw.line([(right, top), (left + (right - left) // 3, bottom)], fill=ink, width=width)
    return image


# --- train, evaluate, predict --------------------------------------------------------------------


def test_train_writes_the_run_folder(run_dir):
    assert {p.name for p in run_dir.iterdir()} == {
        "model.keras",
        "metrics.json",
        "history.json",
        "accuracyPlot.png",
        "lossPlot.png",
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


def test_default_output_is_a_new_folder_under_runs(tmp_path, tiny_data):
    for _ in range(2):
        result = cli("train", "--epochs", "1", "--data-dir", tiny_data, "--no-verify", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    runs = sorted((tmp_path / "runs").iterdir())
    assert len(runs) == 2 and all((r / "metrics.json").is_file() for r in runs)


def test_evaluate_text_and_json(run_dir, tiny_data):
    text = cli("evaluate", "--model", run_dir / "model.keras", "--data-dir", tiny_data, "--no-verify")
    assert text.returncode == 0, text.stderr
    assert "test accuracy" in text.stdout and "weighted avg" in text.stdout
    result = cli("evaluate", "--model", run_dir / "model.keras", "--data-dir", tiny_data, "--no-verify", "--json")
    report = json.loads(result.stdout)
    assert 0 <= report["test_accuracy"] <= 1 and report["per_class"]["7"]["support"] == 10


def test_predict_text_json_and_show_input(run_dir, tmp_path):
    seven(300, ink=20, paper=235).save(tmp_path / "seven.jpg")
    shown = tmp_path / "seen.png"
    result = cli("predict", "--model", run_dir / "model.keras", tmp_path / "seven.jpg", "--json", "--show-input", shown)
    assert result.returncode == 0, result.stderr
    [entry] = json.loads(result.stdout)
    assert 0 <= entry["digit"] <= 9 and len(entry["top3"]) == 3
    assert entry["top3"][0]["digit"] == entry["digit"] and entry["probability"] >= entry["top3"][1]["probability"]
    with Image.open(shown) as image:
        assert image.size == (28, 28)
    text = cli("predict", "--model", run_dir / "model.keras", tmp_path / "seven.jpg")
    assert text.stdout.startswith(f"{tmp_path / 'seven.jpg'}: {entry['digit']} (")


def test_help_explains_every_option():
    for command in ("train", "evaluate", "predict"):
        result = cli(command, "--help")
        assert result.returncode == 0
        assert "--data-dir" in result.stdout or "--show-input" in result.stdout
    assert "(default: fast)" in cli("train", "--help").stdout


# --- preprocessing -------------------------------------------------------------------------------


def test_photo_of_a_digit_matches_the_mnist_style_digit():
    """Tolerance: mean absolute pixel difference below 0.05 (pixels 0-1) and correlation above 0.9."""
    reference = digit_to_mnist(seven())
    # Same digit, dark ink on light paper, RGB, 300x300, with wide margins and off-centre.
    photo = Image.new("RGB", (300, 300), (240, 238, 230))
    drawn = seven(150, ink=255, paper=0, box=(38, 27, 112, 123), width=11)
    photo.paste((25, 25, 40), (20, 130), mask=drawn)
    converted = digit_to_mnist(photo)
    assert converted.shape == (28, 28) and converted.dtype == np.float32
    assert np.abs(converted - reference).mean() < 0.05
    assert np.corrcoef(converted.ravel(), reference.ravel())[0, 1] > 0.9


def test_converted_digit_is_centred_and_fits_20_pixels():
    digit = digit_to_mnist(seven(200, ink=0, paper=255, box=(10, 10, 60, 190), width=8))
    rows, cols = np.flatnonzero(digit.any(axis=1)), np.flatnonzero(digit.any(axis=0))
    assert rows[-1] - rows[0] + 1 <= 20 and cols[-1] - cols[0] + 1 <= 20
    ys, xs = np.indices(digit.shape)
    assert abs((ys * digit).sum() / digit.sum() - 14) <= 1 and abs((xs * digit).sum() / digit.sum() - 14) <= 1


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "P"])
def test_common_modes_give_the_same_digit(mode):
    base = seven(56, ink=0, paper=255, box=(14, 10, 42, 46), width=4)
    if mode == "RGBA":  # ink on a transparent background: flattened onto white
        image = Image.new("RGBA", base.size, (0, 0, 0, 0))
        image.putalpha(Image.eval(base, lambda v: 255 - v))
    else:
        image = base.convert(mode)
    np.testing.assert_allclose(digit_to_mnist(image), digit_to_mnist(base), atol=0.02)


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


def test_predictions_agree_for_the_mnist_digit_and_its_photo(tmp_path):
    model = _template_model(tmp_path / "templates.keras")
    seven().save(tmp_path / "mnist_style.png")
    photo = Image.new("RGB", (300, 300), (250, 250, 250))
    photo.paste((0, 0, 0), (60, 20), mask=seven(200, box=(50, 36, 150, 164), width=14))
    photo.save(tmp_path / "photo.jpg")
    result = cli("predict", "--model", model, tmp_path / "mnist_style.png", tmp_path / "photo.jpg", "--json")
    assert result.returncode == 0, result.stderr
    first, second = json.loads(result.stdout)
    assert first["digit"] == second["digit"] == 7


# --- bad input -----------------------------------------------------------------------------------


def _bad_images(folder: Path) -> dict[str, tuple[Path, str]]:
    seven(64).save(folder / "good.png")
    (folder / "empty.png").write_bytes(b"")
    (folder / "notes.png").write_text("this is text, not an image")
    (folder / "cut.png").write_bytes((folder / "good.png").read_bytes()[:60])
    Image.new("L", (64, 64), 255).save(folder / "blank.png")
    Image.new("1", (10_000, 10_000)).save(folder / "huge.png")  # 100 MP of nothing, a few kB on disk
    return {
        "missing": (folder / "absent.png", "does not exist"),
        "empty": (folder / "empty.png", "is not an image"),
        "non-image": (folder / "notes.png", "is not an image"),
        "truncated": (folder / "cut.png", "cannot be decoded"),
        "blank": (folder / "blank.png", "is blank"),
        "huge": (folder / "huge.png", r"is too large for a digit photo \(10000x10000 pixels"),
    }


def test_every_bad_image_is_named_with_its_problem(tmp_path):
    for name, (path, message) in _bad_images(tmp_path).items():
        with pytest.raises(ImageInputError, match=message) as info:
            load_digit(path)
        assert str(path) in str(info.value), name


def test_one_bad_image_among_good_ones_exits_1_and_the_rest_are_predicted(run_dir, tmp_path):
    bad = _bad_images(tmp_path)
    result = cli(
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


def test_all_images_bad_exits_2(run_dir, tmp_path):
    bad = _bad_images(tmp_path)
    result = cli("predict", "--model", run_dir / "model.keras", *(path for path, _ in bad.values()))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == len(bad) and "Traceback" not in result.stderr


def _wrong_shape_model(path: Path) -> Path:
    import keras

    model = keras.Sequential([keras.Input((100,)), keras.layers.Dense(3)])
    model.save(path)
    return path


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: d / "nothing.keras", "does not exist"),
        (lambda d: (d / "junk.keras").write_bytes(b"not a zip at all") and d / "junk.keras", "cannot be loaded"),
        (lambda d: _wrong_shape_model(d / "small.keras"), "not 784 pixels in and 10 digit probabilities out"),
    ],
    ids=["missing", "corrupt", "wrong-shape"],
)
def test_bad_model_files(tmp_path, make, message):
    model = make(tmp_path)
    seven().save(tmp_path / "d.png")
    result = cli("predict", "--model", model, tmp_path / "d.png")
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and str(model) in result.stderr and "Traceback" not in result.stderr


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
def test_bad_train_options(tmp_path, tiny_data, args, message):
    (tmp_path / "a-file").write_text("x")
    args = [a.format(file=tmp_path / "a-file", tmp=tmp_path, data=tiny_data) for a in args]
    result = cli("train", "--epochs", "1", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("metrics.json"))


# --- interruption and resume ---------------------------------------------------------------------


def test_killed_training_resumes_from_the_last_epoch_and_matches_an_uninterrupted_run(tmp_path, tiny_data):
    args = ["train", "--epochs", "4", "--data-dir", tiny_data, "--no-verify", "--seed", "5"]
    crashed = subprocess.run(
        [sys.executable, "-c", CRASH_AFTER_EPOCH_2, *map(str, args), "--out", tmp_path / "run"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert crashed.returncode == -9 and "epoch 1/4" in crashed.stdout and "epoch 3/4" not in crashed.stdout
    assert not (tmp_path / "run" / "metrics.json").exists()
    assert json.loads((tmp_path / "run" / "backup" / "training_metadata.json").read_text())["epoch"] == 2

    resumed = cli(*args, "--out", tmp_path / "run")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming the interrupted run" in resumed.stdout
    assert "epoch 1/4" not in resumed.stdout and "epoch 2/4" not in resumed.stdout and "epoch 4/4" in resumed.stdout
    assert not (tmp_path / "run" / "backup").exists()

    straight = cli(*args, "--out", tmp_path / "straight")
    assert straight.returncode == 0, straight.stderr
    a, b = (json.loads((tmp_path / r / "metrics.json").read_text()) for r in ("run", "straight"))
    assert (a["test_accuracy"], a["test_loss"]) == (b["test_accuracy"], b["test_loss"])  # bit-for-bit on CPU
