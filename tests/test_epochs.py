"""EpochBatches are keyed by (seed, epoch); a whole-epoch call trains exactly like one call per batch."""

from __future__ import annotations

import json
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf

import mnist_ann
from conftest import synthetic_digits
from mnist_ann.epochs import EpochBatches, _as_float
from mnist_ann.model import build_model, compile_model, portable_copy


@pytest.fixture
def tiny():
    images, labels = synthetic_digits(300, seed=4)
    return mnist_ann.preprocess(images), mnist_ann.one_hot(labels)


def _epoch(batches: EpochBatches, epoch: int) -> tuple[np.ndarray, np.ndarray]:
    batches.epoch.assign(epoch)
    order = batches.order()
    parts = [batches.batch(order, step) for step in range(batches.steps)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


@pytest.mark.parametrize("augment", ["none", "shift", "elastic"])
def test_batches_depend_only_on_seed_and_epoch(tiny, augment):
    x, y = tiny
    first = EpochBatches(x, y, 64, seed=1, augment=augment)
    again = EpochBatches(x, y, 64, seed=1, augment=augment)  # a resumed run builds its batches anew
    epoch_2 = _epoch(first, 2)
    _epoch(again, 0)  # whatever came before...
    np.testing.assert_array_equal(_epoch(again, 2)[0], epoch_2[0])  # ...epoch 2 is epoch 2
    assert not np.array_equal(_epoch(first, 3)[0], epoch_2[0])
    assert not np.array_equal(_epoch(EpochBatches(x, y, 64, seed=2, augment=augment), 2)[0], epoch_2[0])


@pytest.mark.parametrize("augment", ["none", "shift", "elastic"])
def test_an_epoch_covers_every_example_once_with_its_own_label(tiny, augment):
    x, y = tiny
    images, labels = _epoch(EpochBatches(x, y, 64, seed=1, augment=augment), 1)
    assert images.shape == x.shape and images.dtype == np.float32 and 0 <= images.min() <= images.max() <= 1
    # Augmentation never changes a label: the epoch's labels are the data's labels, reordered.
    np.testing.assert_array_equal(np.sort(labels.argmax(1)), np.sort(y.argmax(1)))
    if augment == "none":  # un-augmented, every image appears exactly once, next to its label
        rows = {row.tobytes(): label for row, label in zip(x, y.argmax(1), strict=True)}
        assert sorted(rows[r.tobytes()] for r in images) == sorted(y.argmax(1))


@pytest.mark.parametrize("augment", ["none", "shift", "elastic"])
def test_uint8_images_give_the_very_batches_normalized_floats_give(augment):
    images, labels = synthetic_digits(300, seed=4)
    pixels, y = mnist_ann.flatten(images), mnist_ann.one_hot(labels)
    assert pixels.dtype == np.uint8
    as_uint8 = _epoch(EpochBatches(pixels, y, 64, seed=1, augment=augment), 2)
    as_float = _epoch(EpochBatches(mnist_ann.preprocess(images), y, 64, seed=1, augment=augment), 2)
    assert as_uint8[0].dtype == np.float32
    np.testing.assert_array_equal(as_uint8[0], as_float[0])
    np.testing.assert_array_equal(as_uint8[1], as_float[1])


def test_floats_that_are_normalized_pixels_are_kept_as_pixels_and_other_floats_as_floats():
    images, labels = synthetic_digits(50, seed=4)
    pixels, y = mnist_ann.flatten(images), mnist_ann.one_hot(labels)
    assert EpochBatches(mnist_ann.normalize(pixels), y, 16).x.dtype == tf.uint8  # a quarter of the memory
    halved = mnist_ann.normalize(pixels) * np.float32(0.5)  # not k / 255 for every pixel
    unscaled = pixels.astype(np.float32)  # 0-255: "no scaling"
    for floats in (halved, unscaled, mnist_ann.normalize(pixels) + np.float32(1e-7)):
        kept = EpochBatches(floats, y, 16).x
        assert kept.dtype == tf.float32
        np.testing.assert_array_equal(kept.numpy(), floats)


def test_pixels_are_scaled_bit_for_bit_as_normalize_does_in_every_tensorflow_mode():
    pixels = np.arange(256, dtype=np.uint8)  # every value a pixel can take
    expected = mnist_ann.normalize(pixels)
    assert expected[0] == 0.0 and expected[-1] == 1.0
    eager = _as_float(tf.constant(pixels))
    graph = tf.function(_as_float)(tf.constant(pixels))  # a graph may rewrite x / 255 as x * (1 / 255)
    mapped = next(iter(tf.data.Dataset.from_tensors(pixels).map(_as_float)))
    for scaled in (eager, graph, mapped):
        np.testing.assert_array_equal(scaled.numpy(), expected)


def _train(x, y, loop: str, epochs: int = 2, augment: str = "shift"):
    keras.utils.set_random_seed(0)
    model = compile_model(build_model(), 3e-3, label_smoothing=0.1)
    batches = EpochBatches(x[:270], y[:270], 64, seed=3, augment=augment)
    validation = (x[270:], y[270:])
    if loop == "epoch":
        history = model.fit(
            batches.whole_epochs(validation), steps_per_epoch=1, epochs=epochs, shuffle=False, verbose=0
        )
    else:
        data, callbacks = batches.dataset, [batches.callback]
        history = model.fit(
            data, epochs=epochs, validation_data=validation, shuffle=False, callbacks=callbacks, verbose=0
        )
    return model, history.history


@pytest.mark.parametrize("augment", ["none", "shift", "elastic"])
def test_a_whole_epoch_per_call_trains_like_one_call_per_batch(tiny, augment):
    x, y = tiny
    epoch_model, epoch_history = _train(x, y, "epoch", epochs=3, augment=augment)
    step_model, step_history = _train(x, y, "step", epochs=3, augment=augment)
    # The same batches; the distortion's sampling positions are computed in another graph (tf.data's), where
    # TensorFlow may fuse the float arithmetic differently, so its weights may differ in the last bits.
    atol = 1e-5 if augment == "elastic" else 1e-6
    for a, b in zip(epoch_model.get_weights(), step_model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=atol)
    assert epoch_history.keys() == step_history.keys() == {"loss", "accuracy", "val_loss", "val_accuracy"}
    for key, values in epoch_history.items():
        np.testing.assert_allclose(values, step_history[key], rtol=1e-4, err_msg=key)
    assert epoch_history["accuracy"][-1] > epoch_history["accuracy"][0]


def test_the_notebooks_plain_keras_way_trains_like_the_whole_epoch_call(tiny):
    """A plain keras.Sequential with steps_per_execution on `batches.dataset` (the notebook's closing note) against
    a Network on whole epochs. Same batches in the same order: the same history."""
    x, y = tiny
    network_model, network_history = _train(x, y, "epoch")
    keras.utils.set_random_seed(0)
    plain = keras.Sequential(  # the notebook's network, built in the same order, so with the same weights
        [
            keras.Input(shape=(784,)),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    batches = EpochBatches(x[:270], y[:270], 64, seed=3, augment="shift")
    plain.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1),
        metrics=["accuracy"],
        steps_per_execution=batches.steps,
    )
    history = plain.fit(
        batches.dataset,
        epochs=2,
        validation_data=(x[270:], y[270:]),
        shuffle=False,
        callbacks=[batches.callback],
        verbose=0,
    ).history
    for key, values in network_history.items():
        np.testing.assert_allclose(values, history[key], rtol=1e-5, err_msg=key)
    for a, b in zip(network_model.get_weights(), plain.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_validation_given_to_fit_instead_gives_the_same_numbers(tiny):
    x, y = tiny

    def fit(validation=None, **kwargs):
        keras.utils.set_random_seed(0)
        model = compile_model(build_model(), 3e-3)
        batches = EpochBatches(x[:270], y[:270], 64, seed=3, augment="shift")
        data = batches.whole_epochs(validation)
        return model.fit(data, steps_per_epoch=1, epochs=2, shuffle=False, verbose=0, **kwargs).history

    in_the_step = fit((x[270:], y[270:]))
    by_keras = fit(validation_data=tf.data.Dataset.from_tensor_slices((x[270:], y[270:])).batch(7))
    for key, values in in_the_step.items():
        np.testing.assert_allclose(values, by_keras[key], rtol=1e-5, err_msg=key)
    every_other = fit(validation_data=(x[270:], y[270:]), validation_freq=2)
    assert len(every_other["loss"]) == 2 and every_other["val_loss"] == pytest.approx(in_the_step["val_loss"][1:])


def test_a_resumed_run_takes_its_epoch_from_the_optimizer_and_repeats_the_uninterrupted_one(tiny):
    x, y = tiny
    whole, whole_history = _train(x, y, "epoch", epochs=3)
    keras.utils.set_random_seed(0)
    model = compile_model(build_model(), 3e-3, label_smoothing=0.1)
    batches = EpochBatches(x[:270], y[:270], 64, seed=3, augment="shift")
    model.fit(batches.whole_epochs(), steps_per_epoch=1, epochs=1, shuffle=False, verbose=0)
    state = [v.numpy() for v in model.weights + model.optimizer.variables]
    resumed = compile_model(build_model(), 3e-3, label_smoothing=0.1)  # a new process: new model, new batches
    for variable, value in zip(resumed.weights + resumed.optimizer.variables, state, strict=True):
        variable.assign(value)
    again = EpochBatches(x[:270], y[:270], 64, seed=3, augment="shift")
    data = again.whole_epochs((x[270:], y[270:]))
    history = resumed.fit(data, steps_per_epoch=1, epochs=3, initial_epoch=1, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["val_loss"], whole_history["val_loss"][1:], rtol=1e-5)
    for a, b in zip(whole.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_a_network_is_keras_on_anything_else(tiny):
    x, y = tiny
    model = compile_model(build_model())
    history = model.fit(x, y, batch_size=50, epochs=1, verbose=0)
    assert set(history.history) == {"loss", "accuracy"}


def test_compile_creates_the_optimizer_and_metric_variables_so_the_step_is_traced_once(tiny):
    model = compile_model(build_model())
    assert model.optimizer.built and len(model.optimizer.variables) > len(model.trainable_variables)
    names = {variable.path.split("/")[0] for variable in model.metrics_variables}
    assert {"loss", "accuracy"} <= names, names  # built now, not inside the first compiled step...
    assert all(not np.any(variable.numpy()) for variable in model.metrics_variables)  # ...and counting nothing yet


def test_bad_choices_are_named(tiny):
    with pytest.raises(ValueError, match="unknown augment 'rotate'"):
        EpochBatches(*tiny, 32, augment="rotate")
    with pytest.raises(ValueError, match="as many labels as images"):
        EpochBatches(tiny[0], tiny[1][:-1], 32)


def test_the_saved_model_is_a_plain_sequential_that_loads_without_mnist_ann(tmp_path, tiny):
    model = build_model()
    path = tmp_path / "model.keras"
    portable_copy(model).save(path)
    config = json.loads(zipfile.ZipFile(path).read("config.json"))
    assert config["class_name"] == "Sequential" and config["module"] == "keras"
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(loaded.predict(tiny[0][:5], verbose=0), model.predict(tiny[0][:5], verbose=0))
