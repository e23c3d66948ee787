"""What happened to each image: plain values that the report, the state and shards share."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass


class Status(str, enum.Enum):
    COPIED = "copied"
    SKIPPED = "skipped"  # already identical at the destination
    FAILED = "failed"


@dataclass(frozen=True)
class ImageResult:
    source: str
    destination: str
    status: Status
    seconds: float = 0.0
    digest: str | None = None
    platforms: tuple[str, ...] = ()
    reason: str | None = None
    error: str | None = None
    companions: tuple[str, ...] | None = None  # kinds mirrored with it (None: not looked at)
    verified: str | None = None  # the key whose signature verified before the copy
    drift: str | None = None  # "OLD -> NEW (what was done)" when upstream moved the tag
    selected_by: str | None = None  # the tag selector line that chose it

    def describe(self) -> str:
        if self.status is Status.FAILED:
            return f"failed ({self.reason}): {self.error or 'no error message'}"
        return f"{self.status.value} in {self.seconds:.1f}s"


def platform_name(fields: object) -> str | None:
    """`os/architecture[/variant]` of an index entry's `platform` or an image config."""
    if not isinstance(fields, dict):
        return None
    parts = [fields.get("os"), fields.get("architecture"), fields.get("variant")]
    text = "/".join(str(p) for p in parts if p)
    # Attestation manifests (buildx provenance) are listed as unknown/unknown.
    return None if not text or "unknown" in text else text


def platforms_in(manifest: dict[str, object]) -> tuple[str, ...] | None:
    """The platforms an image index lists, or None when the manifest is a single image."""
    entries = manifest.get("manifests")
    if not isinstance(entries, list):
        return None
    names = (platform_name(e.get("platform")) for e in entries if isinstance(e, dict))
    return tuple(sorted({name for name in names if name}))


def platforms_of(raw_manifest: str) -> tuple[str, ...] | None:
    """`platforms_in` of a manifest as the registry sent it."""
    manifest = json.loads(raw_manifest)
    return platforms_in(manifest) if isinstance(manifest, dict) else None
