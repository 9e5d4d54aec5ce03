"""Find, download, verify and parse the four MNIST IDX files."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import logging
import os
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import pooch
import requests

from mnist_ann.files import exception_reason, os_reason

DATA_DIR_ENV = "MNIST_ANN_DATA_DIR"
CACHE_DIR_ENV = "MNIST_ANN_CACHE_DIR"
MIRRORS_ENV = "MNIST_ANN_MIRRORS"

# Published sha256 of the canonical files (the same bytes torchvision and TFDS check).
FILES = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}

# The mirrors torchvision and TensorFlow Datasets download from, tried in order; $MNIST_ANN_MIRRORS replaces them.
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

SIDE = 28  # MNIST's images are SIDE x SIDE pixels: the one place this project says so
PIXELS = SIDE * SIDE  # the network's inputs: one per pixel of the flattened image

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801

Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


class MnistDataError(Exception):
    """A data file is missing, damaged or cannot be fetched; the message says which and what to do."""


@dataclasses.dataclass(frozen=True)
class Download:
    """How to fetch a missing file: base URLs tried in order, seconds per request, retries per mirror, a bar."""

    mirrors: tuple[str, ...]
    timeout: float = 30.0
    retries: int = 2
    progress: bool = False


def cache_folder() -> Path:
    """The per-user cache folder: $MNIST_ANN_CACHE_DIR, else pooch's per-user cache for mnist_ann."""
    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV]).expanduser()
    return Path(pooch.os_cache("mnist_ann"))


def default_mirrors() -> tuple[str, ...]:
    """The base URLs to download from, in order: $MNIST_ANN_MIRRORS (separated by spaces or commas), else MIRRORS."""
    text = os.environ.get(MIRRORS_ENV, "").strip()
    if not text:
        return MIRRORS
    urls = text.replace(",", " ").split()
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise MnistDataError(
                f"${MIRRORS_ENV} holds {url!r}, which is not an http:// or https:// address; set it to base URLs "
                "separated by spaces, such as https://mirror.example.org/mnist/, or unset it."
            )
    return tuple(url if url.endswith("/") else url + "/" for url in urls)


def load_mnist(data_dir: str | os.PathLike | None = None, *, verify: bool = True) -> Arrays:
    """Return ((x_train, y_train), (x_test, y_test)) as uint8 arrays, like keras.datasets.mnist.load_data().

    Files come from `data_dir`, else $MNIST_ANN_DATA_DIR, else the per-user cache (`cache_folder`), downloading
    into it from $MNIST_ANN_MIRRORS or MIRRORS when a file is missing or damaged. A download shows a progress bar
    only on a terminal, never in a notebook, so a first run prints what every later run prints. With verify=False,
    other IDX datasets can be read.
    """
    return read_mnist(data_dir, verify=verify)


