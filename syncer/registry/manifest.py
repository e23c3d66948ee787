"""Manifests as registries send them: the digest and body of one, the platforms an index lists."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from syncer.record.image import Content

HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
IMAGE_CONFIGS = frozenset(
    (
        "application/vnd.oci.image.config.v1+json",
        "application/vnd.docker.container.image.v1+json",
    )
)


@dataclass(frozen=True)
class Manifest:
    digest: str
    body: dict[str, Any]
    raw: bytes = b""


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


def content_of(manifest: dict[str, Any]) -> Content | None:
    """What a single manifest holds, from its config's media type (and OCI 1.1's
    `artifactType`): None for a container image (and for an index of them)."""
    if isinstance(manifest.get("manifests"), list):
        return None
    config = manifest.get("config")
    media_type = config.get("mediaType") if isinstance(config, dict) else None
    if media_type == HELM_CONFIG:
        return Content.CHART
    if manifest.get("artifactType") or (media_type and media_type not in IMAGE_CONFIGS):
        return Content.ARTIFACT
    return None
