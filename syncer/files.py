"""Files written so that a crash, a kill or a full disk never leaves half of one behind."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path

from syncer.errors import SyncerError


class WriteError(SyncerError):
    """A file could not be written; the one before it is still in place, whole."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: cannot write: {reason}")
        self.path = path


class Pieces:
    """A file's text made a piece at a time, anew each time it is read: a 100,000-image state
    or report is written and compared without ever being one string."""

    def __init__(self, make: Callable[[], Iterator[str]]) -> None:
        self.make = make

    def __iter__(self) -> Iterator[str]:
        return self.make()


Text = str | Iterable[str]  # a file's text, whole or in pieces

BLOCK = 256  # lines a piece


def line_blocks(lines: Iterable[str], size: int = BLOCK) -> Iterator[str]:
    """The lines joined by newlines, `size` at a time (no newline after a block's last): the
    pieces of a large file. A piece a line costs each step after it (jinja2, comparing,
    writing) about as much as making the line."""
    iterator = iter(lines)
    while block := list(islice(iterator, size)):
        yield "\n".join(block)


def write_atomic(path: Path, text: Text) -> None:
    """Write `text` to a temporary file beside `path`, fsync it, then rename it over `path`.

    A reader sees the old file or the new one, never a mix; on any failure the temporary file
    is removed and the old file is untouched.
    """
    pieces = [text] if isinstance(text, str) else text
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise WriteError(path, exc.strerror or str(exc)) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as stream:
            for piece in pieces:
                stream.write(piece)
            stream.flush()
            os.fsync(stream.fileno())
        # mkstemp makes 0600; keep the old file's mode, else the usual one of a committed file
        os.chmod(temporary, path.stat().st_mode & 0o7777 if path.is_file() else 0o644)
        os.replace(temporary, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(exc, OSError):
            raise WriteError(path, exc.strerror or str(exc)) from None
        raise
    _sync_directory(path.parent)


def holds(path: Path, text: Text) -> bool:
    """`path` holds exactly `text`, compared a piece at a time (neither read whole)."""
    pieces = [text] if isinstance(text, str) else text
    try:
        with path.open(encoding="utf-8", errors="replace", newline="") as stream:
            return all(stream.read(len(piece)) == piece for piece in pieces) and not stream.read(1)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise SyncerError(f"{path}: cannot read: {exc.strerror}") from None


def _sync_directory(folder: Path) -> None:
    """Make the rename itself durable (where the platform allows opening a directory)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
