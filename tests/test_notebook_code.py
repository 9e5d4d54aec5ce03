"""The notebook's own code, run here on small data: its preparation, network, batches and training are mnist_ann's,
and its arithmetic by hand (the forward pass and backpropagation) is right, and caught when made wrong.

The notebook shows these as code a learner reads and edits; the command line and the benchmark use the same steps
from mnist_ann. These tests run the notebook's cells themselves (nbval runs the whole notebook on the real data).
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import time
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import nbformat
import numpy as np
import pytest
import tensorflow as tf

import mnist_ann
from conftest import synthetic_digits
from mnist_ann.data import one_hot

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "MNIST-NN.ipynb"
CELLS = [c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code"]


def cell(marker: str) -> str:
    """The one code cell that contains `marker`."""
    [source] = [source for source in CELLS if marker in source]
    return source


def run(namespace: dict, *sources: str) -> dict:
    """Run notebook code in `namespace`, quietly, and return the namespace."""
    with contextlib.redirect_stdout(io.StringIO()):
        for source in sources:
            exec(compile(source, str(NOTEBOOK), "exec"), namespace)  # noqa: S102 (the project's own notebook)
    return namespace


def prepared(n_train: int = 600, n_test: int = 13) -> dict:
    """The notebook's namespace after its settings, preparation and network cells, on synthetic digits."""
    (x_train, y_train), (x_test, y_test) = synthetic_digits(n_train, seed=5), synthetic_digits(n_test, seed=6)
    x_train[0, 0, :] = np.arange(28) * 9  # pixel values all over 0-255
    namespace = {"np": np, "tf": tf, "keras": keras, "mnist_ann": mnist_ann, "math": math, "time": time, "os": os}
    namespace |= {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    markers = ("HIDDEN_1 = 128", "x_train_scaled =", "x_train_flat =", "y_train_onehot =", "n_val =", "def build_model")
    return run(namespace, *(cell(marker) for marker in markers))


def test_the_notebooks_preparation_is_mnist_anns_bit_for_bit():
    # 59 examples: 10% is 5.9, so a split that floors instead of rounding would differ from mnist_ann's.
    ns = prepared(n_train=59)
    (x_fit, y_fit), (x_val, y_val) = mnist_ann.training_split(ns["x_train"], ns["y_train"])
    for name, expected in (("x_fit", x_fit), ("y_fit", y_fit), ("x_val", x_val), ("y_val", y_val)):
        assert ns[name].dtype == expected.dtype and ns[name].tobytes() == expected.tobytes(), name  # not merely close
    assert ns["x_test_flat"].tobytes() == mnist_ann.preprocess(ns["x_test"]).tobytes()
    assert ns["y_test_onehot"].tobytes() == one_hot(ns["y_test"]).tobytes()


def test_the_notebooks_network_is_mnist_anns_and_plain_keras():
    ns = prepared()
    notebook, package = ns["build_model"](), mnist_ann.build_model()
    assert mnist_ann.network_layout(notebook) == mnist_ann.network_layout(package)
    assert [layer.name for layer in notebook.layers] == [layer.name for layer in package.layers]
    assert type(notebook) is keras.Sequential and notebook.count_params() == 104_938


def test_the_layout_tells_networks_apart():
    wider = keras.Sequential([keras.Input((784,)), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10)])
    assert mnist_ann.network_layout(wider) == "784 -> Dense 64 relu -> Dense 10 linear (50,890 parameters)"
    assert mnist_ann.network_layout(wider) != mnist_ann.network_layout(mnist_ann.build_model())


# --- the arithmetic by hand -----------------------------------------------------------------------


def _fresh(ns: dict) -> dict:
    """The namespace with the notebook's fresh network and its first training batch's gradients (section 5)."""
    mnist_ann.set_seed(0)
    ns["model"] = ns["build_model"]()
    return run(ns, cell("cross_entropy = keras.losses.CategoricalCrossentropy()"))


