"""The network: 784 inputs -> Dense 128 ReLU -> Dense 32 ReLU -> Dense 10 softmax."""

from __future__ import annotations

import keras

from mnist_ann.augment import PIXELS
from mnist_ann.epochs import Network

INPUT_SIZE = PIXELS  # one input per pixel of the flattened 28x28 image
NUM_CLASSES = 10


def build_model() -> Network:
    """The 784-128-32-10 feed-forward network (104,938 trainable parameters), not yet compiled."""
    return Network(
        [
            keras.Input(shape=(INPUT_SIZE,), name="pixels"),
            keras.layers.Dense(128, activation="relu", name="hidden_1"),
            keras.layers.Dense(32, activation="relu", name="hidden_2"),
            keras.layers.Dense(NUM_CLASSES, activation="softmax", name="digit"),
        ],
        name="mnist_ann",
    )


def network_layout(model: keras.Model) -> str:
    """The layers of a built model in one line, for comparing two networks: "784 -> Dense 128 relu -> ..."."""
    parts = [str(model.inputs[0].shape[-1])]
    for layer in model.layers:
        config = layer.get_config()
        parts.append(f"{type(layer).__name__} {config.get('units', '')} {config.get('activation', '')}".strip())
    return " -> ".join(parts) + f" ({model.count_params():,} parameters)"


def compile_model(model: keras.Model, learning_rate=1e-3, *, label_smoothing: float = 0.0) -> keras.Model:
    """Compile with Adam, categorical cross-entropy and accuracy; `learning_rate` may be a schedule."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing),
        metrics=["accuracy"],
    )
    return model


def portable_copy(model: keras.Model) -> keras.Sequential:
    """A plain keras.Sequential sharing `model`'s layers: a .keras file of it loads wherever Keras does,
    without mnist_ann installed."""
    return keras.Sequential([keras.Input(shape=(INPUT_SIZE,), name="pixels"), *model.layers], name=model.name)
