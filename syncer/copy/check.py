"""Know before copying: the digests at the destination and at the source, with HEAD requests
(which cost no pull quota at Docker Hub), and the platforms of what is already in place.

An image is in place when the destination holds what the source has now: the source's own
digest, or, for a platform subset, the index syncer wrote the last time it saw the source
with this digest (recorded in the state).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from syncer.heartbeat import Heartbeat, quiet
from syncer.imagelist.parse import Mapping
from syncer.imagelist.reference import Reference
from syncer.record.image import Content, Image
from syncer.registry.client import RegistryClient
from syncer.registry.manifest import content_of, platform_name, platforms_in


class Check(NamedTuple):
    destination: str | None  # the digest the destination holds (None: nothing, or cannot tell)
    source: str | None  # the source's digest, where it was asked
    asked_source: bool = True  # False: pinned or immutable, the source was not asked
    subset: Image | None = None  # the recorded subset the destination holds for this source

    @property
    def expected(self) -> str | None:
        """What the destination holds when the image is in place."""
        return self.subset.digest if self.subset is not None else self.source

    @property
    def in_place(self) -> bool:
        return self.destination is not None and self.destination == self.expected


class Held(NamedTuple):
    """What a destination holds at a reference."""

    digest: str | None
    platforms: tuple[str, ...] = ()
    content: Content | None = None  # None: an image


def destination_details(client: RegistryClient, ref: Reference) -> Held:
    """Index digest, platforms and kind of what is at `ref` now, read from the destination."""
    manifest = client.manifest(ref)
    if manifest is None:
        return Held(None)
    content = content_of(manifest.body)
    platforms = platforms_in(manifest.body)
    if platforms is None and content is None:  # a single image: its platform is in its config
        config = manifest.body.get("config")
        digest = config.get("digest") if isinstance(config, dict) else None
        name = platform_name(client.blob_json(ref, digest) if digest else None)
        platforms = (name,) if name else ()
    return Held(manifest.digest, platforms or (), content)


def recorded_subset(
    known: Image | None, source_digest: str | None, wanted: tuple[str, ...] | None
) -> Image | None:
    """The state's entry when it records a subset of this very source digest with the
    platforms `wanted` asks for now; else None (the image is copied again)."""
    if known is None or known.source_digest is None or wanted is None:
        return None
    if known.source_digest != source_digest or known.digest is None:
        return None
    offered = {*known.platforms, *known.left_out}
    return known if set(known.platforms) == offered & set(wanted) else None


@dataclass(frozen=True)
class Checker:
    client: RegistryClient
    immutable_tags: re.Pattern[str] | None = None
    # Asked while the image is checked (its repository's tag list, for its companions).
    prefetch: Callable[[Mapping], list[Callable[[], object]]] = lambda _: []
    # The state: what is known of each image (a skip need not ask for its platforms again).
    state: dict[str, Image] = field(default_factory=dict)
    heartbeat: Heartbeat = field(default_factory=quiet)
    default_platforms: tuple[str, ...] | None = None  # `platforms`: None is all of them

    def wanted(self, mapping: Mapping) -> tuple[str, ...] | None:
        """The platforms to mirror (the line's, else the configuration's); None: all."""
        return mapping.entry.platforms or self.default_platforms

    def check(self, mapping: Mapping) -> Check:
        """The digests at the destination and (when it must be asked) at the source.

        The source is not asked when the reference pins a digest, or when its tag is one the
        user declared immutable (`immutable_tags`) and the destination has it.
        """
        source = mapping.source
        pinned = source.digest is not None or bool(
            self.immutable_tags and source.tag and self.immutable_tags.search(source.tag)
        )
        known = self.state.get(mapping.key)
        if pinned:
            at_destination = self.client.destination_digest(mapping.destination)
            if at_destination is None:
                return Check(None, None)
            digest = source.digest or (known.source_digest if known else None) or at_destination
            subset = recorded_subset(known, digest, self.wanted(mapping))
            return Check(at_destination, digest, asked_source=False, subset=subset)
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
        subset = recorded_subset(known, at_source, self.wanted(mapping))
        return Check(at_destination, at_source, subset=subset)

    def current_digest(self, mapping: Mapping) -> str | None:
        """The destination's digest when it already holds the source's manifest, else None."""
        check = self.check(mapping)
        return check.destination if check.in_place else None

    def checked(self, mapping: Mapping, deadline: float) -> tuple[Check, Held]:
        """The check within `deadline`, and what the destination holds for an image in place
        (known from the state, else read from the destination: never from the source)."""
        hosts = f"{mapping.destination.domain} and {mapping.source.domain}"
        with (
            self.client.deadline(deadline),
            self.heartbeat.waiting(str(mapping.source), f"asking {hosts} for the manifest digest"),
        ):
            check = self.check(mapping)
            if not check.in_place or check.destination is None:
                return check, Held(None)
            known = self.state.get(mapping.key)
            if known and known.digest == check.destination and (known.platforms or known.content):
                return check, Held(known.digest, known.platforms, known.content)
            return check, destination_details(self.client, mapping.destination)
