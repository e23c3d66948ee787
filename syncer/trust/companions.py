"""Signatures, attestations, SBOMs and OCI referrers travel with each image, byte-identical.

Found at the source with one tag list per repository (cosign's `sha256-<hex>.sig|.att|.sbom`
tags and the referrers tag schema `sha256-<hex>`) and, where the source offers it, the OCI 1.1
referrers API; copied to the same tags (referrers found by the API alone: by digest), by the
registry client when small (artifacts.py), else with `skopeo copy --all --preserve-digests`. A companion already at the destination with the source's
digest is not copied again: a no-op re-sync costs HEAD requests and tag lists, no manifest GET.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from threading import Semaphore
from typing import TYPE_CHECKING

from syncer.copy.skopeo import SkopeoOptions, classify_failure, run_copy
from syncer.imagelist.parse import Mapping
from syncer.imagelist.reference import Reference
from syncer.registry.artifacts import NotSmall, copy_small
from syncer.registry.taglist import TagLists

if TYPE_CHECKING:  # the report uses the pure helpers here without the HTTP client
    from syncer.containers.pull_sources import Endpoint
    from syncer.registry.client import Manifest, RegistryClient
    from syncer.registry.http import Response

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


class Companions:
    """Finds and copies the companions of images, with one tag list per repository a run."""

    def __init__(self, client: RegistryClient, options: SkopeoOptions, copy_slots: Semaphore):
        self.client, self.options = client, options
        # The images' copy slots: a companion copied by skopeo counts against `concurrency`.
        self.copy_slots = copy_slots
        self.tag_lists = TagLists(client)
        self._api: dict[str, bool] = {}  # by registry host: does it offer the referrers API?
        self._probe_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def tags(self, endpoint: Endpoint) -> list[str] | None:
        return self.tag_lists.of(endpoint)[0]

    def prefetch(self, mapping: Mapping) -> None:
        """The tag list where skopeo will most likely read the image (its first endpoint),
        asked while the image itself is checked."""
        endpoints = self.client.source_endpoints(mapping.source)
        if endpoints:
            self.tag_lists.of(endpoints[0])

    def _by_api(self, endpoint: Endpoint, subjects: list[str]) -> list[Companion]:
        """Referrers through the OCI 1.1 API; a registry without it is asked once a run."""
        key = endpoint.host
        found: list[Companion] = []
        for subject in subjects:
            if key not in self._api:  # the first to ask a registry asks alone; the rest wait
                with self._probe_lock(key):
                    response = self._ask(endpoint, subject) if self._api.get(key, True) else None
            else:
                response = self._ask(endpoint, subject) if self._api[key] else None
            if response is None:
                if self._api.get(key) is False:
                    break
                continue
            try:
                listed = response.json().get("manifests") or []
            except (ValueError, AttributeError):
                continue
            found += [Companion(REFERRER, None, str(d["digest"])) for d in listed if isinstance(d, dict) and "digest" in d]  # fmt: skip
        return found

    def _offers_api(self, endpoint: Endpoint, subject: str) -> bool:
        """Whether the registry answers the referrers API, asked once a run: the first image
        asks (with its own digest), the others wait for that answer."""
        if endpoint.host not in self._api:
            with self._probe_lock(endpoint.host):
                if endpoint.host not in self._api:
                    self._ask(endpoint, subject)
        return self._api.get(endpoint.host, False)

    def _probe_lock(self, host: str) -> threading.Lock:
        with self._lock:
            return self._probe_locks.setdefault(host, threading.Lock())

    def _ask(self, endpoint: Endpoint, subject: str) -> Response | None:
        """The referrers of `subject`, or None (and the registry remembered as without the
        API when it answers anything but 200)."""
        response = self.client.get(endpoint, f"referrers/{subject}")
        supported = response is not None and response.status_code == 200
        self._api[endpoint.host] = supported
        return response if supported else None

    def find(self, mapping: Mapping, subjects: Callable[[], list[str]]) -> list[Companion] | None:
        """The companions of the image's manifests (`subjects`, asked only when the source
        has any companion tag or the referrers API) where skopeo reads it; None: cannot tell."""
        found = self.client.serving(mapping.source)
        if found is None:
            return None
        endpoint = found[0]
        tags = self.tags(endpoint)
        if tags is None:
            return None
        marked = {t.partition(".")[0] for t in tags if t.startswith("sha256-")}
        if not self._offers_api(endpoint, found[1]) and marked <= {subject_tag(found[1])}:
            # Without the referrers API only tags can name companions, and none names
            # anything but the index: its platforms' manifests need not be read.
            return in_tags(tags, [found[1]])
        digests = subjects()
        return in_tags(tags, digests) + self._by_api(endpoint, digests)

    def mirror(self, mapping: Mapping, companions: list[Companion], timeout: float) -> str | None:
        """Copy the companions not yet at the destination; the first failure, or None."""
        # Every companion's two digests asked at once: a signed image's no-op re-sync is one
        # round trip here, not one a companion and side.
        sides = [(_at(mapping.source, c), _at(mapping.destination, c)) for c in companions]
        asked = self.client.at_once(
            *(
                call
                for companion, (source, destination) in zip(companions, sides, strict=True)
                for call in (
                    lambda c=companion, s=source: c.digest or self.client.source_digest(s),
                    lambda d=destination: self.client.destination_digest(d),
                )
            )
        )
        for n, companion in enumerate(companions):
            source, destination = sides[n]
            wanted, present = asked[2 * n], asked[2 * n + 1]
            if wanted is not None and present == wanted:
                continue
            if companion.kind == REFERRERS:
                problem = self._copy_index(source, destination, wanted, timeout)
            else:
                problem = self._copy(source, destination, wanted, timeout)
            if problem:
                return f"{companion.kind} {companion.tag or companion.digest}: {problem}"
        return None

    def _copy_index(
        self, source: Reference, destination: Reference, wanted: str | None, timeout: float
    ) -> str | None:
        """A referrers tag-schema index: its referrers by digest, then the index byte for byte.

        skopeo 1.9.3 drops the `artifactType` of index entries, which would change the digest.
        """
        found = self.client.serving(source)
        target = self.client.destination_endpoint(destination)
        index = self.client.manifest_at(found[0], source.tag or "") if found else None
        if index is None or target is None:
            return "the referrers index cannot be read, or its destination cannot be written"
        for entry in index.body.get("manifests") or []:
            digest = entry.get("digest") if isinstance(entry, dict) else None
            if not isinstance(digest, str):
                continue
            child = Reference(destination.domain, destination.path, None, digest)
            if self.client.destination_digest(child) == digest:
                continue
            problem = self._copy(_by_digest(source, digest), child, digest, timeout)
            if problem:
                return f"referrer {digest}: {problem}"
        media_type = str(index.body.get("mediaType") or "application/vnd.oci.image.index.v1+json")
        if not self.client.put_manifest(target, destination.tag or "", index.raw, media_type):
            return "the destination refused the referrers index"
        return None

    def _copy(
        self, source: Reference, destination: Reference, wanted: str | None, timeout: float
    ) -> str | None:
        try:
            return copy_small(self.client, source, destination, wanted)
        except NotSmall:
            pass  # skopeo copies it, and says why when it cannot
        with self.copy_slots:
            done, copied = run_copy(source, destination, self.options, timeout)
        if not done.ok:
            reason, error = classify_failure(done.stderr, timed_out=done.timed_out)
            return f"{reason.value}: {error}"
        if wanted is not None and copied != wanted:
            return f"copied as {copied}, the source has {wanted}"
        return None


def _by_digest(ref: Reference, digest: str) -> Reference:
    return Reference(ref.domain, ref.path, None, digest)


def _at(ref: Reference, companion: Companion) -> Reference:
    """The companion's reference in `ref`'s repository: its tag, else its digest."""
    if companion.tag is not None:
        return Reference(ref.domain, ref.path, companion.tag)
    return Reference(ref.domain, ref.path, None, companion.digest)
