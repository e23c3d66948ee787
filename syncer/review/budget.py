"""What a merge request will spend: pulls of a registry's quota, and deletions to come. Pure."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone

from syncer.registry.quota import Seen, back_by
from syncer.review.plan import CONTENT_WORDS, PlanRow

WHOLE = ("single platform", *CONTENT_WORDS.values())  # one manifest: one GET


def pulls(row: PlanRow) -> int:
    """Manifest GETs the copy of a row makes: the index and each platform it copies."""
    if row.copied is not None:
        return 1 + len(row.copied)
    if not row.platforms or row.platforms[0] in WHOLE:
        return 1
    return 1 + len(row.platforms)


def quota_notes(
    rows: Sequence[PlanRow],
    host_of: Callable[[PlanRow], str],
    seen: Callable[[str], Seen | None],
    keep: int,
) -> list[str]:
    """For each registry that counts pulls: what the added images need, what is left now,
    and how many images would wait for a later run."""
    need: dict[str, list[int]] = {}
    for row in rows:
        if row.problem is None:
            need.setdefault(host_of(row), []).append(pulls(row))
    notes = []
    for host, costs in sorted(need.items()):
        said = seen(host)
        if said is None:
            continue
        left, waiting = said.left, 0
        for cost in costs:  # in the plan's order, as a run starts them
            if left - cost >= keep:
                left -= cost
            else:
                waiting += 1
        until = back_by(said)
        back = f" (pulls come back by {until})" if until else ""
        kept = f", {keep} kept for others" if keep else ""
        wait = f": {waiting} image(s) will wait for a later run" if waiting else ""
        notes.append(
            f"needs about {sum(costs)} pulls of {host}; {said.left} left now{back}{kept}{wait}"
        )
    return notes


def prune_notes(removed: Sequence[str], prune_after: int | None, now: datetime) -> list[str]:
    """What the removed lines mean for the mirror: deleted after the grace period, or kept."""
    if not removed:
        return []
    if prune_after is None:
        return [
            f"{len(removed)} image(s) removed from the list stay in the mirror (no prune_after)"
        ]
    when = (now.astimezone(timezone.utc) + timedelta(seconds=prune_after)).strftime("%Y-%m-%d")
    return [
        f"`{source}` will be deleted from the mirror after {when} (prune_after), unless the "
        "line comes back before"
        for source in removed
    ]
