"""Photos and drawings of a digit become MNIST-style 28x28 inputs; bad images are named; one forward pass predicts."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from conftest import bad_images, seven
from mnist_ann.app.images import predict_images, save_strip
from mnist_ann.images import ImageInputError, digit_steps, digit_to_mnist, load_digit, load_digit_steps, sample_digit


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


def test_the_steps_are_shown_in_order_and_end_with_the_input():
    photo = seven(120, ink=30, paper=235, box=(30, 20, 90, 100), width=7).convert("RGB")
    steps = digit_steps(photo)
    assert list(steps) == [
        "original",
        "grey, inverted",
        "cropped to the ink",
        "scaled to fit 20x20",
        "centred in 28x28",
    ]
    assert steps["original"].shape == (120, 120, 3)
    inverted = steps["grey, inverted"]
    assert inverted.shape == (120, 120) and inverted[0, 0] == 0 and inverted.max() == 1  # paper dark, ink bright
    assert max(steps["scaled to fit 20x20"].shape) == 20
    np.testing.assert_array_equal(steps["centred in 28x28"], digit_to_mnist(photo))


def test_the_sample_digit_ships_with_the_package_and_prepares_like_any_file():
    path = sample_digit()
    assert path.is_file() and path.suffix == ".png"
    steps = load_digit_steps(path)
    np.testing.assert_array_equal(list(steps.values())[-1], load_digit(path))
    digit = load_digit(path)
    ys, xs = np.indices(digit.shape)
    assert abs((ys * digit).sum() / digit.sum() - 14) <= 1 and abs((xs * digit).sum() / digit.sum() - 14) <= 1


def test_every_bad_image_is_named_with_its_problem(tmp_path):
    for name, (path, message) in bad_images(tmp_path).items():
        with pytest.raises(ImageInputError, match=message) as info:
            load_digit(path)
        assert str(path) in str(info.value), name


class _Uniform:
    """A stand-in model: digit i gets probability proportional to i + 1, whatever the input."""

    def predict_on_batch(self, x):
        p = np.arange(1, 11, dtype=np.float32)
        return np.tile(p / p.sum(), (len(x), 1))


def test_predict_images_keeps_the_order_and_reports_bad_ones(tmp_path):
    bad = bad_images(tmp_path)
    errors = []
    paths = [tmp_path / "good.png", bad["blank"][0], tmp_path / "good.png"]
    results, inputs = predict_images(_Uniform(), paths, on_error=errors.append)
    assert [("error" in r) for r in results] == [False, True, False] and len(inputs) == 2
    assert results[0]["digit"] == 9 and [t["digit"] for t in results[0]["top3"]] == [9, 8, 7]
    assert results[0]["probability"] == pytest.approx(10 / 55)
    assert len(errors) == 1 and "is blank" in str(errors[0])


def test_save_strip_writes_the_inputs_side_by_side(tmp_path):
    save_strip([np.zeros((28, 28)), np.ones((28, 28))], tmp_path / "strip.png")
    with Image.open(tmp_path / "strip.png") as image:
        assert image.size == (56, 28)
        assert np.asarray(image)[:, 28:].min() == 255 and np.asarray(image)[:, :28].max() == 0
