"""The network: 784 inputs -> Dense 128 ReLU -> Dense 32 ReLU -> Dense 10 softmax."""

from __future__ import annotations

import keras

INPUT_SIZE = 28 * 28
NUM_CLASSES = 10


def build_model() -> keras.Sequential:
    """The 784-128-32-10 feed-forward network (104,938 trainable parameters), not yet compiled."""
    return keras.Sequential(
        [
            keras.Input(shape=(INPUT_SIZE,), name="pixels"),
            keras.layers.Dense(128, activation="relu", name="hidden_1"),
            keras.layers.Dense(32, activation="relu", name="hidden_2"),
            keras.layers.Dense(NUM_CLASSES, activation="softmax", name="digit"),
        ],
        name="mnist_ann",
    )


def compile_model(
    model: keras.Model,
    learning_rate=1e-3,
    *,
    jit_compile: bool | str = "auto",
    steps_per_execution: int = 1,
) -> keras.Model:
    """Compile with Adam, categorical cross-entropy and accuracy; `learning_rate` may be a schedule."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=jit_compile,
        steps_per_execution=steps_per_execution,
    )
    return model
