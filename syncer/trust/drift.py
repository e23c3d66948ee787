"""What travels with an image and what guards it: companions, verification, drift.

`Trust` holds the run's settings; the copier asks it around each copy. Drift is upstream
moving a tag: the source's digest differs from the one syncer last copied there, which the
destination still holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from syncer.imagelist.parse import Mapping
from syncer.imagelist.reference import Reference
from syncer.registry.client import RegistryClient
from syncer.trust.companions import Companions, subjects_of
from syncer.trust.verify import Rule, verify

MAX_TAG = 128


def backup_tag(tag: str, old_digest: str) -> str:
    """`1.25` + `sha256:abcdef...` -> `1.25-abcdef012345` (within the 128 characters of a tag)."""
    suffix = "-" + old_digest.partition(":")[2][:12]
    return tag[: MAX_TAG - len(suffix)] + suffix


def drifted(last: str | None, at_destination: str | None, at_source: str | None) -> bool:
    """Upstream moved the tag: the destination still holds what syncer last copied, and the
    source now has something else."""
    return (
        last is not None
        and at_destination == last
        and at_source is not None
        and at_source != at_destination
    )


@dataclass
class Trust:
    client: RegistryClient
    companions: Companions | None = None  # None: `signatures: false`
    rules: list[Rule] = field(default_factory=list)
    on_drift: str = "update"
    last_digests: dict[str, str] = field(default_factory=dict)  # by source, from the state

    def rule_for(self, source: Reference) -> Rule | None:
        return next((r for r in self.rules if r.matches(source)), None)

    def verified_digest(self, mapping: Mapping, rule: Rule) -> tuple[str | None, str]:
        """(the digest whose signature verified, '') or (None, why not), where skopeo reads."""
        found = self.client.serving(mapping.source)
        if found is None:
            return None, "the source cannot be read to check its signature"
        endpoint, digest = found
        why = verify(self.client, endpoint, mapping.source, digest, rule)
        return (digest, "") if why is None else (None, why)

    def prefetch(self, mapping: Mapping) -> list[Callable[[], object]]:
        """Requests worth making while the image is checked: its repository's tag list."""
        companions = self.companions
        return [] if companions is None else [lambda: companions.prefetch(mapping)]

    def mirror_companions(
        self, mapping: Mapping, timeout: float
    ) -> tuple[tuple[str, ...] | None, str | None]:
        """(kinds mirrored, None), or (None, a failure), or (None, None): cannot tell."""
        if self.companions is None:
            return None, None
        found = self.companions.find(
            mapping, lambda: subjects_of(self.client.manifest(mapping.destination))
        )
        if found is None:
            return None, None
        problem = self.companions.mirror(mapping, found, timeout)
        if problem:
            return None, problem
        return tuple(c.kind for c in found), None
