"""Turn a photo or drawing of one digit into the 28x28 input MNIST's digits were made as."""

from __future__ import annotations

import os
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from mnist_ann.files import replaced_atomically

# Far beyond any phone photo (about 50 MP): larger files are refused before decoding (decompression bombs).
MAX_PIXELS = 80_000_000
INK_THRESHOLD = 0.2  # share of the ink range above which a pixel counts as ink when cropping
TOP_K = 3  # predict reports the most probable digit and the two after it


class ImageInputError(Exception):
    """An image cannot be used as a digit; the message names the file and the problem."""


def load_digit(path: str | os.PathLike) -> np.ndarray:
    """Read an image file and return a float32 28x28 array in 0-1, white ink on black, centred like MNIST."""
    too_big = f"{path} is too large for a digit photo (limit {MAX_PIXELS:,} pixels); crop or shrink it first."
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the size check below says it better
            image = Image.open(path)
        with image:
            if image.width * image.height > MAX_PIXELS:
                raise ImageInputError(too_big.replace("photo (", f"photo ({image.width}x{image.height} pixels, ", 1))
            image.load()
            return digit_to_mnist(image)
    except Image.DecompressionBombError:
        raise ImageInputError(too_big) from None
    except FileNotFoundError:
        raise ImageInputError(f"{path} does not exist; check the path.") from None
    except IsADirectoryError:
        raise ImageInputError(f"{path} is a folder, not an image file.") from None
    except UnidentifiedImageError:
        raise ImageInputError(f"{path} is not an image PIL can read (PNG, JPEG, ...); convert it first.") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageInputError(f"{path} cannot be decoded ({exc}); the file is damaged or truncated.") from None
    except ImageInputError as exc:
        if str(path) in str(exc):
            raise
        raise ImageInputError(f"{path}: {exc}") from None


def digit_to_mnist(image: Image.Image) -> np.ndarray:
    """Grayscale (alpha onto white), invert light backgrounds, crop to the ink, fit 20x20, centre of mass at 14,14."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    gray = np.asarray(image.convert("L"), dtype=np.float32)

    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    background = float(np.median(border))
    if background > 127:  # dark ink on light paper: MNIST stores white ink on black
        gray, background = 255.0 - gray, 255.0 - background
    ink = np.clip(gray - background, 0, None)
    if ink.max() < 16:
        raise ImageInputError("the image is blank: no ink stands out from its background")
    ink /= ink.max()

    rows = np.flatnonzero((ink > INK_THRESHOLD).any(axis=1))
    cols = np.flatnonzero((ink > INK_THRESHOLD).any(axis=0))
    ink = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]

    # Fit the longer side to 20 pixels, keeping the aspect ratio, as NIST's digits were for MNIST.
    height, width = ink.shape
    scale = 20.0 / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    box = Image.fromarray((ink * 255).astype(np.uint8)).resize(size, Image.Resampling.LANCZOS)
    box = np.asarray(box, dtype=np.float32) / 255.0

    # Paste so that the centre of mass lands on the centre of the 28x28 field.
    ys, xs = np.indices(box.shape)
    mass = box.sum()
    cy, cx = (ys * box).sum() / mass, (xs * box).sum() / mass
    top = int(np.clip(round(14 - cy), 0, 28 - box.shape[0]))
    left = int(np.clip(round(14 - cx), 0, 28 - box.shape[1]))
    field = np.zeros((28, 28), dtype=np.float32)
    field[top : top + box.shape[0], left : left + box.shape[1]] = box
    return np.clip(field, 0.0, 1.0)


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
        probabilities = model.predict(np.stack(inputs).reshape(len(inputs), -1), verbose=0)
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
