"""Know before copying: the digests at the destination and at the source, with HEAD requests
(which cost no pull quota at Docker Hub), and the platforms of what is already in place."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from syncer.heartbeat import Heartbeat, quiet
from syncer.imagelist.parse import Mapping
from syncer.imagelist.reference import Reference
from syncer.registry.client import RegistryClient
from syncer.registry.manifest import platform_name, platforms_in


class Check(NamedTuple):
    destination: str | None  # the digest the destination holds (None: nothing, or cannot tell)
    source: str | None  # the source's digest, where it was asked
    asked_source: bool = True  # False: pinned or immutable, the source was not asked

    @property
    def in_place(self) -> bool:
        return self.destination is not None and self.destination == self.source


def destination_details(
    client: RegistryClient, ref: Reference
) -> tuple[str | None, tuple[str, ...]]:
    """Index digest and platforms of what is at `ref` now, read from the destination."""
    manifest = client.manifest(ref)
    if manifest is None:
        return None, ()
    platforms = platforms_in(manifest.body)
    if platforms is None:  # a single image: its platform is in its config
        config = manifest.body.get("config")
        digest = config.get("digest") if isinstance(config, dict) else None
        name = platform_name(client.blob_json(ref, digest) if digest else None)
        platforms = (name,) if name else ()
    return manifest.digest, platforms


@dataclass(frozen=True)
class Checker:
    client: RegistryClient
    immutable_tags: re.Pattern[str] | None = None
    # Asked while the image is checked (its repository's tag list, for its companions).
    prefetch: Callable[[Mapping], list[Callable[[], object]]] = lambda _: []
    # Platforms already known by index digest (from the state): a skip need not ask again.
    known_platforms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    heartbeat: Heartbeat = field(default_factory=quiet)

    def check(self, mapping: Mapping) -> Check:
        """The digests at the destination and (when it must be asked) at the source.

        The source is not asked when the reference pins a digest, or when its tag is one the
        user declared immutable (`immutable_tags`) and the destination has it.
        """
        source = mapping.source
        pinned = source.digest is not None or bool(
            self.immutable_tags and source.tag and self.immutable_tags.search(source.tag)
        )
        if pinned:
            at_destination = self.client.destination_digest(mapping.destination)
            if at_destination is None:
                return Check(None, None)
            return Check(at_destination, source.digest or at_destination, asked_source=False)
        # Both sides at once (and the source's tag list, for its companions): one round trip
        # where there were three. The source's HEAD is asked even when the destination turns
        # out empty; skopeo reads it then anyway, and HEADs cost no pull quota.
        at_destination, at_source, *_ = self.client.at_once(
            lambda: self.client.destination_digest(mapping.destination),
            lambda: self.client.source_digest(source),
            *self.prefetch(mapping),
        )
        if at_destination is None:
            return Check(None, None)
        return Check(at_destination, at_source)

    def current_digest(self, mapping: Mapping) -> str | None:
        """The destination's digest when it already holds the source's manifest, else None."""
        check = self.check(mapping)
        return check.destination if check.in_place else None

    def checked(self, mapping: Mapping, deadline: float) -> tuple[Check, tuple[str, ...]]:
        """The check within `deadline`, and the platforms of an image in place (from the
        state, else from the destination: never from the source)."""
        hosts = f"{mapping.destination.domain} and {mapping.source.domain}"
        with (
            self.client.deadline(deadline),
            self.heartbeat.waiting(str(mapping.source), f"asking {hosts} for the manifest digest"),
        ):
            check = self.check(mapping)
            if not check.in_place or check.destination is None:
                return check, ()
            known = self.known_platforms.get(check.destination)
            return check, known or destination_details(self.client, mapping.destination)[1]
