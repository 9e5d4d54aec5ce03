"""Atomic writes: the real name holds the old content or the new, never half of one."""

from __future__ import annotations

import errno
import os

import pytest

from mnist_ann.files import WriteError, replaced_atomically, write_text_atomically


def test_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "out.json"
    path.write_text("old")
    write_text_atomically(path, "new")
    assert path.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "model.keras"
    path.write_text("old")
    with pytest.raises(RuntimeError), replaced_atomically(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]


def test_new_files_get_the_usual_permissions(tmp_path):
    write_text_atomically(tmp_path / "a.txt", "x")
    assert (tmp_path / "a.txt").stat().st_mode & 0o644 == 0o644


def test_a_full_disk_is_one_sentence_naming_the_file_and_keeps_the_old_one(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text("old")
    with pytest.raises(WriteError) as info, replaced_atomically(path) as tmp:
        tmp.write_text("ha")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert str(info.value).startswith(f"cannot write {path}: no space left on device; ")
    assert "run the same command again" in str(info.value) and "\n" not in str(info.value)
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_a_folder_that_cannot_take_a_file_is_a_write_error(tmp_path):
    with pytest.raises(WriteError, match=r"cannot write .*missing/out.txt: no such file or directory"):
        write_text_atomically(tmp_path / "missing" / "out.txt", "x")
