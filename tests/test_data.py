"""load_mnist: sources, verification, the IDX parser's checks, downloads from local mirrors."""

from __future__ import annotations

import errno
import gzip
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pooch
import pytest

from conftest import SHARED_MNIST, idx_bytes
from mnist_ann import data
from mnist_ann.data import Download, MnistDataError, load_mnist, read_mnist

ROOT = Path(__file__).resolve().parents[1]

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"


def test_reads_a_folder_like_keras_load_data(tiny_mnist):
    (x_train, y_train), (x_test, y_test) = load_mnist(tiny_mnist)
    assert x_train.shape == (60, 28, 28) and x_test.shape == (20, 28, 28)
    assert y_train.shape == (60,) and y_test.shape == (20,)
    assert x_train.dtype == y_train.dtype == np.uint8
    assert set(np.unique(y_train)) == set(range(10))
    x_train[0, 0, 0] = 7  # writable, like Keras's arrays


def test_environment_variable_is_used_when_no_folder_is_given(tiny_mnist, monkeypatch, tmp_path):
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tiny_mnist))
    (x_train, _), _ = read_mnist(cache=tmp_path / "unused-cache", download=None)
    assert len(x_train) == 60


def test_argument_wins_over_environment_variable(tiny_mnist, monkeypatch, tmp_path):
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path / "nowhere"))
    (x_train, _), _ = load_mnist(tiny_mnist)
    assert len(x_train) == 60


def test_checksum_mismatch_names_the_file(tiny_mnist):
    path = tiny_mnist / TRAIN_IMAGES
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[:-1] + b"\x01"))  # a valid file with one pixel changed
    with pytest.raises(MnistDataError, match=f"{TRAIN_IMAGES} does not match the published sha256"):
        load_mnist(tiny_mnist)
    # ...and the same file parses once verification is explicitly turned off.
    (x_train, _), _ = load_mnist(tiny_mnist, verify=False)
    assert x_train[-1, -1, -1] == 1


def test_missing_folder_says_how_to_provide_the_files(tmp_path):
    with pytest.raises(MnistDataError, match=r"does not exist; point --data-dir at a folder"):
        load_mnist(tmp_path / "absent")


def _rewrite(path, payload: bytes, compress: bool = True):
    path.write_bytes(gzip.compress(payload) if compress else payload)


