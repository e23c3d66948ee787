"""Small OCI artifacts (cosign signatures and attestations, SBOMs, referrers) copied by the
registry client itself, byte for byte.

An artifact is one manifest, a config and a layer or two of a few kilobytes. A skopeo process
for each costs its start-up and a dozen round trips one after the other; here the blobs
the destination lacks are read and written together, each checked against its digest, then
the manifest is written with the source's own bytes (so its digest is the source's). Anything
else (an index, a blob over LIMIT, an upload the destination does not take) is left to skopeo:
`copy_small` raises NotSmall and the caller runs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from syncer.imagelist.reference import Reference

if TYPE_CHECKING:
    from syncer.containers.pull_sources import Endpoint
    from syncer.registry.client import RegistryClient

LIMIT = 4 * 1024 * 1024  # bytes a blob; a larger one (an SBOM of a big image) goes to skopeo
_SINGLE = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)


class NotSmall(Exception):
    """Not an artifact this module copies: skopeo does."""


def _blobs(body: dict[str, Any]) -> list[tuple[str, int]]:
    """(digest, size) of the config and the layers; NotSmall when one is not a plain, small,
    sha256 blob."""
    found = []
    for descriptor in [body.get("config"), *(body.get("layers") or [])]:
        if not isinstance(descriptor, dict):
            raise NotSmall
        digest, size = descriptor.get("digest"), descriptor.get("size")
        if not isinstance(digest, str) or not digest.startswith("sha256:"):
            raise NotSmall
        if not isinstance(size, int) or size > LIMIT or descriptor.get("urls"):
            raise NotSmall
        found.append((digest, size))
    return found


def copy_small(
    client: RegistryClient, source: Reference, destination: Reference, wanted: str | None
) -> str | None:
    """Copy the artifact at `source` to `destination`: None when done, a problem when it
    failed; NotSmall when skopeo should copy it instead."""
    found = client.serving(source)
    target = client.destination_endpoint(destination)
    if found is None or target is None:
        raise NotSmall
    endpoint, digest = found
    asked = endpoint.reference  # as rewritten for this endpoint (registries.conf)
    manifest = client.manifest_at(endpoint, asked.digest or asked.tag or digest)
    media_type = manifest.body.get("mediaType") if manifest else None
    if manifest is None or media_type not in _SINGLE or manifest.digest != (wanted or digest):
        raise NotSmall  # unreadable, an index, or changed between the HEAD and the GET
    blobs = [d for d, _ in _blobs(manifest.body)]
    # Each blob once a repository and run: the artifacts of one repository share their
    # config (`{}`), and two uploads of one blob into one repository at once race in
    # distribution's storage (the manifest then refers to a blob it cannot find).
    stored = client.at_once(
        *(
            lambda d=d: client.placed.get(
                (target.host, target.path, d), lambda: _place(client, endpoint, target, d)
            )
            for d in blobs
        )
    )
    if not all(stored):
        raise NotSmall  # unreadable here (or not matching its digest): skopeo says why
    reference = destination.tag or destination.digest or manifest.digest
    if not client.put_manifest(target, reference, manifest.raw, str(media_type)):
        return "the destination refused its manifest"
    return None


def _place(client: RegistryClient, source: Endpoint, target: Endpoint, digest: str) -> bool | None:
    """The blob in the target repository: there already, or read and uploaded; None when it
    could not be (asked again by the next artifact that needs it)."""
    if client.blob_exists(target, digest):
        return True
    data = client.blob(source, digest)
    if data is None or not client.upload_blob(target, digest, data):
        return None
    return True
