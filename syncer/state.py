"""The state behind the report (`mapping.json`): what is mirrored, from which commit, what failed.

Committed beside the report so the next run knows which images still need work. Pure: text in,
values out. Written with sorted keys; the only times in it are those of the digest history,
written when a digest changes, so the same state gives the same bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime, timezone
from typing import Any

from syncer.errors import SyncerError
from syncer.results import ImageResult, Status

VERSION = 2  # 2: companions, verified, drift and the digest history; 1 is read and migrated
COPIED, FAILED = "copied", "failed"


@dataclass(frozen=True)
class Copied:
    """One line of an image's digest history: a digest seen at the destination, first when."""

    digest: str
    at: str | None  # UTC, ISO 8601, of the run that first recorded it (None: before version 2)
    commit: str | None


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
    companions: tuple[str, ...] = ()  # kinds mirrored with it: signature, attestation, SBOM...
    verified: str | None = None  # the key its signature was verified with
    drift: str | None = None  # upstream moved the tag: "OLD -> NEW (kept|updated|backed up...)"
    history: tuple[Copied, ...] = ()
    selected_by: str | None = None  # the tag selector line that chose it (its key)
    unselected: bool = False  # chosen once, no longer by its selector: kept, not synced

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
_OPTIONAL_TEXT = ("commit", "reason", "error", "verified", "drift", "selected_by")


def _history_line(line: object) -> bool:
    return (
        isinstance(line, dict)
        and set(line) == {"digest", "at", "commit"}
        and isinstance(line["digest"], str)
        and all(line[k] is None or isinstance(line[k], str) for k in ("at", "commit"))
    )


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
    for name in ("platforms", "companions"):
        items = value.get(name, [])
        if not isinstance(items, list) or not all(isinstance(p, str) for p in items):
            return f"{name}: expected a list of strings, got {items!r}"
    history = value.get("history", [])
    if not isinstance(history, list) or not all(_history_line(h) for h in history):
        return "history: expected a list of {digest, at, commit}"
    if not isinstance(value.get("unselected", False), bool):
        return f"unselected: expected true or false, got {value.get('unselected')!r}"
    for name in _OPTIONAL_TEXT:
        if value.get(name) is not None and not isinstance(value[name], str):
            return f"{name}: expected a string or null, got {value[name]!r}"
    return None


def _entry(value: dict[str, Any]) -> ImageState:
    history = tuple(Copied(h["digest"], h["at"], h["commit"]) for h in value.get("history", []))
    if "history" not in value and value.get("digest"):  # version 1: the one digest it knew
        history = (Copied(value["digest"], None, value.get("commit")),)
    return ImageState(
        **{
            **value,
            "platforms": tuple(value.get("platforms") or ()),
            "companions": tuple(value.get("companions") or ()),
            "history": history,
        }
    )


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
    data["companions"] = list(image.companions)
    data["history"] = [{"digest": h.digest, "at": h.at, "commit": h.commit} for h in image.history]
    return data


def dump_state(state: State) -> str:
    images = {key: _as_dict(state[key]) for key in sorted(state)}
    return json.dumps({"version": VERSION, "images": images}, indent=2, sort_keys=True) + "\n"


def _updated(
    before: ImageState | None, result: ImageResult, commit: str | None, when: str
) -> ImageState:
    if result.status is Status.FAILED:
        base = before or ImageState(result.source, result.destination, FAILED)
        return replace(
            base,
            status=FAILED,
            reason=result.reason,
            error=result.error,
            drift=result.drift,
            selected_by=result.selected_by or base.selected_by,
            unselected=False,
        )
    copied = result.status is Status.COPIED
    digest = result.digest or (before.digest if before else None)
    history = before.history if before else ()
    if digest and (not history or history[-1].digest != digest):
        history = (*history, Copied(digest, when, commit if copied else None))
    return ImageState(
        source=result.source,
        destination=result.destination,
        status=COPIED,
        digest=digest,
        platforms=result.platforms or (before.platforms if before else ()),
        # A skip proves the image is in place, not that this commit copied it.
        commit=commit if copied or before is None or before.commit is None else before.commit,
        companions=result.companions
        if result.companions is not None
        else (before.companions if before else ()),
        verified=result.verified or (before.verified if before and not copied else None),
        drift=result.drift,
        history=history,
        selected_by=result.selected_by or (before.selected_by if before else None),
    )


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def apply_results(
    state: State, results: Iterable[ImageResult], commit: str | None, when: str | None = None
) -> State:
    """The entries these results change (to be merged into whichever state is newest)."""
    when = when or now()
    return {r.source: _updated(state.get(r.source), r, commit, when) for r in results}


def unselected(state: State, selector_key: str, chosen: Iterable[str]) -> State:
    """The entries a selector chose before and no longer does: marked, never dropped."""
    now_chosen = set(chosen)
    return {
        key: replace(entry, unselected=True)
        for key, entry in state.items()
        if entry.selected_by == selector_key and key not in now_chosen and key != selector_key
    }


def selected_keys(state: State, selector_keys: Iterable[str]) -> list[str]:
    """The state's images chosen by these selectors (and their own failure rows)."""
    wanted = set(selector_keys)
    return sorted(key for key, entry in state.items() if entry.selected_by in wanted)


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
