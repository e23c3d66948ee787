"""How companions are named and counted: cosign's tags, the referrers tag schema, the words the
report and the plan use for them. Pure (the report needs them without the HTTP client)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from syncer.registry.manifest import Manifest

SUFFIXES = {".sig": "signature", ".att": "attestation", ".sbom": "SBOM"}
REFERRERS = "referrers index"
REFERRER = "referrer"


@dataclass(frozen=True)
class Companion:
    kind: str
    tag: str | None  # the tag at the source and the destination (None: by digest only)
    digest: str | None = None  # known up front for referrers found through the API


def subject_tag(digest: str) -> str:
    """`sha256:abc` -> `sha256-abc`: cosign's and the referrers tag schema's naming."""
    return digest.replace(":", "-", 1)


def in_tags(tags: Iterable[str], subjects: Iterable[str]) -> list[Companion]:
    """The companion tags of `subjects` (manifest digests) among a repository's tags."""
    wanted = {subject_tag(d) for d in subjects}
    found = []
    for tag in tags:
        base, dot, rest = tag.partition(".")
        if base not in wanted:
            continue
        if not dot:
            found.append(Companion(REFERRERS, tag))
        elif f".{rest}" in SUFFIXES:
            found.append(Companion(SUFFIXES[f".{rest}"], tag))
    return sorted(found, key=lambda c: c.tag or "")


def subjects_of(manifest: Manifest | None) -> list[str]:
    """The index digest and every manifest it lists (a platform can be signed on its own)."""
    if manifest is None:
        return []
    entries = manifest.body.get("manifests")
    listed = [e["digest"] for e in entries if isinstance(e, dict) and isinstance(e.get("digest"), str)] if isinstance(entries, list) else []  # fmt: skip
    return [manifest.digest, *listed]


def summary(kinds: Iterable[str]) -> str:
    """`signature, attestation, attestation` -> `signed, 2 attestations`."""
    counts = Counter(kinds)
    parts = ["signed"] if counts.pop("signature", 0) else []
    if counts.pop("SBOM", 0):
        parts.append("SBOM")
    for kind in ("attestation", REFERRER):
        n = counts.pop(kind, 0)
        if n:
            parts.append(f"{n} {kind}{'s' if n > 1 else ''}")
    counts.pop(REFERRERS, None)
    return ", ".join(parts)
