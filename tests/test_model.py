"""The network's exact shape and its compile step."""

from __future__ import annotations

import keras
import pytest

import mnist_ann


def test_architecture_is_exactly_784_128_32_10():
    model = mnist_ann.build_model()
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.units for layer in dense] == [128, 32, 10]
    assert [layer.activation.__name__ for layer in dense] == ["relu", "relu", "softmax"]
    assert model.input_shape == (None, 784)
    # Independent count: (784*128 + 128) + (128*32 + 32) + (32*10 + 10).
    assert model.count_params() == 784 * 128 + 128 + 128 * 32 + 32 + 32 * 10 + 10 == 104_938


def test_compile_uses_adam_categorical_crossentropy_and_accuracy():
    model = mnist_ann.compile_model(mnist_ann.build_model(), 1e-3)
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)  # stored as float32
    assert isinstance(model.loss, keras.losses.CategoricalCrossentropy)
    assert model.loss.get_config()["label_smoothing"] == 0.0
    smoothed = mnist_ann.compile_model(mnist_ann.build_model(), 1e-3, label_smoothing=0.1)
    assert smoothed.loss.get_config()["label_smoothing"] == pytest.approx(0.1)
