"""Turn a photo or drawing of one digit into the 28x28 input MNIST's digits were made as, step by step."""

from __future__ import annotations

import os
import warnings
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from mnist_ann.data import SIDE

# Far beyond any phone photo (about 50 MP): larger files are refused before decoding (decompression bombs).
MAX_PIXELS = 80_000_000
INK_THRESHOLD = 0.2  # share of the ink range above which a pixel counts as ink when cropping
BOX = 20  # NIST's digits were scaled to fit 20x20 ...
FIELD = SIDE  # ... and centred by mass in 28x28
SAMPLE = "samples/handwritten-7.png"


class ImageInputError(Exception):
    """An image cannot be used as a digit; the message names the file and the problem."""


def sample_digit() -> Path:
    """The path of a handwritten 7 that ships with mnist_ann, to try the preparation on."""
    return Path(str(resources.files("mnist_ann").joinpath(SAMPLE)))


def open_image(path: str | os.PathLike) -> Image.Image:
    """Read an image file fully; every problem is an ImageInputError naming the file."""
    too_big = f"{path} is too large for a digit photo (limit {MAX_PIXELS:,} pixels); crop or shrink it first."
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the size check below says it better
            image = Image.open(path)
        if image.width * image.height > MAX_PIXELS:
            image.close()
            raise ImageInputError(too_big.replace("photo (", f"photo ({image.width}x{image.height} pixels, ", 1))
        image.load()
        return image
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


def digit_steps(image: Image.Image) -> dict[str, np.ndarray]:
    """Each step of preparing a digit the MNIST way, in order, as arrays; the last is the network's 28x28 input.

    original (as read, upright) -> grey, inverted so that ink is bright (0-1) -> cropped to the ink -> scaled to fit
    20x20, keeping the aspect ratio -> placed in 28x28 with its centre of mass in the middle.
    """
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)  # transparency flattened onto white paper
    steps = {"original": np.asarray(image.convert("RGB"))}
    gray = np.asarray(image.convert("L"), dtype=np.float32)

    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    background = float(np.median(border))
    if background > 127:  # dark ink on light paper: MNIST stores bright ink on black
        gray, background = 255.0 - gray, 255.0 - background
    ink = np.clip(gray - background, 0, None)
    if ink.max() < 16:
        raise ImageInputError("the image is blank: no ink stands out from its background")
    ink /= ink.max()
    steps["grey, inverted"] = ink

    rows = np.flatnonzero((ink > INK_THRESHOLD).any(axis=1))
    cols = np.flatnonzero((ink > INK_THRESHOLD).any(axis=0))
    ink = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    steps["cropped to the ink"] = ink

    # Fit the longer side to 20 pixels, keeping the aspect ratio, as NIST's digits were for MNIST.
    height, width = ink.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    box = Image.fromarray((ink * 255).astype(np.uint8)).resize(size, Image.Resampling.LANCZOS)
    box = np.asarray(box, dtype=np.float32) / 255.0
    steps[f"scaled to fit {BOX}x{BOX}"] = box

    # Paste so that the centre of mass lands on the centre of the 28x28 field.
    ys, xs = np.indices(box.shape)
    mass = box.sum()
    cy, cx = (ys * box).sum() / mass, (xs * box).sum() / mass
    top = int(np.clip(round(FIELD / 2 - cy), 0, FIELD - box.shape[0]))
    left = int(np.clip(round(FIELD / 2 - cx), 0, FIELD - box.shape[1]))
    field = np.zeros((FIELD, FIELD), dtype=np.float32)
    field[top : top + box.shape[0], left : left + box.shape[1]] = box
    steps[f"centred in {FIELD}x{FIELD}"] = np.clip(field, 0.0, 1.0)
    return steps


def digit_to_mnist(image: Image.Image) -> np.ndarray:
    """The 28x28 float32 input (0-1, bright ink on black) that `digit_steps` ends with."""
    return list(digit_steps(image).values())[-1]


def load_digit_steps(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """`digit_steps` of the image file at `path`; every problem is an ImageInputError naming the file."""
    with open_image(path) as image:
        try:
            return digit_steps(image)
        except ImageInputError as exc:
            raise ImageInputError(f"{path}: {exc}") from None


def load_digit(path: str | os.PathLike) -> np.ndarray:
    """Read an image file and return a float32 28x28 array in 0-1, bright ink on black, centred like MNIST."""
    return list(load_digit_steps(path).values())[-1]
