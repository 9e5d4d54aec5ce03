"""The network's exact shape, its variations for experiments, and its compile step."""

from __future__ import annotations

import keras
import pytest

import mnist_ann


def test_architecture_is_exactly_784_128_32_10():
    model = mnist_ann.build_model()
    assert type(model) is keras.Sequential  # the lesson's network: plain Keras
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.units for layer in dense] == [128, 32, 10]
    assert [layer.activation.__name__ for layer in dense] == ["relu", "relu", "softmax"]
    assert model.input_shape == (None, 784)
    # Independent count: (784*128 + 128) + (128*32 + 32) + (32*10 + 10).
    assert model.count_params() == 784 * 128 + 128 + 128 * 32 + 32 + 32 * 10 + 10 == 104_938


def test_the_experiments_variations_are_what_they_say():
    linear = mnist_ann.build_model(hidden=())
    assert mnist_ann.network_layout(linear) == "784 -> Dense 10 softmax (7,850 parameters)"
    no_relu = mnist_ann.build_model(activation=None)
    assert [layer.get_config()["activation"] for layer in no_relu.layers] == ["linear", "linear", "softmax"]
    assert mnist_ann.build_model(hidden=(64, 32)).count_params() == 784 * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10


def test_compile_uses_adam_categorical_crossentropy_and_accuracy():
    model = mnist_ann.compile_model(mnist_ann.build_model(), 1e-3)
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)  # stored as float32
    assert model.loss == "categorical_crossentropy"  # the notebook's own spelling: the same loss, bit for bit
    smoothed = keras.losses.CategoricalCrossentropy(label_smoothing=0.1)
    assert mnist_ann.compile_model(mnist_ann.build_model(), 1e-3, loss=smoothed).loss is smoothed
    assert mnist_ann.compile_model(mnist_ann.build_model(), 1e-3, steps_per_execution=7).steps_per_execution == 7
