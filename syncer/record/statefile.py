"""`mapping.json`, the state file, read strictly (statedump.py writes it).

Versions 3 and 4 hold an image a line, keys sorted, fields at their default and the source (the
line's key) left out: a change to an image is a one-line diff, and a large file is read a line
at a time, never held whole. Any other layout (versions 1 and 2,
a hand-formatted file) is read whole, with the same checks. Every problem is a StateError
naming the file, the line or the image and key, and the way forward. Pure: text in, values
out; the same state gives the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any, NamedTuple

from syncer.errors import SyncerError
from syncer.record.compiled import entry_decode
from syncer.record.fields import entry_problem
from syncer.record.image import Copied, Image, ImageState, State

# 4: platform subsets (source_digest, left_out) and artifacts (content); 3: one image a line,
# defaults and the source left out; 2: companions, verified, drift and the digest history.
# Earlier versions are read and migrated.
VERSION = 4
HEAD = ("{\n", f'  "version": {VERSION},\n', '  "images": {\n')
# Versions whose files the line reader takes (3 has 4's layout, without the newer fields).
LINE_HEADS = {HEAD, ("{\n", '  "version": 3,\n', '  "images": {\n')}
_FROM_KEY = "\0(the entry's key)"  # a source not written: compared by identity, never decoded


class StateError(SyncerError):
    """The state file cannot be trusted as it is: exit 2, with the way forward."""

    exit_code = 2


_FIX = "fix it by hand, or run 'syncer repair-state' to rebuild it from the destination"
_HISTORY_KEYS = frozenset(("digest", "at", "commit"))


def _conflict_line(text: str) -> int | None:
    """The line of the first git conflict marker, if any (str.find: a regex over a large
    file is far slower)."""
    found: list[int] = []
    for marker in ("<<<<<<<", "=======", ">>>>>>>"):
        at = text.find(marker)
        while at != -1:
            after = text[at + 7 : at + 8]
            if (at == 0 or text[at - 1] == "\n") and after in ("", " ", "\n", "\r"):
                found.append(at)
                break
            at = text.find(marker, at + 7)
    return text.count("\n", 0, min(found)) + 1 if found else None


class _Invalid(NamedTuple):
    """An image's entry that failed its check while decoding (its key is known later)."""

    problem: str


class _Decoder:
    """Turns an image's object into an ImageState as it is decoded, so the decoded dicts of a
    large file never exist all at once; values that repeat across images (commits, times,
    platform lists) are shared, not held once an image."""

    def __init__(self) -> None:
        self.shared: dict[Any, Any] = {}

    def __call__(self, value: dict[str, Any]) -> object:
        """json's object_hook: history lines and entries become values, the rest stays."""
        if len(value) == 3 and _HISTORY_KEYS.issuperset(value):
            return self.history_line(value)
        if "status" not in value or "destination" not in value:
            return value  # the top level, or not an entry (checked later)
        value.setdefault("source", _FROM_KEY)
        return self.image(value)

    def history_line(self, value: dict[str, Any], current: str | None = None) -> object:
        """A Copied, or the dict as it was (the entry's check names it). The current digest's
        line shares its string."""
        if len(value) != 3 or not _HISTORY_KEYS.issuperset(value):
            return value
        digest, at, commit = value["digest"], value["at"], value["commit"]
        if (
            type(digest) is not str
            or (at is not None and type(at) is not str)
            or (commit is not None and type(commit) is not str)
        ):
            return value
        shared = self.shared
        return Copied(
            current if digest == current else digest,
            shared.setdefault(at, at),
            shared.setdefault(commit, commit),
        )

    def image(self, value: dict[str, Any]) -> ImageState | _Invalid:
        """The entry's ImageState, or what is wrong with it. `value` is the decoder's own,
        short-lived dict: changed in place, then dropped."""
        digest = value.get("digest")
        history = value.get("history")
        if type(history) is list:
            history = [self.history_line(h, digest) if type(h) is dict else h for h in history]
            value["history"] = history
        if not entry_decode(value, self.shared):  # checked and decoded in one pass
            return _Invalid(entry_problem(value) or "not an image's entry")
        if history is not None:
            value["history"] = tuple(history)
        elif digest:  # version 1: the one digest it knew
            value["history"] = (Copied(digest, None, value.get("commit")),)
        return ImageState(**value)


def _images(text: str, origin: str) -> dict[str, object]:
    """The `images` object of a state file this version can read, entries decoded."""
    line = _conflict_line(text)
    if line is not None:
        raise StateError(f"{origin}:{line}: git conflict markers; {_FIX}")
    try:
        data = json.loads(text, object_hook=_Decoder())
    except ValueError as exc:
        where = f"{exc.lineno}" if isinstance(exc, json.JSONDecodeError) else "1"
        raise StateError(f"{origin}:{where}: not valid JSON ({_reason(exc)}); {_FIX}") from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), dict):
        raise StateError(f"{origin}: not a syncer state file (no 'images' object); {_FIX}")
    version = data.get("version", VERSION)
    if not isinstance(version, int) or version < 1:
        raise StateError(f"{origin}: version: expected a number, got {version!r}; {_FIX}")
    if version > VERSION:
        raise StateError(
            f"{origin}: written by a newer syncer (state version {version}, this one reads up "
            f"to {VERSION}); upgrade syncer"
        )
    images: dict[str, object] = data["images"]
    return images


def _reason(exc: ValueError) -> str:
    return exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)


def _keyed(key: str, value: object, origin: str) -> ImageState:
    """An entry under its key, or the StateError that names it."""
    if isinstance(value, Image):
        if value.source is _FROM_KEY:
            return value._replace(source=key)
        if value.source == key:
            return value
        problem = f"source: {value.source!r} differs from the entry's key"
    elif isinstance(value, _Invalid):
        problem = value.problem
    else:
        problem = entry_problem(value) or "not an image's entry"
    raise StateError(f"{origin}: images[{json.dumps(key)}].{problem}; {_FIX}")


def load_state(text: str | None, origin: str) -> State:
    """The state as written by this or an earlier version; anything else is a StateError
    naming the file, the image and the key, before any work starts."""
    if not text:
        return {}
    return {key: _keyed(key, value, origin) for key, value in _images(text, origin).items()}


_decode_at = json.JSONDecoder().raw_decode  # one value from an index: json's C scanner


def load_state_lines(lines: Iterable[str], origin: str, whole: Callable[[], str | None]) -> State:
    """The state from a file's lines, read one image a line when the file has version 3's
    layout; at the first line that does not, the whole file (`whole()`) is read instead, so
    the answer and every error are those of `load_state`."""
    state: State = {}
    decoder = _Decoder()
    rest: Iterator[str] = iter(lines)
    if tuple(islice(rest, 3)) not in LINE_HEADS:
        return load_state(whole(), origin)
    for line in rest:
        if line == "  }\n":
            return state if "".join(rest) == "}\n" else load_state(whole(), origin)
        try:
            key, end = _decode_at(line, 4) if line.startswith('    "') else (None, 0)
            if not isinstance(key, str) or line[end : end + 2] != ": ":
                return load_state(whole(), origin)
            value, end = _decode_at(line, end + 2)
        except (ValueError, IndexError):
            return load_state(whole(), origin)
        if line[end:] not in (",\n", "\n"):
            return load_state(whole(), origin)
        if not isinstance(value, dict):
            raise StateError(f"{origin}: images[{json.dumps(key)}]: expected an object; {_FIX}")
        value.setdefault("source", key)
        state[key] = _keyed(key, decoder.image(value), origin)
    return load_state(whole(), origin)  # cut short