SOFTMAX = "def softmax(z):"
FORMULAS = "def backward("
GRADIENT_CHECK = "by_hand = backward(x_batch, y_batch, *weights)"
TINY = "tiny_x, tiny_y = "
FORWARD_CHECK = "by_hand = forward(x_test_flat[:5]"
WRONG_GRADIENTS = {
    "not averaged over the batch": ("dz3 = (p - y) / len(x)", "dz3 = p - y"),
    "ReLU's gradient left out": ("dz2 = (dz3 @ W3.T) * (z2 > 0)", "dz2 = dz3 @ W3.T"),
    "a bias's gradient averaged": ("db1 = x.T @ dz1, dz1.sum(axis=0)", "db1 = x.T @ dz1, dz1.mean(axis=0)"),
}


def test_the_hand_gradients_are_tensorflows():
    ns = run(_fresh(prepared()), cell(SOFTMAX), cell(FORMULAS), cell(GRADIENT_CHECK))  # its own check: within 1e-6
    assert len(ns["by_hand"]) == 6 and all(np.abs(g).max() > 1e-6 for g in ns["by_hand"])  # real gradients


@pytest.mark.parametrize("wrong", sorted(WRONG_GRADIENTS))
def test_a_wrong_gradient_formula_is_caught(wrong):
    right, mistake = WRONG_GRADIENTS[wrong]
    assert right in cell(FORMULAS)
    with pytest.raises(AssertionError):
        run(_fresh(prepared()), cell(SOFTMAX), cell(FORMULAS).replace(right, mistake), cell(GRADIENT_CHECK))
    with pytest.raises(AssertionError):  # the tiny network's nudges catch it too
        run({"np": np}, cell(SOFTMAX), cell(FORMULAS).replace(right, mistake), cell(TINY))


def test_the_hand_forward_pass_is_the_networks_and_a_missing_relu_is_caught():
    ns = run(_fresh(prepared()), cell(SOFTMAX), cell(FORMULAS), cell(FORWARD_CHECK))  # its own check: within 1e-5
    assert ns["by_hand"].shape == (5, 10) and np.allclose(ns["by_hand"].sum(axis=1), 1)
    for right, without_relu in (("h1 = np.maximum(z1, 0)", "h1 = z1"), ("h2 = np.maximum(z2, 0)", "h2 = z2")):
        assert right in cell(FORMULAS)
        with pytest.raises(AssertionError):
            run(_fresh(prepared()), cell(SOFTMAX), cell(FORMULAS).replace(right, without_relu), cell(FORWARD_CHECK))


# --- training by hand -----------------------------------------------------------------------------

LOOP = "params = [w - learning_rate * g for w, g in zip(params, grads)]"
LOOP_CELL = "shuffler = np.random.default_rng(SEED)"
LOOP_SETTINGS = "learning_rate, batch_size, epochs = 0.1, 64, 3"


def _loop(source: str | None = None) -> dict:
    """The notebook's NumPy training loop on 3,000 synthetic digits, after the cells it builds on."""
    ns = prepared(n_train=3000)
    run(ns, cell("def loss_and_accuracy("), cell(SOFTMAX), cell(FORMULAS))
    return run(ns, source or cell(LOOP_CELL))


def test_the_numpy_loop_trains_the_network_past_its_bound():
    ns = _loop()  # the cell asserts its own bound: 95% of the validation images
    assert ns["val_accuracy"] >= 0.95 and len(ns["params"]) == 6
    assert [p.shape for p in ns["params"]] == [(784, 128), (128,), (128, 32), (32,), (32, 10), (10,)]


@pytest.mark.parametrize(
    "broken",
    [
        (LOOP, LOOP.replace("w - learning_rate", "w + learning_rate")),  # uphill
        (LOOP_SETTINGS, LOOP_SETTINGS.replace("0.1,", "1e-5,")),  # steps too small to learn
        (LOOP_SETTINGS, LOOP_SETTINGS.replace("0.1,", "50.0,")),  # steps so large it diverges
    ],
    ids=["sign", "rate-too-small", "rate-too-large"],
)
def test_a_broken_update_or_learning_rate_fails_the_loops_bound(broken):
    old, new = broken
    assert old in cell(LOOP_CELL)
    with pytest.raises(AssertionError):
        with np.errstate(all="ignore"):  # a diverging loop overflows on its way
            _loop(cell(LOOP_CELL).replace(old, new))


