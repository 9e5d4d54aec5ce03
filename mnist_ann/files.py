"""Write files so that an interrupted or failed write never leaves a half-written file under the real name."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


class WriteError(Exception):
    """A file could not be written (a full disk, a read-only folder, ...); the message names it and the cause."""


class ModelFileError(ValueError):
    """A model file that is not this project's network (`model.load_model`): one sentence naming it and the fix."""


def os_reason(exc: OSError) -> str:
    """An OSError's cause in words, such as "no space left on device"."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    return reason[0].lower() + reason[1:] if reason else reason


def exception_reason(exc: BaseException, limit: int = 200) -> str:
    """What an exception says, to quote inside a one-sentence error: its first line, without a closing full stop,
    cut at a word boundary (with "...") when longer than `limit` characters; its type's name when it says nothing."""
    text = str(exc).strip()
    if not text:
        return type(exc).__name__
    line = text.splitlines()[0].strip().rstrip(".")
    if len(line) > limit:
        line = line[:limit].rsplit(" ", 1)[0].rstrip(" ,;:") + "..."
    return line


def write_failed(path: str | os.PathLike, exc: OSError) -> WriteError:
    """The one-sentence error for a failed write of `path`: what, why, and what to do."""
    return WriteError(
        f"cannot write {path}: {os_reason(exc)}; nothing half-written was kept. Free some space (or fix the "
        "folder's permissions), then run the same command again."
    )


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def replaced_atomically(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path` (same suffix); rename it onto `path` only if the block succeeds.

    An OSError while writing (a full disk, say) removes the temporary file, leaves `path` as it was, and is
    raised again as one WriteError sentence naming `path`.
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    except OSError as exc:
        raise write_failed(path, exc) from None
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, path)
    except OSError as exc:
        raise write_failed(path, exc) from None
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomically(path: str | os.PathLike, text: str) -> None:
    """Write `text` to `path` through a temporary file renamed into place."""
    with replaced_atomically(path) as tmp:
        tmp.write_text(text)
