"""EpochBatches serve the notebook's tf.data batches; a whole-epoch call trains exactly like one call per batch."""

from __future__ import annotations

import json
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf

import mnist_ann
from conftest import synthetic_digits
from mnist_ann.epochs import EpochBatches, Network
from mnist_ann.model import build_model, compile_model, portable_copy


@pytest.fixture
def tiny():
    images, labels = synthetic_digits(300, seed=4)
    return mnist_ann.preprocess(images), mnist_ann.one_hot(labels)


def _epochs(dataset: tf.data.Dataset, steps: int) -> list[np.ndarray]:
    """Each epoch's images, batch after batch."""
    batches = [batch[0].numpy() for batch in dataset]
    return [np.concatenate(batches[start : start + steps]) for start in range(0, len(batches), steps)]


@pytest.mark.parametrize("augment", ["none", "shift", "elastic"])
def test_each_epoch_has_its_own_order_and_a_resumed_run_gets_the_same_epochs(tiny, augment):
    x, y = tiny
    keras.utils.set_random_seed(1)
    batches = EpochBatches(x, y, 64, seed=1, augment=augment)
    epochs = _epochs(batches.dataset(3), batches.steps)
    assert len(epochs) == 3 and all(len(epoch) == len(x) for epoch in epochs)
    assert not np.array_equal(epochs[0], epochs[1]) and not np.array_equal(epochs[1], epochs[2])
    keras.utils.set_random_seed(1)  # a new process resuming at epoch 2
    resumed = EpochBatches(x, y, 64, seed=1, augment=augment)
    [last] = _epochs(resumed.dataset(3, first_epoch=2), resumed.steps)
    np.testing.assert_array_equal(last, epochs[2])
    keras.utils.set_random_seed(1)
    other_seed = EpochBatches(x, y, 64, seed=2, augment=augment)
    assert not np.array_equal(_epochs(other_seed.dataset(1), other_seed.steps)[0], epochs[0])


def test_the_orders_are_the_passes_of_the_notebooks_shuffle(tiny):
    x, y = tiny
    keras.utils.set_random_seed(3)
    rows = tf.data.Dataset.from_tensor_slices((x, np.arange(len(x)))).shuffle(len(x), seed=3).repeat()
    passes = iter(rows.batch(len(x)))
    notebook = [next(passes)[1].numpy() for _ in range(3)]
    keras.utils.set_random_seed(3)
    np.testing.assert_array_equal(EpochBatches(x, y, 64, seed=3).orders(3), np.stack(notebook))
    keras.utils.set_random_seed(3)
    np.testing.assert_array_equal(EpochBatches(x, y, 64, seed=3).orders(3, first_epoch=2), np.stack(notebook[2:]))


@pytest.mark.parametrize("augment", ["none", "shift", "elastic"])
def test_an_epoch_covers_every_example_once_with_its_own_label(tiny, augment):
    x, y = tiny
    batches = EpochBatches(x, y, 64, seed=1, augment=augment)
    parts = list(batches.dataset(1))
    images = np.concatenate([p[0].numpy() for p in parts])
    labels = np.concatenate([p[1].numpy() for p in parts])
    assert images.shape == x.shape and images.dtype == np.float32 and 0 <= images.min() <= images.max() <= 1
    # Augmentation never changes a label: the epoch's labels are the data's labels, reordered.
    np.testing.assert_array_equal(np.sort(labels.argmax(1)), np.sort(y.argmax(1)))
    if augment == "none":  # un-augmented, every image appears exactly once, next to its label
        rows = {row.tobytes(): label for row, label in zip(x, y.argmax(1), strict=True)}
        assert sorted(rows[r.tobytes()] for r in images) == sorted(y.argmax(1))


