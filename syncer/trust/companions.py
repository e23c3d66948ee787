"""Signatures, attestations, SBOMs and OCI referrers travel with each image, byte-identical.

Found at the source with one tag list per repository (cosign's `sha256-<hex>.sig|.att|.sbom`
tags and the referrers tag schema `sha256-<hex>`) and, where the source offers it, the OCI 1.1
referrers API; copied to the same tags (referrers found by the API alone: by digest), by the
registry client when small (artifacts.py), else with `skopeo copy --all --preserve-digests`. A companion already at the destination with the source's
digest is not copied again: a no-op re-sync costs HEAD requests and tag lists, no manifest GET.
"""

from __future__ import annotations

from collections.abc import Callable
from threading import Semaphore

from syncer.containers.pull_sources import Endpoint
from syncer.copy.skopeo import SkopeoOptions, classify_failure, run_copy
from syncer.imagelist.parse import Mapping
from syncer.imagelist.reference import Reference
from syncer.registry.artifacts import NotSmall, copy_small
from syncer.registry.client import RegistryClient
from syncer.registry.once import OncePerKey
from syncer.trust.naming import REFERRER, REFERRERS, Companion, in_tags, subject_tag


class Companions:
    """Finds and copies the companions of images, with one tag list per repository a run."""

    def __init__(self, client: RegistryClient, options: SkopeoOptions, copy_slots: Semaphore):
        self.client, self.options = client, options
        # The images' copy slots: a companion copied by skopeo counts against `concurrency`.
        self.copy_slots = copy_slots
        self._api: OncePerKey[str, bool] = OncePerKey()  # by host: offers the referrers API?

    def tags(self, endpoint: Endpoint) -> list[str] | None:
        return self.client.tag_lists.of(endpoint)[0]

    def prefetch(self, mapping: Mapping) -> None:
        """The tag list where skopeo will most likely read the image (its first endpoint),
        asked while the image itself is checked."""
        endpoints = self.client.source_endpoints(mapping.source)
        if endpoints:
            self.client.tag_lists.of(endpoints[0])

    def _offers_api(self, endpoint: Endpoint, subject: str) -> bool:
        """Whether the registry answers the OCI 1.1 referrers API, asked once a run: the first
        image asks (with its own digest), the others wait for that answer."""
        offers = self._api.get(
            endpoint.host, lambda: self._referrers(endpoint, subject) is not None
        )
        return bool(offers)

    def _referrers(self, endpoint: Endpoint, subject: str) -> list[Companion] | None:
        """The referrers of `subject` through the API, or None when it does not answer 200."""
        response = self.client.get(endpoint, f"referrers/{subject}")
        if response is None or response.status_code != 200:
            return None
        try:
            listed = response.json().get("manifests") or []
        except (ValueError, AttributeError):
            return None
        return [Companion(REFERRER, None, str(d["digest"])) for d in listed if isinstance(d, dict) and "digest" in d]  # fmt: skip

    def _by_api(self, endpoint: Endpoint, subjects: list[str]) -> list[Companion] | None:
        """Referrers of every subject through the API; None when one cannot be read (a
        registry that offers the API answers every subject, an empty list when it has none)."""
        found: list[Companion] = []
        for subject in subjects:
            listed = self._referrers(endpoint, subject)
            if listed is None:
                return None
            found += listed
        return found

    def find(
        self, mapping: Mapping, subjects: Callable[[], list[str]], *, source_index: bool = True
    ) -> list[Companion] | None:
        """The companions of the image's manifests (`subjects`, asked only when the source
        has any companion tag or the referrers API) where skopeo reads it; None: cannot tell.
        Without `source_index` (a platform subset) the source index's own are left out."""
        found = self.client.serving(mapping.source)
        if found is None:
            return None
        endpoint = found[0]
        tags = self.tags(endpoint)
        if tags is None:
            return None
        marked = {t.partition(".")[0] for t in tags if t.startswith("sha256-")}
        api = self._offers_api(endpoint, found[1])
        if not api and marked <= {subject_tag(found[1])}:
            # Without the referrers API only tags can name companions, and none names
            # anything but the index: its platforms' manifests need not be read.
            return in_tags(tags, [found[1]]) if source_index else []
        digests = [d for d in subjects() if source_index or d != found[1]]
        referrers = self._by_api(endpoint, digests) if api else []
        return None if referrers is None else in_tags(tags, digests) + referrers

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
