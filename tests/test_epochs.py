"""EpochBatches serve the notebook's tf.data batches; an epoch's batches per call train exactly like one per call."""

from __future__ import annotations

import json
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf

import mnist_ann
from conftest import synthetic_digits
from mnist_ann.augment import distort_batch
from mnist_ann.data import one_hot
from mnist_ann.epochs import AUGMENT_STREAM, EpochBatches
from mnist_ann.model import build_model, compile_model


@pytest.fixture
def tiny():
    images, labels = synthetic_digits(300, seed=4)
    return mnist_ann.preprocess(images), one_hot(labels)


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


def _train(x, y, per_call: int, epochs: int = 2, augment: str = "shift", first_epoch: int = 0, model=None):
    """Train on EpochBatches with `per_call` batches per call into TensorFlow (compile's steps_per_execution)."""
    keras.utils.set_random_seed(0)
    if model is None:
        model = compile_model(build_model(), 3e-3, steps_per_execution=per_call)
    batches = EpochBatches(x[:270], y[:270], 64, seed=3, augment=augment)
    history = model.fit(
        batches.dataset(epochs, first_epoch),
        steps_per_epoch=batches.steps,
        validation_data=(x[270:], y[270:]),
        validation_batch_size=30,
        epochs=epochs,
        initial_epoch=first_epoch,
        shuffle=False,
        verbose=0,
    )
    return model, history.history


@pytest.mark.parametrize("augment", ["none", "shift", "elastic"])
def test_an_epoch_per_call_trains_bit_for_bit_like_one_call_per_batch(tiny, augment):
    """What `mnist_ann.fit` does (steps_per_execution: an epoch's 5 batches per call) is what the notebook's plain
    `model.fit` does, one batch per call: the same numbers, so the command line prints the notebook's log."""
    x, y = tiny
    epoch_model, epoch_history = _train(x, y, 5, epochs=3, augment=augment)
    batch_model, batch_history = _train(x, y, 1, epochs=3, augment=augment)
    assert epoch_history.keys() == batch_history.keys() == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert epoch_history == batch_history
    for a, b in zip(epoch_model.get_weights(), batch_model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert epoch_history["accuracy"][-1] > epoch_history["accuracy"][0]


def test_fit_calls_tensorflow_once_an_epoch(tiny, monkeypatch):
    """mnist_ann.fit sets steps_per_execution to an epoch's batches; a test that fails when it stops doing so."""
    x, y = tiny
    seen = {}
    compile_model = mnist_ann.training.compile_model

    def spy(model, *args, **settings):
        seen.update(settings)
        return compile_model(model, *args, **settings)

    monkeypatch.setattr(mnist_ann.training, "compile_model", spy)
    recipe = mnist_ann.get_recipe("fast").changed(batch_size=64, epochs=1)
    mnist_ann.fit(build_model(), (x[:270], y[:270]), (x[270:], y[270:]), recipe, verbose=0)
    assert seen["steps_per_execution"] == 5  # 270 images in batches of 64


def test_a_resumed_run_repeats_the_uninterrupted_one(tiny):
    x, y = tiny
    uninterrupted, history = _train(x, y, 5, epochs=3)
    first, _ = _train(x, y, 5, epochs=1)
    state = [v.numpy() for v in first.weights + first.optimizer.variables]
    resumed = compile_model(build_model(), 3e-3, steps_per_execution=5)  # as a new process would
    resumed.optimizer.build(resumed.trainable_variables)
    for variable, value in zip(resumed.weights + resumed.optimizer.variables, state, strict=True):
        variable.assign(value)
    _, resumed_history = _train(x, y, 5, epochs=3, first_epoch=1, model=resumed)
    assert resumed_history == {key: values[1:] for key, values in history.items()}
    for a, b in zip(uninterrupted.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_an_elastic_epoch_is_each_chunk_distorted_by_its_own_seed_in_the_epochs_order_with_its_labels(tiny):
    x, y = tiny
    keras.utils.set_random_seed(1)
    batches = EpochBatches(x, y, 64, seed=1, augment="elastic")
    pairs = [(np.asarray(images), np.asarray(labels)) for images, labels in batches.dataset(1)]
    images, labels = (np.concatenate([pair[k] for pair in pairs]) for k in (0, 1))
    keras.utils.set_random_seed(1)
    order = EpochBatches(x, y, 64, seed=1).orders(1)[0]
    np.testing.assert_array_equal(labels, y[order])  # every label travels with its image
    expected = distort_batch(tf.gather(np.asarray(x, np.float32), order), tf.constant([1, AUGMENT_STREAM], tf.int64))
    np.testing.assert_allclose(images, expected.numpy(), atol=1e-6)  # chunk 0 of epoch 0, in the epoch's order
    assert not np.allclose(images, x[order], atol=1e-3)


def test_bad_choices_are_named(tiny):
    with pytest.raises(ValueError, match="unknown augment 'rotate'"):
        EpochBatches(*tiny, 32, augment="rotate")
    with pytest.raises(ValueError, match="as many labels as images"):
        EpochBatches(tiny[0], tiny[1][:-1], 32)


def test_the_saved_model_is_a_plain_sequential_that_loads_without_mnist_ann(tmp_path, tiny):
    model = build_model()
    path = tmp_path / "model.keras"
    model.save(path)
    config = json.loads(zipfile.ZipFile(path).read("config.json"))
    assert config["class_name"] == "Sequential" and config["module"] == "keras"
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(loaded.predict(tiny[0][:5], verbose=0), model.predict(tiny[0][:5], verbose=0))
