"""The state behind the report (`mapping.json`): what is mirrored, from which commit, what failed.

Committed beside the report so the next run knows which images still need work. Pure: text in,
values out. Written with sorted keys and no timestamps, so the same state gives the same bytes.
"""

from __future__ import annotations

import json
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


State = dict[str, ImageState]  # by normalized source
_FIELDS = fields(ImageState)


def load_state(text: str | None, origin: str) -> State:
    if not text:
        return {}
    try:
        data = json.loads(text)
        return {
            key: ImageState(**{**value, "platforms": tuple(value.get("platforms", ()))})
            for key, value in data["images"].items()
        }
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SyncerError(f"{origin}: not a syncer state file ({exc.__class__.__name__})") from None


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
    """Sources that are not known to be mirrored at their current destination."""
    todo = set()
    for source, destination in mappings:
        known = state.get(source)
        if known is None or known.failed or known.destination != destination:
            todo.add(source)
    return todo
