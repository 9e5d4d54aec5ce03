"""The network's exact shape, its variations for experiments, its compile step, and its saved models loading."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import keras
import pytest

import mnist_ann
from mnist_ann.model import compile_model
from mnist_ann.recipes import RECIPES


def test_architecture_is_exactly_784_128_32_10():
    model = mnist_ann.build_model()
    assert type(model) is keras.Sequential  # the lesson's network: plain Keras
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.units for layer in dense] == [128, 32, 10]
    assert [layer.activation.__name__ for layer in dense] == ["relu", "relu", "softmax"]
    assert model.input_shape == (None, 784)
    # Independent count: (784*128 + 128) + (128*32 + 32) + (32*10 + 10).
    assert model.count_params() == 784 * 128 + 128 + 128 * 32 + 32 + 32 * 10 + 10 == 104_938


def test_the_experiments_variations_are_what_they_say():
    linear = mnist_ann.build_model(hidden=())
    assert mnist_ann.network_layout(linear) == "784 -> Dense 10 softmax (7,850 parameters)"
    no_relu = mnist_ann.build_model(activation=None)
    assert [layer.get_config()["activation"] for layer in no_relu.layers] == ["linear", "linear", "softmax"]
    assert mnist_ann.build_model(hidden=(64, 32)).count_params() == 784 * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10


def test_compile_uses_adam_categorical_crossentropy_and_accuracy():
    model = compile_model(mnist_ann.build_model(), 1e-3)
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)  # stored as float32
    assert model.loss == "categorical_crossentropy"  # the notebook's own spelling: the same loss, bit for bit
    assert compile_model(mnist_ann.build_model(), 1e-3, steps_per_execution=7).steps_per_execution == 7


LOAD_EACH = """
import json, sys
{imports}
loaded = {{}}
for name, path in json.loads(sys.argv[1]).items():
    try:
        loaded[name] = type({loader}(path).layers[0]).__name__
    except Exception as exc:
        loaded[name] = type(exc).__name__ + ": " + str(exc)[:3000]
project = sorted(module for module in sys.modules if module.split(".")[0] == "mnist_ann")
print(json.dumps({{"loaded": loaded, "project": project}}))
"""


def _load_each_in_a_fresh_process(paths: dict, imports: str, loader: str) -> dict:
    script = LOAD_EACH.format(imports=imports, loader=loader)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", script, json.dumps(paths)], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.splitlines()[-1])


def test_every_recipes_saved_model_loads_with_mnist_ann_load_model_alone_and_plain_keras_loads_the_undeskewed(tmp_path):
    paths = {}
    for name, recipe in RECIPES.items():
        paths[name] = str(tmp_path / f"{name}.keras")
        mnist_ann.build_model(deskew=recipe.deskew).save(paths[name])
    ours = _load_each_in_a_fresh_process(paths, "import mnist_ann", "mnist_ann.load_model")
    # Only mnist_ann.model and what it imports itself (no training, no app): the user imported nothing else.
    assert ours["project"] == ["mnist_ann", "mnist_ann.augment", "mnist_ann.data", "mnist_ann.files", "mnist_ann.model"]
    assert ours["loaded"] == {name: "Deskew" if r.deskew else "Dense" for name, r in RECIPES.items()}
    plain = _load_each_in_a_fresh_process(paths, "import keras", "keras.saving.load_model")
    assert plain["project"] == []  # mnist_ann was never imported
    for name, recipe in RECIPES.items():
        if recipe.deskew:  # augmented, long: Keras cannot find the class by itself
            assert "Deskew" in plain["loaded"][name] and plain["loaded"][name] != "Deskew", plain
        else:  # original, fast: plain Dense layers
            assert plain["loaded"][name] == "Dense", plain
