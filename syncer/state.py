"""The state behind the report (`mapping.json`): what is mirrored, from which commit, what failed.

Committed beside the report so the next run knows which images still need work. Pure: text in,
values out. Written with sorted keys and no timestamps, so the same state gives the same bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace

from syncer.errors import SyncerError
from syncer.results import ImageResult, Status

VERSION = 1
COPIED, FAILED = "copied", "failed"


@dataclass(frozen=True)
class ImageState:
    source: str
    destination: str
    status: str  # COPIED or FAILED
    digest: str | None = None
    platforms: tuple[str, ...] = ()
    commit: str | None = None  # revision of the list at the last successful copy
    reason: str | None = None  # why the last attempt failed
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.status == FAILED

    @property
    def complete(self) -> bool:
        """Known to be mirrored with everything the report shows (an interrupted read after a
        copy leaves the platforms out: the next run fills them in)."""
        return self.status == COPIED and self.digest is not None and bool(self.platforms)


State = dict[str, ImageState]  # by normalized source
_FIELDS = fields(ImageState)
_NAMES = frozenset(f.name for f in _FIELDS)


class StateError(SyncerError):
    """The state file cannot be trusted as it is: exit 2, with the way forward."""

    exit_code = 2


_FIX = "fix it by hand, or run 'syncer repair-state' to rebuild it from the destination"
_CONFLICT = re.compile(r"^(<<<<<<<|>>>>>>>|=======)( |$)", re.M)
_DIGEST = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$")
_OPTIONAL_TEXT = ("commit", "reason", "error")


def _check_entry(key: str, value: object) -> str | None:
    """What is wrong with one image's entry, in words, or None."""
    if not isinstance(value, dict):
        return f"expected an object, got {type(value).__name__}"
    unknown = sorted(set(value) - _NAMES)
    if unknown:
        return f"unknown key {unknown[0]!r}"
    for name in ("source", "destination"):
        if not isinstance(value.get(name), str):
            return f"{name}: expected a string, got {value.get(name)!r}"
    if value["source"] != key:
        return f"source: {value['source']!r} differs from the entry's key"
    if value.get("status") not in (COPIED, FAILED):
        return f"status: expected 'copied' or 'failed', got {value.get('status')!r}"
    digest = value.get("digest")
    if digest is not None and (not isinstance(digest, str) or not _DIGEST.match(digest)):
        return f"digest: expected a digest like 'sha256:<hex>', got {digest!r}"
    platforms = value.get("platforms", [])
    if not isinstance(platforms, list) or not all(isinstance(p, str) for p in platforms):
        return f"platforms: expected a list of strings, got {platforms!r}"
    for name in _OPTIONAL_TEXT:
        if value.get(name) is not None and not isinstance(value[name], str):
            return f"{name}: expected a string or null, got {value[name]!r}"
    return None


def _entry(value: dict[str, object]) -> ImageState:
    return ImageState(**{**value, "platforms": tuple(value.get("platforms") or ())})  # type: ignore[arg-type]


def _images(text: str, origin: str) -> dict[str, object]:
    """The `images` object of a state file this version can read."""
    conflict = _CONFLICT.search(text)
    if conflict:
        line = text.count("\n", 0, conflict.start()) + 1
        raise StateError(f"{origin}:{line}: git conflict markers; {_FIX}")
    try:
        data = json.loads(text)
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


def load_state(text: str | None, origin: str) -> State:
    """The state as written by this or an earlier version; anything else is a StateError
    naming the file, the image and the key, before any work starts."""
    if not text:
        return {}
    state: State = {}
    for key, value in _images(text, origin).items():
        problem = _check_entry(key, value)
        if problem or not isinstance(value, dict):
            raise StateError(f"{origin}: images[{json.dumps(key)}].{problem}; {_FIX}")
        state[key] = _entry(value)
    return state


def _as_dict(image: ImageState) -> dict[str, object]:
    # Not dataclasses.asdict: its deep copies cost a second on a 10,000-image state.
    data: dict[str, object] = {f.name: getattr(image, f.name) for f in _FIELDS}
    data["platforms"] = list(image.platforms)
    return data


def dump_state(state: State) -> str:
    images = {key: _as_dict(state[key]) for key in sorted(state)}
    return json.dumps({"version": VERSION, "images": images}, indent=2, sort_keys=True) + "\n"


def _updated(before: ImageState | None, result: ImageResult, commit: str | None) -> ImageState:
    if result.status is Status.FAILED:
        base = before or ImageState(result.source, result.destination, FAILED)
        return replace(base, status=FAILED, reason=result.reason, error=result.error)
    copied = result.status is Status.COPIED
    return ImageState(
        source=result.source,
        destination=result.destination,
        status=COPIED,
        digest=result.digest or (before.digest if before else None),
        platforms=result.platforms or (before.platforms if before else ()),
        # A skip proves the image is in place, not that this commit copied it.
        commit=commit if copied or before is None or before.commit is None else before.commit,
    )


def apply_results(state: State, results: Iterable[ImageResult], commit: str | None) -> State:
    """The entries these results change (to be merged into whichever state is newest)."""
    return {r.source: _updated(state.get(r.source), r, commit) for r in results}


def merge(state: State, updates: State, keep: Iterable[str]) -> State:
    """`state` with `updates` on top, limited to the images in `keep` (the current list)."""
    wanted = set(keep)
    merged = {**state, **updates}
    return {key: value for key, value in merged.items() if key in wanted}


def needs_work(state: State, mappings: Sequence[tuple[str, str]]) -> set[str]:
    """Sources not known to be mirrored, complete, at their current destination."""
    todo = set()
    for source, destination in mappings:
        known = state.get(source)
        if known is None or not known.complete or known.destination != destination:
            todo.add(source)
    return todo