NUDGE = "measured = (loss_with(+h) - loss_with(-h)) / (2 * h)"


def test_nudging_a_weight_measures_the_tapes_gradient_and_a_wrong_measure_is_caught():
    ns = run(_fresh(prepared()), cell(NUDGE))  # the notebook's own check: within 1%
    assert abs(ns["measured"]) > 1e-4  # a real gradient, the largest of the last layer
    weights = [v.numpy() for v in ns["model"].trainable_variables]
    np.testing.assert_array_equal(weights[4], ns["weights"][4])  # the weight was put back
    with pytest.raises(AssertionError):
        run(_fresh(prepared()), cell(NUDGE).replace("/ (2 * h)", "/ h"))


def test_the_chain_rule_example_is_the_number_the_text_gives():
    ns = run({}, cell("def squared_error(weight):"))
    assert ns["by_chain_rule"] == -8 and ns["by_nudging"] == pytest.approx(-8, abs=1e-6)


def test_the_tiny_network_prints_every_gradient_by_backward_and_by_nudging():
    ns = run({"np": np}, cell(SOFTMAX), cell(FORMULAS))
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(cell(TINY), str(NOTEBOOK), "exec"), ns)  # noqa: S102 (the project's own notebook)
    lines = printed.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines[::2]] == ["dW1", "db1", "dW2", "db2", "dW3", "db3"]
    assert [p.shape for p in ns["tiny"]] == [(3, 2), (2,), (2, 2), (2,), (2, 3), (3,)]
    assert sum(p.size for p in ns["tiny"]) == 23  # as the text says
    gradients = ns["backward"](ns["tiny_x"], ns["tiny_y"], *ns["tiny"])
    assert all(np.abs(g).max() > 1e-3 for g in gradients)  # no layer's gradients all zero: a real check


def test_the_one_neuron_and_softmax_gradients_check_themselves_and_catch_a_wrong_formula():
    neuron = cell("def neuron_error(")
    ns = run({"np": np}, neuron)
    assert ns["by_chain_rule"] == [-7.0, -3.5]  # 2 (1.25 - 3) x 1 x 2, and without the pixel
    with pytest.raises(AssertionError):
        run({"np": np}, neuron.replace("* slope * pixel,", "* pixel,").replace("float(z > 0)", "0.0"))
    ns = run({"np": np}, cell(SOFTMAX))
    np.testing.assert_allclose(ns["by_nudging"], [0.6590, -0.7575, 0.0986], atol=1e-4)  # p - y for z = 2, 1, 0.1
    with pytest.raises(AssertionError):
        run({"np": np}, cell(SOFTMAX).replace("softmax(sums) - label, by", "softmax(sums), by"))


def test_the_baseline_is_the_nearest_centroid_and_the_quickstart_is_the_plain_idiom(tmp_path):
    from sklearn.neighbors import NearestCentroid

    ns = prepared(n_train=600) | {"plt": plt, "FIGURES": tmp_path}
    run(ns, cell("mean_digits = "), cell("def nearest_mean("))
    reference = NearestCentroid().fit(ns["x_fit"], ns["y_fit"].argmax(axis=1))
    np.testing.assert_array_equal(ns["nearest_mean"](ns["x_val"]), reference.predict(ns["x_val"]))
    quickstart = cell("history = model.fit(\n    x_fit, y_fit")
    assert len(quickstart.splitlines()) <= 10 and " if " not in quickstart
    assert "EpochBatches" not in quickstart and "steps_per_epoch" not in quickstart
    ns |= {"SEED": 0}
    run(ns, quickstart.replace("epochs=12", "epochs=2"))
    assert len(ns["history"].history["val_accuracy"]) == 2 and ns["model"].count_params() == 104_938


def test_the_untrained_network_on_unscaled_pixels_is_sure_and_wrong():
    ns = run(prepared(), cell("def loss_and_accuracy("), cell("unscaled = np.asarray(model(x_fit * 255))"))
    assert ns["no_scaling_loss"] > 8 and ns["unscaled"].max(axis=1).mean() > 0.5


