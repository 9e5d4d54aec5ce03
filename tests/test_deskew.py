"""Deskewing: checked against scipy's affine resampling, and reaching the model, the batches and training."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from scipy.ndimage import affine_transform

import mnist_ann
from conftest import synthetic_digits
from mnist_ann.augment import CENTER, deskew
from mnist_ann.data import one_hot
from mnist_ann.epochs import EpochBatches
from mnist_ann.export import ExportError, weights_script
from mnist_ann.model import Deskew, build_model, load_model
from mnist_ann.recipes import RECIPES


@pytest.fixture
def digits():
    images, labels = synthetic_digits(40, seed=7)
    return mnist_ann.preprocess(images), one_hot(labels)


def slanted_strokes() -> np.ndarray:
    """Three strokes leaning by different amounts, off the middle, as flattened 0-1 images."""
    images = np.zeros((3, 28, 28), np.float32)
    for image, lean, start in zip(images, (0.5, -0.3, 0.0), (4, 9, 12), strict=True):
        for row in range(5, 23):
            col = int(round(start + lean * (row - 5)))
            image[row, col : col + 3] = 1.0
    return images.reshape(3, -1)


def scipy_deskew(image: np.ndarray) -> np.ndarray:
    """Deskewing written another way: the image's moments in float64, then scipy's affine resampling (order 1,
    zeros outside the image)."""
    image = image.reshape(28, 28).astype(np.float64)
    rows, cols = np.mgrid[:28, :28]
    ink = image.sum()
    mean = np.array([(rows * image).sum(), (cols * image).sum()]) / ink
    slant = ((rows - mean[0]) * (cols - mean[1]) * image).sum() / ((rows - mean[0]) ** 2 * image).sum()
    shear = np.array([[1.0, 0.0], [slant, 1.0]])
    moved = affine_transform(image, shear, offset=mean - shear @ [CENTER, CENTER], order=1, mode="grid-constant")
    return np.clip(moved, 0, 1).ravel()


def moments(images: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each image's centre of ink (row, column) and slant."""
    rows, cols = np.divmod(np.arange(784), 28)
    ink = images.sum(1)
    mean_r, mean_c = images @ rows / ink, images @ cols / ink
    cov = ((rows - mean_r[:, None]) * (cols - mean_c[:, None]) * images).sum(1) / ink
    var = ((rows - mean_r[:, None]) ** 2 * images).sum(1) / ink
    return mean_r, mean_c, cov / var


def test_deskewing_is_scipys_affine_resampling_at_the_images_own_moments(digits):
    images = np.concatenate([slanted_strokes(), digits[0][:20]])
    expected = np.stack([scipy_deskew(image) for image in images])
    np.testing.assert_allclose(deskew(tf.constant(images)).numpy(), expected, atol=2e-4)


def test_deskewing_straightens_and_centres_a_slanted_stroke_and_leaves_an_empty_image_empty():
    strokes = slanted_strokes()
    _, _, slant = moments(strokes)
    assert abs(slant[0]) > 0.4 and abs(slant[1]) > 0.2  # they do lean
    mean_r, mean_c, slant = moments(deskew(tf.constant(strokes)).numpy())
    np.testing.assert_allclose(slant, 0, atol=0.03)
    np.testing.assert_allclose(mean_r, CENTER, atol=0.2)
    np.testing.assert_allclose(mean_c, CENTER, atol=0.2)
    empty = deskew(tf.zeros((1, 784))).numpy()
    assert np.all(empty == 0)


def test_the_deskew_layer_deskews_what_the_model_reads_and_passes_training_batches_through(digits):
    x = tf.constant(digits[0][:8])
    layer = Deskew()
    np.testing.assert_array_equal(layer(x).numpy(), deskew(x).numpy())
    np.testing.assert_array_equal(layer(x, training=True).numpy(), x.numpy())
    model = build_model(deskew=True)
    assert model.count_params() == build_model().count_params() == 104_938  # the same network behind it
    plain = build_model()
    plain.set_weights(model.get_weights())
    np.testing.assert_allclose(model.predict(x, verbose=0), plain.predict(deskew(x), verbose=0), atol=1e-6)


def test_deskewing_batches_hold_each_image_deskewed_once(digits):
    x, y = digits
    batches = EpochBatches(x, y, 16, seed=0, deskew=True)
    images = np.concatenate([batch[0].numpy() for batch in batches.dataset(1)])
    order = batches.orders(1)[0]
    np.testing.assert_allclose(images, deskew(tf.constant(x)).numpy()[order], atol=1e-6)


def test_a_deskewing_model_loads_in_safe_mode_and_the_page_export_names_the_step(tmp_path, digits):
    model = build_model(deskew=True)
    model.save(tmp_path / "model.keras")
    loaded = load_model(str(tmp_path / "model.keras"))
    assert isinstance(loaded.layers[0], Deskew)
    np.testing.assert_array_equal(loaded.predict(digits[0][:4], verbose=0), model.predict(digits[0][:4], verbose=0))
    with pytest.raises(ExportError, match="layer 'deskew' is a Deskew; .* a recipe that does not deskew"):
        weights_script(model)


def test_a_recipe_that_deskews_needs_a_model_that_deskews(digits):
    recipe = RECIPES["fast"].changed(epochs=1, deskew=True)
    with pytest.raises(ValueError, match="deskews its training digits, so the model must deskew what it reads too"):
        mnist_ann.fit(build_model(), digits, None, recipe, verbose=0)
