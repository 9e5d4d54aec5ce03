"""Predict the digits in image files, and save what the model saw; the preparation is `mnist_ann.images`."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from mnist_ann.files import replaced_atomically
from mnist_ann.images import ImageInputError, load_digit

TOP_K = 3  # predict reports the most probable digit and the two after it


def predict_images(model, paths, on_error=None) -> tuple[list[dict], list[np.ndarray]]:
    """Each readable image's digit, probability and top 3, in one forward pass; the others get an "error" entry.

    Returns the results in the order of `paths`, and the 28x28 inputs the model saw; `on_error` is called
    with each ImageInputError as it happens.
    """
    results, inputs = [], []
    for path in paths:
        try:
            inputs.append(load_digit(path))
            results.append({"image": str(path)})
        except ImageInputError as exc:
            if on_error is not None:
                on_error(exc)
            results.append({"image": str(path), "error": str(exc)})
    if inputs:
        probabilities = np.asarray(model.predict_on_batch(np.stack(inputs).reshape(len(inputs), -1)))
        good = [result for result in results if "error" not in result]
        for result, p in zip(good, probabilities, strict=True):
            top = np.argsort(-p)[:TOP_K]
            result["digit"] = int(top[0])
            result["probability"] = float(p[top[0]])
            result["top3"] = [{"digit": int(d), "probability": float(p[d])} for d in top]
    return results, inputs


def save_strip(inputs: list[np.ndarray], path: str | os.PathLike) -> None:
    """Save 28x28 inputs side by side as one PNG, through a temporary file renamed into place."""
    strip = (np.concatenate(inputs, axis=1) * 255).round().astype(np.uint8)
    with replaced_atomically(path) as tmp:
        Image.fromarray(strip).save(tmp, format="PNG")