# --- the training cell ----------------------------------------------------------------------------

TRAINING = "batches.dataset(recipe.epochs)"


def _train_in_the_notebook(ns: dict, recipe, source: str | None = None) -> dict:
    ns |= {"recipe": recipe, "SEED": 3, "schedule": mnist_ann.learning_rate_schedule(recipe, len(ns["x_fit"]))}
    return run(ns, source or cell(TRAINING))


@pytest.mark.parametrize("name", ["fast", "original", "augmented"])
def test_the_notebooks_model_fit_trains_bit_for_bit_like_mnist_ann(name):
    """The notebook's plain `model.fit` on mnist_ann's batches, and `mnist_ann.train` (the command line's, an epoch
    per call into TensorFlow) on the same data: the same history and weights, so `mnist-ann train` prints the
    notebook's epoch log."""
    recipe = mnist_ann.get_recipe(name).changed(batch_size=64, epochs=2)
    ns = _train_in_the_notebook(prepared(), recipe)
    model, history, _ = mnist_ann.train(ns["x_train"], ns["y_train"], recipe, seed=3, verbose=0)
    assert ns["history"].history == history.history
    for a, b in zip(ns["model"].get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_changed_training_cell_is_caught():
    recipe = mnist_ann.get_recipe("fast").changed(batch_size=64, epochs=2)
    model, history, _ = mnist_ann.train(*synthetic_digits(600, seed=5), recipe, seed=3, verbose=0)
    for old, new in (("seed=SEED,", "seed=SEED + 1,"), ("augment=recipe.augment", 'augment="none"')):
        source = cell(TRAINING)
        assert old in source
        ns = _train_in_the_notebook(prepared(), recipe, source.replace(old, new))
        assert ns["history"].history != history.history, old


def test_the_install_cell_installs_from_the_repository_only_where_mnist_ann_is_missing(monkeypatch):
    calls = []
    monkeypatch.setattr("subprocess.check_call", calls.append)
    install = CELLS[0]
    exec(compile(install, str(NOTEBOOK), "exec"), {})  # noqa: S102 (mnist_ann is installed here: nothing to do)
    assert calls == []
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    exec(compile(install, str(NOTEBOOK), "exec"), {})  # noqa: S102
    [command] = calls
    assert command[1:5] == ["-m", "pip", "install", "-q"] and command[-1].startswith("git+https://github.com/")
    assert len(install.splitlines()) <= 5


def test_the_last_cells_name_every_change_from_the_published_run():
    ns = run(prepared(n_train=400), cell("def changes_from_published("))
    changes_from_published, x_fit, y_fit = ns["changes_from_published"], ns["x_fit"], ns["y_fit"]
    fast = mnist_ann.get_recipe("fast")
    published = mnist_ann.EpochBatches(x_fit, y_fit, fast.batch_size, augment=fast.augment)
    assert changes_from_published(mnist_ann.build_model(), fast, x_fit, published) == []
    narrow = mnist_ann.build_model(hidden=(64,))
    unscaled = x_fit * 255
    edited = fast.changed(epochs=6, learning_rate=0.1)
    few = mnist_ann.EpochBatches(unscaled[:100], y_fit[:100], 32, augment="none")
    changes = changes_from_published(narrow, edited, unscaled, few)
    assert changes[:4] == [
        "6 epochs instead of 12",
        "learning_rate 0.1",
        "batches of 32, augment 'none', 100 images",
        "pixels not scaled to 0-1",
    ]
    assert changes[4].startswith("network 784 -> Dense 64 relu -> Dense 10 softmax (50,890 parameters) instead of")
    assert len(changes) == 5
    original = mnist_ann.get_recipe("original")  # another recipe is one change, with its own settings
    batches = mnist_ann.EpochBatches(x_fit, y_fit, original.batch_size, augment=original.augment)
    assert changes_from_published(mnist_ann.build_model(), original, x_fit, batches) == [
        "recipe 'original' instead of 'fast'"
    ]
