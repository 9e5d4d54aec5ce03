"""A trained network's weights as a JavaScript file, for the drawing page in docs/draw/ to run in a browser.

The file sets `window.MNIST_NETWORK` to plain JSON: for each Dense layer its name, activation, input and output
sizes, and its kernel and bias as float16 numbers, little-endian, in base64 (a kernel row by row, inputs x units,
as Keras stores it). A `<script>` tag loads it, so the page works opened straight from disk, where a browser fetches
no files; float16 keeps the 104,938 weights under 300 kB (float32 would be 560 kB in base64), and the tests check
that the network then still scores the notebook's test accuracy.
"""

from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path

import numpy as np

from mnist_ann.files import write_text_atomically

FORMAT = "float16, little-endian, base64"
VARIABLE = "MNIST_NETWORK"
_ASSIGNMENT = re.compile(rf"window\.{VARIABLE} = (\{{.*\}});\s*$", flags=re.S)


class ExportError(Exception):
    """A model the page cannot run, or a weights file that cannot be read back; the message says which and why."""


def _encode(array: np.ndarray) -> str:
    return base64.b64encode(np.asarray(array, dtype="<f2").tobytes()).decode("ascii")


def _decode(text: str, shape: tuple[int, ...]) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f2").astype(np.float32).reshape(shape)


def weights_script(model, note: str = "") -> str:
    """The JavaScript text that gives a page `model`'s Dense layers: `window.MNIST_NETWORK = {...};`."""
    layers = []
    for layer in model.layers:
        if type(layer).__name__ != "Dense" or not layer.get_config().get("use_bias", False):
            raise ExportError(
                f"the model's layer {layer.name!r} is a {type(layer).__name__}; the page runs Dense layers with biases "
                "only, so export a network trained by a recipe that does not deskew (mnist-ann train --recipe fast)."
            )
        kernel, bias = (np.asarray(w) for w in layer.get_weights())
        layers.append(
            {
                "name": layer.name,
                "activation": layer.get_config()["activation"] or "linear",
                "inputs": int(kernel.shape[0]),
                "units": int(kernel.shape[1]),
                "kernel": _encode(kernel),
                "bias": _encode(bias),
            }
        )
    network = {"format": FORMAT, "note": note, "layers": layers}
    header = "// The trained network's weights for the drawing page; written by mnist_ann.save_weights_script.\n"
    return header + f"window.{VARIABLE} = {json.dumps(network)};\n"


def save_weights_script(model, path: str | os.PathLike, note: str = "") -> Path:
    """Write `weights_script(model)` to `path`, through a temporary file renamed into place; return the path."""
    path = Path(path)
    write_text_atomically(path, weights_script(model, note))
    return path


def load_weights_script(path: str | os.PathLike) -> list[dict]:
    """The layers a weights file holds, each with its name, activation, and kernel and bias as float32 arrays."""
    match = _ASSIGNMENT.search(Path(path).read_text())
    if match is None:
        raise ExportError(f"{path} does not set window.{VARIABLE}; write it again with mnist-ann export.")
    network = json.loads(match.group(1))
    if network.get("format") != FORMAT:
        raise ExportError(f"{path} holds weights as {network.get('format')!r}, not {FORMAT!r}; write it again.")
    return [
        layer
        | {
            "kernel": _decode(layer["kernel"], (layer["inputs"], layer["units"])),
            "bias": _decode(layer["bias"], (layer["units"],)),
        }
        for layer in network["layers"]
    ]


def network_from_weights(layers: list[dict]):
    """A keras.Sequential holding the layers `load_weights_script` read, for checking a weights file against Keras."""
    import keras

    model = keras.Sequential([keras.Input(shape=(layers[0]["inputs"],))])
    for layer in layers:
        model.add(keras.layers.Dense(layer["units"], activation=layer["activation"], name=layer["name"]))
        model.layers[-1].set_weights([layer["kernel"], layer["bias"]])
    return model
