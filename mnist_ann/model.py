"""The network: 784 inputs -> Dense 128 ReLU -> Dense 32 ReLU -> Dense 10 softmax."""

from __future__ import annotations

import keras

from mnist_ann.augment import PIXELS, SIDE, deskew

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


def build_teacher(*, deskew: bool = False) -> keras.Sequential:
    """A small convolutional network (52,266 parameters) for a recipe with a teacher (`Recipe.teacher_epochs`): it
    reads the same flattened digits and learns on them first, and the 784-128-32-10 network then learns from its
    answers. Two 2x2-pooled convolutions (8 filters of 5x5, then 16 of 3x3) see strokes wherever they are, which a
    dense layer has to learn place by place. Its last Dense layer, "logits", gives the scores its softmax turns into
    probabilities: `training.soft_targets` softens them. `deskew` as `build_model`'s."""
    layers = [
        keras.Input(shape=(INPUT_SIZE,), name="pixels"),
        *([Deskew(name="deskew")] if deskew else []),
        keras.layers.Reshape((SIDE, SIDE, 1), name="image"),
        keras.layers.Conv2D(8, 5, padding="same", activation="relu", name="strokes"),
        keras.layers.MaxPooling2D(name="pool_1"),
        keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="parts"),
        keras.layers.MaxPooling2D(name="pool_2"),
        keras.layers.Flatten(name="flat"),
        keras.layers.Dense(64, activation="relu", name="hidden"),
        keras.layers.Dense(NUM_CLASSES, name="logits"),
        keras.layers.Activation("softmax", name="digit"),
    ]
    return keras.Sequential(layers, name="teacher")


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
