"""The state behind the report (`mapping.json`): what is mirrored, from which commit, what failed.

Committed beside the report so the next run knows which images still need work. Pure. This
module is the model and how a run's results change it; `statefile` reads and writes the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import NamedTuple

from syncer.record.image import Copied, ImageResult, ImageState, State, Status


def _updated(
    before: ImageState | None, result: ImageResult, commit: str | None, when: str
) -> ImageState:
    if result.status in (Status.FAILED, Status.DEFERRED):
        base = before or ImageState(result.source, result.destination, result.status)
        return base._replace(
            status=result.status,
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
        status=Status.COPIED,
        digest=digest,
        platforms=result.platforms or (before.platforms if before else ()),
        # A skip proves the image is in place, not that this commit copied it.
        commit=commit if copied or before is None or before.commit is None else before.commit,
        companions=result.companions
        if result.companions is not None
        else (before.companions if before else None),
        verified=result.verified or (before.verified if before and not copied else None),
        drift=result.drift,
        history=history,
        selected_by=result.selected_by or (before.selected_by if before else None),
        # What this run found at the source decides: a subset, or the source's own index.
        source_digest=result.source_digest,
        left_out=result.left_out,
        content=result.content or (before.content if before else None),
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
        key: entry._replace(unselected=True)
        for key, entry in state.items()
        if entry.selected_by == selector_key and key not in now_chosen and key != selector_key
    }


def selected_keys(
    state: State, selector_keys: Iterable[str], updates: State | None = None
) -> list[str]:
    """The images of `state` with `updates` on top chosen by these selectors (and their own
    failure rows)."""
    wanted = set(selector_keys)
    if not wanted:
        return []
    updates = updates or {}
    chosen = {key for key, entry in updates.items() if entry.selected_by in wanted}
    chosen.update(
        key for key, entry in state.items() if key not in updates and entry.selected_by in wanted
    )
    return sorted(chosen)


class Removal(NamedTuple):
    """When and at which revision of the list an image left it."""

    at: str
    commit: str | None


def merge(
    state: State,
    updates: State,
    keep: Iterable[str],
    removal: Removal | None = None,
    hold: bool = False,
) -> State:
    """`state` with `updates` on top, limited to the images in `keep` (the current list);
    with a `removal`, the others are kept, marked removed then (the registry still holds
    them), and a line that came back is no longer removed. With `hold` (the list has bad
    lines, which may be images it still means), the others are kept as they are. Built in
    one pass: the state of a long list is not copied twice."""
    wanted = keep if isinstance(keep, set | frozenset) else set(keep)
    merged: State = {}
    for key, value in state.items():
        if key in wanted:
            merged[key] = value if value.removed_at is None else _listed_again(value)
        elif hold:
            merged[key] = value
        elif removal is not None:
            merged[key] = value if value.removed_at else _removed(value, removal)
    merged.update(
        (key, value)
        for key, value in updates.items()
        if key in wanted or (removal is not None and value.removed_at is not None)
    )
    return merged


def _removed(entry: ImageState, removal: Removal) -> ImageState:
    return entry._replace(removed_at=removal.at, removed_commit=removal.commit)


def _listed_again(entry: ImageState) -> ImageState:
    """Back in the list before it was deleted: nothing happens to it. Back after: a new image
    (the next run copies it)."""
    pruned = entry.pruned_at is not None
    return entry._replace(
        removed_at=None, removed_commit=None, pruned_at=None, pruned_commit=None,
        prune_note=None, digest=None if pruned else entry.digest,
    )  # fmt: skip


def needs_work(state: State, mappings: Sequence[tuple[str, str]]) -> set[str]:
    """Sources not known to be mirrored, complete, at their current destination."""
    todo = set()
    for source, destination in mappings:
        known = state.get(source)
        if known is None or not known.complete or known.destination != destination:
            todo.add(source)
    return todo
