"""A platform subset (`platforms=`): the mirror holds an index listing only those platforms.

skopeo 1.9.3 copies all platforms, the system's, or the index alone; it cannot copy a chosen
few. So each chosen platform's manifest is copied by digest with skopeo (its manifest and
blobs byte-identical to the source's: a pull by a platform digest works), then syncer writes
the index itself: the source's index with only those entries. That index is new, so its
digest differs from the source's; the state keeps both.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any, NamedTuple

from syncer.copy.check import destination_details
from syncer.copy.copier import SkopeoCopier, failed
from syncer.imagelist.parse import Mapping
from syncer.imagelist.reference import Reference
from syncer.record.image import Image, Reason, Status
from syncer.registry.manifest import Manifest, platform_name

OCI_INDEX = "application/vnd.oci.image.index.v1+json"


class Subset(NamedTuple):
    """The index the mirror gets: its bytes, the platforms it lists and the ones left out."""

    raw: bytes
    media_type: str
    kept: tuple[tuple[str, str], ...]  # (platform, manifest digest)
    left_out: tuple[str, ...]

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.raw).hexdigest()

    @property
    def platforms(self) -> tuple[str, ...]:
        return tuple(sorted({platform for platform, _ in self.kept}))


def subset_of(index: dict[str, Any], wanted: tuple[str, ...]) -> Subset:
    """The source index with only the entries of `wanted` platforms (pure). Entries without a
    platform (buildx's attestation manifests) describe the whole set and are left out."""
    kept, entries, left = [], [], set()
    for entry in index.get("manifests") or []:
        name = platform_name(entry.get("platform")) if isinstance(entry, dict) else None
        if name is None:
            continue
        if name in wanted and isinstance(entry.get("digest"), str):
            kept.append((name, str(entry["digest"])))
            entries.append(entry)
        else:
            left.add(name)
    # Written the same way from the same source index: the mirror's digest is stable.
    raw = json.dumps({**index, "manifests": entries}, separators=(",", ":")).encode()
    media_type = str(index.get("mediaType") or OCI_INDEX)
    return Subset(raw, media_type, tuple(kept), tuple(sorted(left - {n for n, _ in kept})))


def copy_subset(
    copier: SkopeoCopier, mapping: Mapping, wanted: tuple[str, ...], budget: float
) -> Image:
    """Copy the `wanted` platforms of the source's index, then write the subset index."""
    deadline = time.monotonic() + budget
    client = copier.client
    found = client.serving(mapping.source)
    index = client.manifest_at(found[0], found[1]) if found else None
    if found is None or index is None:
        return failed(mapping, Reason.NOT_FOUND, "the source's manifest cannot be read")
    if not isinstance(index.body.get("manifests"), list):
        return _single(copier, mapping, wanted, index, found[1], budget)
    subset = subset_of(index.body, wanted)
    if not subset.kept:
        offered = ", ".join(subset.left_out) or "none"
        error = f"platforms= names none of the source's platforms ({offered})"
        return failed(mapping, Reason.PLATFORMS, error)
    seconds = 0.0
    source, destination = mapping.source, mapping.destination
    for _, digest in subset.kept:
        done = copier.run_skopeo(
            mapping,
            Reference(source.domain, source.path, None, digest),
            Reference(destination.domain, destination.path, None, digest),
            deadline,
        )
        if isinstance(done, Image):
            return done
        seconds += done[1]
    return _write_index(copier, mapping, subset, found[1], seconds)


def _write_index(
    copier: SkopeoCopier, mapping: Mapping, subset: Subset, source_digest: str, seconds: float
) -> Image:
    client, destination = copier.client, mapping.destination
    target = client.destination_endpoint(destination)
    reference = destination.tag or subset.digest
    if target is None or not client.put_manifest(target, reference, subset.raw, subset.media_type):
        return failed(mapping, Reason.OTHER, "the destination refused the subset index", seconds)
    held = destination_details(client, destination)
    if held.digest is not None and held.digest != subset.digest:
        error = f"the destination holds {held.digest}, syncer wrote {subset.digest}"
        return failed(mapping, Reason.DIGEST, error, seconds)
    return Image(
        str(mapping.source), str(destination), Status.COPIED,
        digest=subset.digest, platforms=subset.platforms, seconds=seconds,
        source_digest=source_digest, left_out=subset.left_out,
    )  # fmt: skip


def _single(
    copier: SkopeoCopier,
    mapping: Mapping,
    wanted: tuple[str, ...],
    manifest: Manifest,
    digest: str,
    budget: float,
) -> Image:
    """A single-platform source: copied whole when its platform is wanted, else refused."""
    config = manifest.body.get("config")
    config_digest = config.get("digest") if isinstance(config, dict) else None
    found = copier.client.serving(mapping.source)
    data = copier.client.blob(found[0], config_digest) if found and config_digest else None
    try:
        platform = platform_name(json.loads(data)) if data else None
    except ValueError:
        platform = None
    if platform is None or platform in wanted:  # an artifact, or the platform asked for
        return copier.copy(mapping, budget)
    error = f"the source is a single-platform image ({platform}), not one of {', '.join(wanted)}"
    return failed(mapping, Reason.PLATFORMS, error)
