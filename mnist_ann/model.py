"""The network: 784 inputs -> Dense 128 ReLU -> Dense 32 ReLU -> Dense 10 softmax."""

from __future__ import annotations

import keras

from mnist_ann.augment import PIXELS

INPUT_SIZE = PIXELS  # one input per pixel of the flattened 28x28 image
NUM_CLASSES = 10
HIDDEN = (128, 32)  # neurons in each hidden layer


def build_model(hidden: tuple[int, ...] = HIDDEN, activation: str | None = "relu") -> keras.Sequential:
    """The 784-128-32-10 feed-forward network (104,938 parameters) as a keras.Sequential, not yet compiled.

    `hidden` and `activation` change it for experiments: `hidden=()` is a linear model, `activation=None` drops ReLU.
    """
    layers = [
        keras.Input(shape=(INPUT_SIZE,), name="pixels"),
        *(keras.layers.Dense(units, activation=activation, name=f"hidden_{i}") for i, units in enumerate(hidden, 1)),
        keras.layers.Dense(NUM_CLASSES, activation="softmax", name="digit"),
    ]
    return keras.Sequential(layers, name="mnist_ann")


def network_layout(model: keras.Model) -> str:
    """The layers of a built model in one line, for comparing two networks: "784 -> Dense 128 relu -> ..."."""
    parts = [str(model.inputs[0].shape[-1])]
    for layer in model.layers:
        config = layer.get_config()
        parts.append(f"{type(layer).__name__} {config.get('units', '')} {config.get('activation', '')}".strip())
    return " -> ".join(parts) + f" ({model.count_params():,} parameters)"


def compile_model(
    model: keras.Model, learning_rate=1e-3, *, loss="categorical_crossentropy", **settings
) -> keras.Model:
    """Compile with Adam (`learning_rate` may be a schedule), a loss (default categorical cross-entropy) and
    accuracy; `settings` go to `model.compile` as they are (`steps_per_execution`, ...)."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss=loss, metrics=["accuracy"], **settings
    )
    return model
