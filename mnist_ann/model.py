"""The network: 784 inputs -> Dense 128 ReLU -> Dense 32 ReLU -> Dense 10 softmax."""

from __future__ import annotations

from pathlib import Path

import keras

from mnist_ann.augment import deskew
from mnist_ann.data import PIXELS
from mnist_ann.files import ModelFileError, exception_reason

INPUT_SIZE = PIXELS  # one input per pixel of the flattened 28x28 image
NUM_CLASSES = 10
HIDDEN = (128, 32)  # neurons in each hidden layer


@keras.saving.register_keras_serializable(package="mnist_ann")
class Deskew(keras.layers.Layer):
    """Straightens each flattened digit before the network reads it (deskewing, as in LeCun et al.'s MNIST table):
    shears its rows sideways so that its ink's slant (the covariance of row and column over the variance of the rows,
    each pixel weighted by its ink) becomes zero, and moves its centre of ink to the middle of the image. No weights:
    the network behind it stays the 784-128-32-10 one, and whoever uses the model (evaluation, prediction, the
    validation during training) gets the same step. An empty image stays empty.

    In training it passes its input through as it is: a recipe that deskews (`Recipe.deskew`) has its training
    digits deskewed once, before they are distorted (`EpochBatches`), since a distortion made after deskewing keeps
    the variety that deskewing would take out again."""

    def call(self, x, training=False):
        return x if training else deskew(x)


def build_model(
    hidden: tuple[int, ...] = HIDDEN, activation: str | None = "relu", *, deskew: bool = False
) -> keras.Sequential:
    """The 784-128-32-10 feed-forward network (104,938 parameters) as a keras.Sequential, not yet compiled.

    `hidden` and `activation` change it for experiments: `hidden=()` is a linear model, `activation=None` drops ReLU.
    `deskew` puts a `Deskew` step in front of it (no parameters).
    """
    layers = [
        keras.Input(shape=(INPUT_SIZE,), name="pixels"),
        *([Deskew(name="deskew")] if deskew else []),
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


def compile_model(model: keras.Model, learning_rate=1e-3, **settings) -> keras.Model:
    """Compile with Adam (`learning_rate` may be a schedule), categorical cross-entropy and accuracy; `settings` go to
    `model.compile` as they are (`steps_per_execution`, ...)."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
        **settings,
    )
    return model


def load_model(path: str | Path) -> keras.Model:
    """Load a saved 784-input, 10-class model of any recipe (a deskewing one's `Deskew` layer included), in Keras's
    safe mode, which runs no code from the file. Plain `keras.saving.load_model` loads `fast`'s and `original`'s
    too, but not a deskewing recipe's without this module imported first, since Keras looks up only its own
    packages' classes by itself."""
    file = Path(path)
    if not file.is_file():
        raise ModelFileError(f"model file {path} does not exist; pass the model.keras that `mnist-ann train` wrote.")
    try:
        model = keras.saving.load_model(file, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a bad file; all mean the same to the user
        if "safe_mode" in str(exc):  # the file holds Python code (a Lambda layer, say), which safe mode never runs
            raise ModelFileError(
                f"model file {path} holds Python code (a Lambda layer, say), which Keras's safe mode refuses to run "
                "because code in a file can do anything; if you trust the file, load it yourself with "
                "keras.saving.load_model(path, safe_mode=False)."
            ) from None
        raise ModelFileError(
            f"model file {path} cannot be loaded as a Keras model ({exception_reason(exc)}); pass the model.keras "
            "that `mnist-ann train` wrote."
        ) from None
    if tuple(model.input_shape) != (None, INPUT_SIZE) or tuple(model.output_shape) != (None, NUM_CLASSES):
        raise ModelFileError(
            f"model file {path} takes {model.input_shape} and gives {model.output_shape}, "
            "not 784 pixels in and 10 digit probabilities out; use a model written by `mnist-ann train`."
        )
    return model
