"""Small MNIST-format data made inside the tests, and a local HTTP mirror for download tests."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import os
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mnist_ann import data


def _canonical_mnist() -> Path:
    """The canonical MNIST files for the tests that train on them: the folder in $MNIST_ANN_DATA_DIR (as .ci/run and
    the GitHub Actions workflow set it), else shared/data/mnist beside the checkout, else the per-user cache once a
    first download has filled it; those tests are skipped without any of them."""
    if os.environ.get(data.DATA_DIR_ENV):
        return Path(os.environ[data.DATA_DIR_ENV])
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
    cache = data.cache_folder()
    return cache if not shared.is_dir() and all((cache / name).is_file() for name in data.FILES) else shared


SHARED_MNIST = _canonical_mnist()
SLOW_MIRROR_DELAY_S = 0.3


def idx_bytes(array: np.ndarray) -> bytes:
    """An uncompressed IDX file for a uint8 array (images 3-d, labels 1-d)."""
    magic = data.IMAGES_MAGIC if array.ndim == 3 else data.LABELS_MAGIC
    return struct.pack(f">I{array.ndim}I", magic, *array.shape) + array.astype(np.uint8).tobytes()


def synthetic_digits(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n learnable 28x28 'digits': each class lights a different block of pixels, plus noise."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    rng.shuffle(labels)
    images = rng.integers(0, 40, size=(n, 28, 28)).astype(np.uint8)
    for i, label in enumerate(labels):
        row, col = divmod(int(label), 5)
        images[i, 4 + row * 10 : 12 + row * 10, 1 + col * 5 : 6 + col * 5] = 230
    return images, labels.astype(np.uint8)


def write_mnist(folder: Path, n_train: int = 60, n_test: int = 20, seed: int = 0) -> dict[str, str]:
    """Write the four MNIST-named .gz files with synthetic digits; return their sha256 by name."""
    folder.mkdir(parents=True, exist_ok=True)
    x_train, y_train = synthetic_digits(n_train, seed)
    x_test, y_test = synthetic_digits(n_test, seed + 1)
    arrays = {
        "train-images-idx3-ubyte.gz": x_train,
        "train-labels-idx1-ubyte.gz": y_train,
        "t10k-images-idx3-ubyte.gz": x_test,
        "t10k-labels-idx1-ubyte.gz": y_test,
    }
    sums = {}
    for name, array in arrays.items():
        raw = gzip.compress(idx_bytes(array), mtime=0)
        (folder / name).write_bytes(raw)
        sums[name] = hashlib.sha256(raw).hexdigest()
    return sums


# `python -c CRASH_AFTER_EPOCH_2 train ...` runs the command line and SIGKILLs itself once epoch 2's backup is saved.
CRASH_AFTER_EPOCH_2 = """
import os, signal, sys
from mnist_ann.app import callbacks
from mnist_ann.app.cli import main

original = callbacks.SafeBackup.on_epoch_end

def on_epoch_end(self, epoch, logs=None):
    original(self, epoch, logs)  # the backup of this epoch is on disk...
    if epoch == 1:
        sys.stdout.flush()
        os.kill(os.getpid(), signal.SIGKILL)  # ...then the process dies as hard as it can

callbacks.SafeBackup.on_epoch_end = on_epoch_end
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch) -> Path:
    """A folder of tiny MNIST-format files whose checksums the loader treats as the published ones."""
    folder = tmp_path / "mnist"
    monkeypatch.setattr(data, "FILES", write_mnist(folder))
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
    return folder


class Mirror:
    """A local HTTP server on 127.0.0.1 serving files in a chosen way: ok, slow, missing, corrupt, cut short."""

    def __init__(self, files: dict[str, bytes], mode: str = "ok"):
        self.files, self.mode, self.requests = files, mode, []
        mirror = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                name = self.path.rsplit("/", 1)[-1]
                mirror.requests.append(name)
                body = mirror.files.get(name)
                if body is None or mirror.mode == "missing":
                    self.send_error(404)
                    return
                if mirror.mode == "slow":
                    time.sleep(SLOW_MIRROR_DELAY_S)
                if mirror.mode == "corrupt":
                    body = body[:-1] + bytes([body[-1] ^ 0xFF])
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if mirror.mode == "cut" else body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/mnist/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def mirror_factory(tiny_mnist):
    """Start local mirrors serving the tiny MNIST files: mirror_factory(mode) -> Mirror."""
    files = {p.name: p.read_bytes() for p in tiny_mnist.iterdir()}
    started = []

    def start(mode: str = "ok") -> Mirror:
        started.append(Mirror(files, mode))
        return started[-1]

    yield start
    for m in started:
        m.close()


# --- the command line on tiny data, and digit images drawn in the tests ---------------------------


def cli(*args, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run `python -m mnist_ann ARGS` and capture what it prints."""
    return subprocess.run(
        [sys.executable, "-m", "mnist_ann", *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=600
    )


@pytest.fixture
def cli_here(capfd, monkeypatch):
    """Run `mnist-ann ARGS` in this process, through the command's own `main`: what it returns and prints, as `cli`
    gives it. For the refusals, which need no process of their own; a new process costs a TensorFlow start (4 s)."""
    from mnist_ann.app.cli import main

    def run(*args, cwd: Path | None = None) -> subprocess.CompletedProcess:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        capfd.readouterr()  # what came before is not this command's
        try:
            code = main([str(arg) for arg in args])
        except SystemExit as exit:  # argparse's refusals
            code = exit.code
        out, err = capfd.readouterr()
        return subprocess.CompletedProcess(["mnist-ann", *map(str, args)], code, out, err)

    return run


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("idx")
    write_mnist(folder, n_train=400, n_test=100)
    return folder


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory, tiny_data) -> Path:
    out = tmp_path_factory.mktemp("runs") / "run1"
    result = cli("train", "--epochs", "1", "--data-dir", tiny_data, "--no-verify", "--out", out, "--seed", "1")
    assert result.returncode == 0, result.stderr
    return out


def seven(size: int = 28, ink: int = 255, paper: int = 0, box=(7, 5, 21, 23), width: int = 2) -> Image.Image:
    """A hand-drawn-looking 7 on a square canvas."""
    image = Image.new("L", (size, size), paper)
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = box
    draw.line([(left, top), (right, top)], fill=ink, width=width)
    draw.line([(right, top), (left + (right - left) // 3, bottom)], fill=ink, width=width)
    return image


def bad_images(folder: Path) -> dict[str, tuple[Path, str]]:
    seven(64).save(folder / "good.png")
    (folder / "empty.png").write_bytes(b"")
    (folder / "notes.png").write_text("this is text, not an image")
    (folder / "cut.png").write_bytes((folder / "good.png").read_bytes()[:60])
    Image.new("L", (64, 64), 255).save(folder / "blank.png")
    Image.new("1", (10_000, 10_000)).save(folder / "huge.png")  # 100 MP of nothing, a few kB on disk
    return {
        "missing": (folder / "absent.png", "does not exist"),
        "empty": (folder / "empty.png", "is not an image"),
        "non-image": (folder / "notes.png", "is not an image"),
        "truncated": (folder / "cut.png", "cannot be decoded"),
        "blank": (folder / "blank.png", "is blank"),
        "huge": (folder / "huge.png", r"is too large for a digit photo \(10000x10000 pixels"),
    }
