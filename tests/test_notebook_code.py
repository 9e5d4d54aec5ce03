"""The notebook's own preparation and network are mnist_ann's: its cells, run here on small data, give the same.

The notebook shows scaling, flattening, one-hot labels, the validation split and the keras.Sequential as code a
learner reads and edits; the command line and the benchmark use the same steps from mnist_ann. These tests run
the notebook's cells themselves, so an edit on either side that makes them differ fails here at once (nbval's
last cell checks the same on the real data).
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import keras
import nbformat
import numpy as np

import mnist_ann
from conftest import synthetic_digits

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "MNIST-NN.ipynb"


def run_cells(namespace: dict, *markers: str) -> dict:
    """Run the notebook's code cells that contain each marker, in notebook order, in `namespace`."""
    cells = [c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code"]
    chosen = [source for source in cells if any(marker in source for marker in markers)]
    assert len(chosen) == len(markers), f"expected one cell for each of {markers}"
    with contextlib.redirect_stdout(io.StringIO()):
        for source in chosen:
            exec(compile(source, str(NOTEBOOK), "exec"), namespace)  # noqa: S102 (the project's own notebook)
    return namespace


def test_the_notebooks_preparation_is_mnist_anns_bit_for_bit():
    # 59 examples: 10% is 5.9, so a split that floors instead of rounding would differ from mnist_ann's.
    (x_train, y_train), (x_test, y_test) = synthetic_digits(59, seed=5), synthetic_digits(13, seed=6)
    x_train[0, 0, :] = np.arange(28) * 9  # pixel values all over 0-255
    namespace = {"np": np, "x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    ns = run_cells(namespace, "x_train_scaled =", "x_train_flat =", "y_train_onehot =", "n_val =")
    for notebook, package in (
        (ns["x_train_flat"], mnist_ann.preprocess(x_train)),
        (ns["x_test_flat"], mnist_ann.preprocess(x_test)),
        (ns["y_train_onehot"], mnist_ann.one_hot(y_train)),
        (ns["y_test_onehot"], mnist_ann.one_hot(y_test)),
    ):
        assert notebook.dtype == package.dtype and notebook.shape == package.shape
        assert notebook.tobytes() == package.tobytes()  # bit for bit, not merely close
    (x_fit, y_fit), (x_val, y_val) = mnist_ann.split_validation(ns["x_train_flat"], ns["y_train_onehot"])
    for name, expected in (("x_fit", x_fit), ("y_fit", y_fit), ("x_val", x_val), ("y_val", y_val)):
        np.testing.assert_array_equal(ns[name], expected, err_msg=name)


def test_the_notebooks_network_is_mnist_anns():
    ns = run_cells({"keras": keras, "mnist_ann": mnist_ann}, "HIDDEN_1 = 128", "def build_model")
    notebook, package = ns["build_model"](), mnist_ann.build_model()
    assert mnist_ann.network_layout(notebook) == mnist_ann.network_layout(package)
    assert [layer.name for layer in notebook.layers] == [layer.name for layer in package.layers]
    assert type(notebook) is type(package)  # the same training engine too
    assert notebook.count_params() == 104_938


def test_the_layout_tells_networks_apart():
    wider = keras.Sequential([keras.Input((784,)), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10)])
    assert mnist_ann.network_layout(wider) == "784 -> Dense 64 relu -> Dense 10 linear (50,890 parameters)"
    assert mnist_ann.network_layout(wider) != mnist_ann.network_layout(mnist_ann.build_model())
