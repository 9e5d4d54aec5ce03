"""Deskewing and the teacher: each checked against a slow implementation of its own, and both reaching training."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from scipy.ndimage import affine_transform

import mnist_ann
from conftest import synthetic_digits
from mnist_ann.augment import CENTER, deskew
from mnist_ann.epochs import EpochBatches
from mnist_ann.export import ExportError, weights_script
from mnist_ann.model import Deskew, build_model, build_teacher
from mnist_ann.recipes import RECIPES
from mnist_ann.training import soft_targets


@pytest.fixture
def digits():
    images, labels = synthetic_digits(40, seed=7)
    return mnist_ann.preprocess(images), mnist_ann.one_hot(labels)


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
    from mnist_ann.app.runs import load_model

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


def numpy_scores(teacher, images: np.ndarray) -> np.ndarray:
    """The teacher's scores (its "logits" layer) computed in NumPy from its weights: each convolution as a sum of
    shifted images times the kernel's taps, 'same' zero padding; 2x2 max pooling; dense layers."""
    x = images.reshape(-1, 28, 28, 1).astype(np.float64)
    for layer in teacher.layers:
        kind = type(layer).__name__
        if kind == "Conv2D":
            kernel, bias = layer.get_weights()
            size, pad = kernel.shape[0], kernel.shape[0] // 2
            padded = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
            out = sum(
                padded[:, i : i + x.shape[1], j : j + x.shape[2], :] @ kernel[i, j]
                for i in range(size)
                for j in range(size)
            )
            x = np.maximum(out + bias, 0)
        elif kind == "MaxPooling2D":
            n, height, width, channels = x.shape
            x = x.reshape(n, height // 2, 2, width // 2, 2, channels).max(axis=(2, 4))
        elif kind == "Flatten":
            x = x.reshape(len(x), -1)
        elif kind == "Dense":
            kernel, bias = layer.get_weights()
            x = x @ kernel + bias
            if layer.name == "logits":
                return x
            x = np.maximum(x, 0)
    raise AssertionError("the teacher has no logits layer")


@pytest.mark.parametrize("temperature", [1.0, 4.0])
def test_soft_targets_are_the_softmax_of_the_teachers_scores_over_the_temperature(digits, temperature):
    mnist_ann.set_seed(2)
    teacher = build_teacher()
    scores = numpy_scores(teacher, digits[0][:16]) / temperature
    expected = np.exp(scores - scores.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    targets = soft_targets(teacher, temperature)(tf.constant(digits[0][:16])).numpy()
    np.testing.assert_allclose(targets, expected, atol=1e-5)
    np.testing.assert_allclose(targets.sum(1), 1, atol=1e-5)
    assert teacher.predict(digits[0][:1], verbose=0).shape == (1, 10)


@pytest.mark.parametrize("augment", ["none", "shift", "elastic"])
def test_each_batch_carries_the_targets_of_its_own_images(digits, augment):
    """With `targets`, a batch's labels are what the targets make of the batch's images as the network sees them:
    shifted or distorted."""
    x, y = digits
    weights = tf.random.stateless_normal([784, 10], seed=[1, 2])

    def targets(images):
        return tf.nn.softmax(images @ weights)

    batches = EpochBatches(x, y, 16, seed=0, augment=augment, targets=targets)
    for images, labels in batches.dataset(2):
        np.testing.assert_allclose(labels.numpy(), targets(images).numpy(), atol=1e-6)
    plain = [images.numpy() for images, _ in EpochBatches(x, y, 16, seed=0, augment=augment).dataset(2)]
    marked = [images.numpy() for images, _ in batches.dataset(2)]
    for a, b in zip(plain, marked, strict=True):  # the targets change the labels, never the images
        np.testing.assert_array_equal(a, b)


def test_fit_trains_the_teacher_first_then_the_network_on_its_answers(capsys, digits):
    images, labels = synthetic_digits(400, seed=3)
    recipe = RECIPES["fast"].changed(epochs=2, teacher_epochs=1, temperature=2.0)
    model, history, _ = mnist_ann.train(images, labels, recipe, seed=0)
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split("  ")[0] for line in lines] == ["teacher epoch 1/1", "epoch 1/2", "epoch 2/2"]
    assert model.count_params() == 104_938 and len(history.history["loss"]) == 2
    # Soft targets at a temperature above 1 never reach a loss of 0: the loss is at least their entropy.
    assert history.history["loss"][-1] > 0.05