def read_mnist(
    data_dir: str | os.PathLike | None = None,
    *,
    verify: bool = True,
    cache: str | os.PathLike | None = None,
    download: Download | bool | None = True,
) -> Arrays:
    """`load_mnist` with its cache and its download spelled out: `cache` in place of `cache_folder()`, and
    `download` a `Download`, True for the default one (`default_mirrors()`, a bar on a terminal only), or None to
    download nothing."""
    source = data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV) or None
    if source is not None:
        folder = Path(source).expanduser()
        how = "--data-dir" if data_dir is not None else f"${DATA_DIR_ENV}"
        _check_folder(folder, how)
        paths = {name: folder / name for name in FILES}
        raw = {name: _read_local(path, verify, how) for name, path in paths.items()}
    else:
        cache = Path(cache).expanduser() if cache is not None else cache_folder()
        if download is True:
            download = Download(default_mirrors(), progress=sys.stderr.isatty())
        raw = {name: _read_cached(cache, name, verify, download or None) for name in FILES}
        paths = {name: cache / name for name in FILES}

    return (
        _parse_split(raw, paths, "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
        _parse_split(raw, paths, "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
    )


def _parse_split(raw: dict, paths: dict, images: str, labels: str) -> tuple[np.ndarray, np.ndarray]:
    """One split's images and labels, parsed and checked to belong together."""
    x = parse_idx(raw[images], paths[images], IMAGES_MAGIC)
    y = parse_idx(raw[labels], paths[labels], LABELS_MAGIC)
    if len(x) != len(y):
        raise MnistDataError(
            f"{paths[images]} holds {len(x)} images but {paths[labels]} holds {len(y)} labels; "
            "use an images file and a labels file from the same dataset."
        )
    return x, y


# 1/255 in float32. Pixels are scaled by multiplying with it, here and inside TensorFlow graphs alike: a graph
# rewrites x / 255 into x * (1/255), which differs from NumPy's x / 255 in the last bit for half the pixel values.
PIXEL_SCALE = np.float32(1 / 255)


def normalize(images: np.ndarray) -> np.ndarray:
    """Scale uint8 pixels from 0-255 to float32 in 0-1."""
    return images.astype(np.float32) * PIXEL_SCALE


def flatten(images: np.ndarray) -> np.ndarray:
    """Turn each 28x28 image into one row of 784 values, the network's input."""
    return images.reshape(len(images), -1)


def preprocess(images: np.ndarray, *, scale: bool = True) -> np.ndarray:
    """uint8 (n, 28, 28) images to float32 (n, 784) inputs: flattened and normalized (`scale=False` keeps 0-255)."""
    x = flatten(np.asarray(images))
    return normalize(x) if scale else x.astype(np.float32)


def one_hot(labels: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """Digit labels as float32 one-hot rows, the targets categorical cross-entropy expects."""
    return np.eye(num_classes, dtype=np.float32)[np.asarray(labels, dtype=np.int64)]


def training_split(images: np.ndarray, labels: np.ndarray, *, scale: bool = True):
    """uint8 training images and digit labels as the network trains on them: ((x_fit, y_fit), (x_val, y_val)).

    Each image is prepared by `preprocess` (flattened, scaled to 0-1 unless `scale=False`), each label made
    one-hot, and the last 10% are held out for validation, as the notebook does step by step.
    """
    return split_validation(preprocess(images, scale=scale), one_hot(labels))


def split_validation(x: np.ndarray, y: np.ndarray, fraction: float = 0.1):
    """Hold out the last `fraction` of the training set for validation, as Keras's validation_split does."""
    n_val = int(round(len(x) * fraction))
    if not 0 < n_val < len(x):
        raise ValueError(
            f"cannot hold out {fraction:g} of {len(x)} examples for validation: that leaves {n_val} for validation "
            f"and {len(x) - n_val} for training; give at least one to each (more examples, or another fraction)."
        )
    n_fit = len(x) - n_val
    return (x[:n_fit], y[:n_fit]), (x[n_fit:], y[n_fit:])


def parse_idx(data: bytes, path: Path, magic: int) -> np.ndarray:
    """Decompress and check one IDX file: gzip stream, magic number, dimensions, payload length, labels 0-9."""
    try:
        payload = gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        reason = "is truncated" if isinstance(exc, EOFError) else "is not a valid gzip file"
        raise MnistDataError(f"{path} {reason} ({exc}); {_REPLACE_HINT}") from None
    ndim = 3 if magic == IMAGES_MAGIC else 1
    header = 4 + 4 * ndim
    if len(payload) < header:
        raise MnistDataError(f"{path} is too short to hold an IDX header ({len(payload)} bytes); {_REPLACE_HINT}")
    (found,) = struct.unpack(">I", payload[:4])
    if found != magic:
        kind = "images" if magic == IMAGES_MAGIC else "labels"
        raise MnistDataError(
            f"{path} has IDX magic number 0x{found:08X}, not 0x{magic:08X} for {kind}; {_REPLACE_HINT}"
        )
    dims = struct.unpack(f">{ndim}I", payload[4:header])
    if ndim == 3 and dims[1:] != (SIDE, SIDE):
        raise MnistDataError(f"{path} holds {dims[1]}x{dims[2]} images, not 28x28; {_REPLACE_HINT}")
    expected = int(np.prod(dims))
    if len(payload) - header != expected:
        raise MnistDataError(
            f"{path} header promises {expected} bytes of data but the file has {len(payload) - header}; {_REPLACE_HINT}"
        )
    array = np.frombuffer(payload, dtype=np.uint8, offset=header).reshape(dims).copy()
    if ndim == 1 and array.size and array.max() > 9:
        raise MnistDataError(f"{path} has label {int(array.max())}, outside 0-9; {_REPLACE_HINT}")
    return array


_REPLACE_HINT = "replace it with an intact copy of the original file"


def sha256(data: bytes) -> str:
    """Hex sha256 of `data`."""
    return hashlib.sha256(data).hexdigest()


def _check_folder(folder: Path, how: str) -> None:
    if not folder.is_dir():
        raise MnistDataError(
            f"MNIST folder {folder} (from {how}) does not exist; point {how} at a folder holding the four "
            f"MNIST .gz files ({', '.join(FILES)}), or unset it to download them into the cache."
        )
    if not os.access(folder, os.R_OK | os.X_OK):
        raise MnistDataError(f"MNIST folder {folder} (from {how}) cannot be read; fix its permissions.")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise MnistDataError(f"{path} cannot be read ({exc.strerror}); fix its permissions or replace it.") from None


def _read_local(path: Path, verify: bool, how: str) -> bytes:
    if not path.is_file():
        raise MnistDataError(
            f"{path} is missing; put the MNIST file {path.name} in {path.parent} (from {how}), "
            "or unset it to download the files into the cache."
        )
    data = _read(path)
    if not data:
        raise MnistDataError(f"{path} is empty; {_REPLACE_HINT}.")
    if verify and sha256(data) != FILES[path.name]:
        raise MnistDataError(
            f"{path} does not match the published sha256 of {path.name}; {_REPLACE_HINT}, "
            "or pass verify=False (--no-verify) if it is another dataset in MNIST's IDX format."
        )
    return data


def _read_cached(cache: Path, name: str, verify: bool, download: Download | None) -> bytes:
    path = cache / name
    problem = "is not in the cache"
    if path.is_file():
        data = _read(path)
        if data and (not verify or sha256(data) == FILES[name]):
            return data
        problem = "in the cache is empty" if not data else "in the cache does not match its published sha256"
    if download is None:
        raise MnistDataError(
            f"{path} {problem} and downloading is turned off; allow the download or set "
            f"{DATA_DIR_ENV} to a folder holding the MNIST files."
        )
    try:
        return _read(fetch(name, cache, download, verify=verify))
    except FetchError as exc:
        raise MnistDataError(
            f"{path} {problem} and no mirror could provide it ({exc}); "
            f"connect to the internet, or set {DATA_DIR_ENV} to a folder holding the MNIST files."
        ) from None


class FetchError(Exception):
    """No mirror served a verified file; the message says what each one did."""


def fetch(name: str, cache: Path, download: Download, *, verify: bool = True) -> Path:
    """Download `name` into `cache` from the first mirror that serves it intact; return its path.

    pooch does the work: it streams into a temporary file in `cache`, checks the sha256 and only then
    renames the file into place, so an interrupted or corrupt download never leaves a file a later run
    would trust, and two processes filling the same cache both end with the verified file.
    """
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MnistDataError(
            f"cache folder {cache} cannot be created ({exc.strerror}); set {CACHE_DIR_ENV} to a writable folder."
        ) from None
    known_hash = f"sha256:{FILES[name]}" if verify else None
    downloader = pooch.HTTPDownloader(progressbar=download.progress, timeout=download.timeout)
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)  # pooch's "Downloading ..." notices would land in notebook cells
    failures = {}  # url -> what went wrong on its last try
    try:
        for mirror in download.mirrors:
            store = pooch.create(cache, mirror, registry={name: known_hash}, retry_if_failed=download.retries)
            try:
                return Path(store.fetch(name, downloader=downloader))
            except ValueError:  # pooch's word for a hash mismatch
                failures[mirror + name] = "served a file with the wrong sha256"
            except requests.exceptions.ChunkedEncodingError:
                failures[mirror + name] = "connection closed before the whole file arrived"
            except requests.exceptions.RequestException as exc:
                failures[mirror + name] = exception_reason(exc)
            except OSError as exc:  # writing into the cache failed (a full disk, say): no other mirror helps
                raise MnistDataError(
                    f"cannot write {cache / name}: {os_reason(exc)}; free some space there (MNIST needs about 12 MB) "
                    f"or set {CACHE_DIR_ENV} to another folder, then run again."
                ) from None
    finally:
        logger.setLevel(level)
    raise FetchError("; ".join(f"{url}: {why}" for url, why in failures.items()))