@pytest.mark.parametrize(
    "name, damage, message",
    [
        (TRAIN_IMAGES, lambda p: p.unlink(), "is missing"),
        (TRAIN_IMAGES, lambda p: p.write_bytes(b""), "is empty"),
        (TRAIN_IMAGES, lambda p: p.write_bytes(p.read_bytes()[:200]), "is truncated"),
        (TRAIN_IMAGES, lambda p: _rewrite(p, b"plain text, not gzip", compress=False), "is not a valid gzip file"),
        (TRAIN_IMAGES, lambda p: _rewrite(p, struct.pack(">IIII", 0x0801, 60, 28, 28)), "magic number 0x00000801"),
        (
            TRAIN_IMAGES,
            lambda p: _rewrite(p, struct.pack(">IIII", 0x0803, 61, 28, 28) + bytes(60 * 784)),
            "header promises 47824 bytes of data but the file has 47040",
        ),
        (
            TRAIN_IMAGES,
            lambda p: _rewrite(p, struct.pack(">IIII", 0x0803, 60, 32, 32) + bytes(60 * 1024)),
            "32x32 images, not 28x28",
        ),
        (TRAIN_IMAGES, lambda p: _rewrite(p, b"\x00\x00"), "too short to hold an IDX header"),
        (
            TRAIN_LABELS,
            lambda p: _rewrite(p, idx_bytes(np.arange(59) % 10)),
            "holds 60 images but .*train-labels-idx1-ubyte.gz holds 59 labels",
        ),
        (TRAIN_LABELS, lambda p: _rewrite(p, idx_bytes(np.full(60, 11))), "label 11, outside 0-9"),
    ],
    ids=[
        "missing",
        "empty",
        "truncated-gzip",
        "not-gzip",
        "wrong-magic",
        "short-payload",
        "wrong-size",
        "short-header",
        "count-mismatch",
        "bad-label",
    ],
)
def test_bad_files_raise_one_clear_error_naming_the_file(tiny_mnist, name, damage, message):
    damage(tiny_mnist / name)
    with pytest.raises(MnistDataError, match=message) as info:
        load_mnist(tiny_mnist, verify=False)
    assert str(tiny_mnist / name) in str(info.value)  # the full path of the damaged file
    assert info.value.__cause__ is None and "\n" not in str(info.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_unreadable_folder(tiny_mnist):
    tiny_mnist.chmod(0)
    try:
        with pytest.raises(MnistDataError, match="cannot be read; fix its permissions"):
            load_mnist(tiny_mnist)
    finally:
        tiny_mnist.chmod(0o755)


def test_folder_without_read_permission_is_reported(tiny_mnist, monkeypatch):
    # Root ignores permission bits, so ask the same question the loader asks, answered "no".
    monkeypatch.setattr(data.os, "access", lambda path, mode: False)
    with pytest.raises(MnistDataError, match=f"MNIST folder {tiny_mnist} \\(from --data-dir\\) cannot be read"):
        load_mnist(tiny_mnist)


def test_unreadable_file_is_reported_not_raised_as_oserror(tiny_mnist, monkeypatch):
    def refuse(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(data.Path, "read_bytes", refuse)
    with pytest.raises(MnistDataError, match="cannot be read \\(Permission denied\\)"):
        load_mnist(tiny_mnist)


def test_preprocessing_scales_flattens_and_one_hots():
    images = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
    x = data.preprocess(images)
    assert x.dtype == np.float32 and x.shape == (1, 4)
    np.testing.assert_allclose(x[0], [0.0, 1.0, 0.2, 0.4], rtol=1e-6)
    y = data.one_hot(np.array([3, 0]))
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, np.eye(10)[[3, 0]])


def test_validation_split_holds_out_the_last_tenth():
    x, y = np.arange(100), np.arange(100) * 2
    (xf, yf), (xv, yv) = data.split_validation(x, y, 0.1)
    np.testing.assert_array_equal(xv, np.arange(90, 100))
    np.testing.assert_array_equal(yf, np.arange(90) * 2)


@pytest.mark.parametrize(("n", "fraction"), [(4, 0.1), (1, 0.5), (10, 1.0), (10, 0.0)])
def test_a_split_that_would_leave_either_side_empty_is_refused(n, fraction):
    with pytest.raises(ValueError, match=f"cannot hold out {fraction:g} of {n} examples for validation"):
        data.split_validation(np.arange(n), np.arange(n), fraction)


def test_a_small_split_keeps_every_example_once():
    (xf, _), (xv, _) = data.split_validation(np.arange(6), np.arange(6), 0.2)
    assert xf.tolist() == [0, 1, 2, 3, 4] and xv.tolist() == [5]


# Downloads, from mirrors served on 127.0.0.1 only.


def test_download_fills_an_empty_cache(mirror_factory, tmp_path):
    good = mirror_factory("ok")
    cache = tmp_path / "cache"
    (x_train, _), (x_test, _) = read_mnist(cache=cache, download=Download((good.url,)))
    assert len(x_train) == 60 and len(x_test) == 20
    assert sorted(p.name for p in cache.iterdir()) == sorted(data.FILES)
    # A second load reads the verified cache without asking the network.
    good.requests.clear()
    read_mnist(cache=cache, download=Download((good.url,)))
    assert good.requests == []


def test_failing_mirror_falls_through_to_the_next(mirror_factory, tmp_path):
    dead, good = mirror_factory("missing"), mirror_factory("ok")
    read_mnist(cache=tmp_path, download=Download((dead.url, good.url), retries=1))
    assert len(dead.requests) == 2 * len(data.FILES)  # one try and one retry per file
    assert len(good.requests) == len(data.FILES)


@pytest.mark.parametrize("mode", ["corrupt", "cut"])
def test_bad_download_is_rejected_and_leaves_nothing_behind(mirror_factory, tmp_path, mode):
    bad = mirror_factory(mode)
    cache = tmp_path / "cache"
    with pytest.raises(MnistDataError, match="no mirror could provide it") as info:
        read_mnist(cache=cache, download=Download((bad.url,), retries=0))
    expected = "served a file with the wrong sha256" if mode == "corrupt" else "connection closed before the whole file"
    assert expected in str(info.value)
    assert list(cache.iterdir()) == []


def test_mirrors_come_from_the_environment_variable_in_order(mirror_factory, tmp_path, monkeypatch):
    dead, good = mirror_factory("missing"), mirror_factory("ok")
    monkeypatch.setenv(data.MIRRORS_ENV, f" {dead.url}, {good.url.rstrip('/')} ")  # commas, spaces, no final slash
    assert data.default_mirrors() == (dead.url, good.url)
    read_mnist(cache=tmp_path, download=Download(data.default_mirrors(), retries=0))
    assert len(dead.requests) == len(good.requests) == len(data.FILES)


def test_a_mirror_that_is_not_a_url_is_named(monkeypatch, tmp_path):
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
    monkeypatch.setenv(data.MIRRORS_ENV, "https://ok.example/mnist/ ftp.example.org")
    with pytest.raises(MnistDataError, match=r"\$MNIST_ANN_MIRRORS holds 'ftp.example.org', which is not an http"):
        read_mnist(cache=tmp_path)


FILL_CACHE = """
import json, sys
from mnist_ann import data
data.FILES = json.loads(sys.argv[1])
(x_train, _), _ = data.read_mnist(cache=sys.argv[2], download=data.Download((sys.argv[3],)))
print(len(x_train))
"""


def test_two_processes_filling_an_empty_cache_both_succeed(mirror_factory, tmp_path):
    slow = mirror_factory("slow")  # each answer takes a moment, so the two downloads overlap
    cache = tmp_path / "cache"
    args = [sys.executable, "-c", FILL_CACHE, json.dumps(data.FILES), str(cache), slow.url]
    processes = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in processes]
    for p, (stdout, stderr) in zip(processes, outputs, strict=True):
        assert p.returncode == 0, stderr
        assert stdout.strip() == "60"
    assert sorted(path.name for path in cache.iterdir()) == sorted(data.FILES)  # no temporary file left
    assert all(data.sha256((cache / name).read_bytes()) == digest for name, digest in data.FILES.items())


