"""Drift: upstream moved a tag. The source's digest differs from the one syncer last copied
there, which the destination still holds. Pure."""

from __future__ import annotations

import enum

MAX_TAG = 128


class DriftMode(str, enum.Enum):
    """What `on_drift` says to do when upstream moved a tag syncer mirrored."""

    UPDATE = "update"  # copy the new digest
    KEEP = "keep"  # leave the mirror as it is, report it
    BACKUP = "backup"  # keep the old digest under TAG-<12 hex>, then copy

    def __str__(self) -> str:
        return self.value


def backup_tag(tag: str, old_digest: str) -> str:
    """`1.25` + `sha256:abcdef...` -> `1.25-abcdef012345` (within the 128 characters of a tag)."""
    suffix = "-" + old_digest.partition(":")[2][:12]
    return tag[: MAX_TAG - len(suffix)] + suffix


def drifted(
    last: str | None,
    at_destination: str | None,
    at_source: str | None,
    written: str | None = None,
) -> bool:
    """Upstream moved the tag: the destination still holds what syncer wrote there (`written`:
    the source's digest `last`, or a subset's own index), and the source now has another."""
    return (
        last is not None
        and at_destination == (written or last)
        and at_source is not None
        and at_source != last
    )
