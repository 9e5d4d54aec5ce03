"""The network's shape, the preprocessing, the recipes, and that training learns and repeats exactly."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import mnist_ann
from conftest import synthetic_digits
from mnist_ann.recipes import RECIPES, Recipe
from mnist_ann.training import learning_rate_schedule


def test_architecture_is_exactly_784_128_32_10():
    model = mnist_ann.build_model()
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.units for layer in dense] == [128, 32, 10]
    assert [layer.activation.__name__ for layer in dense] == ["relu", "relu", "softmax"]
    assert model.input_shape == (None, 784)
    # Independent count: (784*128 + 128) + (128*32 + 32) + (32*10 + 10).
    assert model.count_params() == 784 * 128 + 128 + 128 * 32 + 32 + 32 * 10 + 10 == 104_938


def test_compile_uses_adam_and_categorical_crossentropy():
    model = mnist_ann.compile_model(mnist_ann.build_model(), 1e-3)
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert model.loss == "categorical_crossentropy"


def test_preprocessing_scales_flattens_and_one_hots():
    images = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
    x = mnist_ann.preprocess(images)
    assert x.dtype == np.float32 and x.shape == (1, 4)
    np.testing.assert_allclose(x[0], [0.0, 1.0, 0.2, 0.4], rtol=1e-6)
    y = mnist_ann.one_hot(np.array([3, 0]))
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, np.eye(10)[[3, 0]])


def test_validation_split_holds_out_the_last_tenth():
    x, y = np.arange(100), np.arange(100) * 2
    (xf, yf), (xv, yv) = mnist_ann.split_validation(x, y, 0.1)
    np.testing.assert_array_equal(xv, np.arange(90, 100))
    np.testing.assert_array_equal(yf, np.arange(90) * 2)


def test_unknown_recipe_names_the_choices():
    with pytest.raises(ValueError, match="unknown recipe 'fastest'; choose one of: seed, fast"):
        mnist_ann.get_recipe("fastest")


def test_cosine_schedule_starts_at_the_peak_and_decays_to_zero():
    recipe = RECIPES["fast"]
    schedule = learning_rate_schedule(recipe, train_size=54_000)
    steps = recipe.epochs * 211  # 54,000 / 256 rounded up
    assert float(schedule(0)) == pytest.approx(recipe.learning_rate)
    assert float(schedule(steps // 2)) == pytest.approx(recipe.learning_rate / 2, rel=1e-3)
    assert float(schedule(steps)) == pytest.approx(0.0, abs=1e-9)
    assert learning_rate_schedule(RECIPES["seed"], 54_000) == 1e-3


def _tiny_data(n_train=400, n_test=100):
    return synthetic_digits(n_train, seed=1), synthetic_digits(n_test, seed=2)


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_each_recipe_trains_on_tiny_data_and_keeps_the_architecture(name):
    recipe = Recipe(**{**RECIPES[name].__dict__, "steps_per_execution": 1})
    model, history, seconds = mnist_ann.train(_tiny_data(), recipe, seed=0, epochs=1, verbose=0)
    assert model.count_params() == 104_938
    assert len(history.history["loss"]) == 1 and "val_accuracy" in history.history
    assert seconds > 0


def test_training_learns_and_repeats_exactly_with_the_same_seed():
    data = _tiny_data()
    (_, _), (x_test, y_test) = data
    runs = []
    for _ in range(2):
        model, history, _ = mnist_ann.train(data, "fast", seed=3, epochs=3, verbose=0)
        runs.append((history.history, [w.copy() for w in model.get_weights()]))
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1], strict=False):
        np.testing.assert_array_equal(a, b)
    predicted = model.predict(mnist_ann.preprocess(x_test), verbose=0).argmax(axis=1)
    assert (predicted == y_test).mean() > 0.9  # the synthetic classes are easy; chance is 0.1


def test_compact_log_prints_one_line_per_epoch(capsys):
    mnist_ann.train(_tiny_data(), "fast", seed=0, epochs=2)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("epoch 1/2  loss ") and "val_accuracy" in lines[1]