def test_damaged_cache_file_is_replaced_by_a_fresh_download(mirror_factory, tmp_path):
    good = mirror_factory("ok")
    cache = tmp_path / "cache"
    read_mnist(cache=cache, download=Download((good.url,)))
    (cache / TRAIN_LABELS).write_bytes(b"garbage")
    good.requests.clear()
    read_mnist(cache=cache, download=Download((good.url,)))
    assert good.requests == [TRAIN_LABELS]
    assert data.sha256((cache / TRAIN_LABELS).read_bytes()) == data.FILES[TRAIN_LABELS]


def test_damaged_cache_without_network_says_so_and_keeps_the_file(mirror_factory, tmp_path):
    good = mirror_factory("ok")
    cache = tmp_path / "cache"
    read_mnist(cache=cache, download=Download((good.url,)))
    (cache / TRAIN_LABELS).write_bytes(b"garbage")
    good.close()
    with pytest.raises(MnistDataError, match="in the cache does not match its published sha256 and no mirror"):
        read_mnist(cache=cache, download=Download((good.url,), timeout=2, retries=0))
    assert (cache / TRAIN_LABELS).read_bytes() == b"garbage"


def test_no_network_and_no_cache(tiny_mnist, tmp_path):
    with pytest.raises(
        MnistDataError, match="is not in the cache and no mirror could provide it.*connect to the internet"
    ):
        read_mnist(cache=tmp_path, download=Download(("http://127.0.0.1:9/",), timeout=2, retries=0))


def test_download_turned_off(tiny_mnist, tmp_path):
    with pytest.raises(MnistDataError, match="is not in the cache and downloading is turned off"):
        read_mnist(cache=tmp_path, download=None)


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="the canonical MNIST files are not beside this checkout")
def test_canonical_files_through_the_environment_variable(monkeypatch):
    monkeypatch.setenv(data.DATA_DIR_ENV, str(SHARED_MNIST))
    (x_train, y_train), (x_test, y_test) = load_mnist()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert x_train.dtype == x_test.dtype == y_train.dtype == y_test.dtype == np.uint8
    assert np.bincount(y_train)[0] == 5923 and np.bincount(y_test)[0] == 980
    assert abs(x_train.mean() - 33.3184) < 1e-3


def test_a_full_disk_while_downloading_is_one_sentence_and_leaves_nothing_in_the_cache(
    mirror_factory, tmp_path, monkeypatch
):
    good = mirror_factory("ok")

    def full_disk(self, url, output_file, pooch_, check_only=False):
        with open(output_file, "wb") as f:  # pooch hands over a temporary file in the cache...
            f.write(b"the first bytes")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # ...and the disk fills up

    monkeypatch.setattr(pooch.HTTPDownloader, "__call__", full_disk)
    cache = tmp_path / "cache"
    with pytest.raises(MnistDataError) as info:
        read_mnist(cache=cache, download=Download((good.url,)))
    message = str(info.value)
    assert message.startswith(f"cannot write {cache / 'train-images-idx3-ubyte.gz'}: no space left on device; ")
    assert "MNIST_ANN_CACHE_DIR" in message and "\n" not in message
    assert [path.name for path in cache.iterdir()] == []  # nothing a later run would trust