def _train(x, y, whole: bool, epochs: int = 2, augment: str = "shift", first_epoch: int = 0, model=None):
    keras.utils.set_random_seed(0)
    if model is None:
        model = compile_model(build_model(model_class=Network) if whole else build_model(), 3e-3)
    batches = EpochBatches(x[:270], y[:270], 64, seed=3, augment=augment)
    validation = (x[270:], y[270:])
    settings = dict(epochs=epochs, initial_epoch=first_epoch, shuffle=False, verbose=0)
    if whole:
        history = model.fit(batches.whole_epochs(epochs, validation, first_epoch), steps_per_epoch=1, **settings)
    else:
        data = batches.dataset(epochs, first_epoch)
        history = model.fit(
            data, steps_per_epoch=batches.steps, validation_data=validation, validation_batch_size=30, **settings
        )
    return model, history.history


@pytest.mark.parametrize("augment", ["none", "shift", "elastic"])
def test_a_whole_epoch_per_call_trains_bit_for_bit_like_one_call_per_batch(tiny, augment):
    x, y = tiny
    whole_model, whole_history = _train(x, y, True, epochs=3, augment=augment)
    step_model, step_history = _train(x, y, False, epochs=3, augment=augment)
    assert whole_history.keys() == step_history.keys() == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert whole_history == step_history  # validation too: scored in one batch both ways
    for a, b in zip(whole_model.get_weights(), step_model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert whole_history["accuracy"][-1] > whole_history["accuracy"][0]


def test_validation_given_to_fit_instead_gives_the_same_numbers(tiny):
    x, y = tiny

    def fit(validation=None, **kwargs):
        keras.utils.set_random_seed(0)
        model = compile_model(build_model(model_class=Network), 3e-3)
        batches = EpochBatches(x[:270], y[:270], 64, seed=3, augment="shift")
        data = batches.whole_epochs(2, validation)
        return model.fit(data, steps_per_epoch=1, epochs=2, shuffle=False, verbose=0, **kwargs).history

    in_the_step = fit((x[270:], y[270:]))
    by_keras = fit(validation_data=tf.data.Dataset.from_tensor_slices((x[270:], y[270:])).batch(7))
    for key, values in in_the_step.items():
        np.testing.assert_allclose(values, by_keras[key], rtol=1e-5, err_msg=key)
    every_other = fit(validation_data=(x[270:], y[270:]), validation_freq=2)
    assert len(every_other["loss"]) == 2 and every_other["val_loss"] == pytest.approx(in_the_step["val_loss"][1:])


@pytest.mark.parametrize("whole", [True, False], ids=["whole-epochs", "per-batch"])
def test_a_resumed_run_repeats_the_uninterrupted_one(tiny, whole):
    x, y = tiny
    uninterrupted, history = _train(x, y, whole, epochs=3)
    first, _ = _train(x, y, whole, epochs=1)
    state = [v.numpy() for v in first.weights + first.optimizer.variables]
    resumed = compile_model(build_model(model_class=Network) if whole else build_model(), 3e-3)  # a new process
    resumed.optimizer.build(resumed.trainable_variables)
    for variable, value in zip(resumed.weights + resumed.optimizer.variables, state, strict=True):
        variable.assign(value)
    _, resumed_history = _train(x, y, whole, epochs=3, first_epoch=1, model=resumed)
    assert resumed_history == {key: values[1:] for key, values in history.items()}
    for a, b in zip(uninterrupted.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_network_is_keras_on_anything_else(tiny):
    x, y = tiny
    model = compile_model(build_model(model_class=Network))
    history = model.fit(x, y, batch_size=50, epochs=1, verbose=0)
    assert set(history.history) == {"loss", "accuracy"}


def test_compile_creates_the_optimizer_and_metric_variables_so_the_step_is_traced_once(tiny):
    model = compile_model(build_model(model_class=Network))
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
    model = build_model(model_class=Network)
    path = tmp_path / "model.keras"
    portable_copy(model).save(path)
    config = json.loads(zipfile.ZipFile(path).read("config.json"))
    assert config["class_name"] == "Sequential" and config["module"] == "keras"
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(loaded.predict(tiny[0][:5], verbose=0), model.predict(tiny[0][:5], verbose=0))
