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

    def describe(self) -> str:
        if self.status is Status.FAILED:
            return f"failed ({self.reason}): {self.error or 'no error message'}"
        return f"{self.status.value} in {self.seconds:.1f}s"


def _platform(entry: dict[str, object]) -> str | None:
    platform = entry.get("platform")
    if not isinstance(platform, dict):
        return None
    parts = [platform.get("os"), platform.get("architecture"), platform.get("variant")]
    text = "/".join(str(p) for p in parts if p)
    # Attestation manifests (buildx provenance) are listed as unknown/unknown.
    return None if not text or "unknown" in text else text


def platforms_of(raw_manifest: str) -> tuple[str, ...] | None:
    """The platforms an image index lists, or None when the manifest is a single image."""
    manifest = json.loads(raw_manifest)
    entries = manifest.get("manifests")
    if not isinstance(entries, list):
        return None
    return tuple(sorted({p for e in entries if isinstance(e, dict) and (p := _platform(e))}))
