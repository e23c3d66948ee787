"""The run's trust settings, asked around each copy: which companions travel with an image,
which `verify` rule guards it, what to do on drift."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from syncer.imagelist.parse import Mapping
from syncer.imagelist.reference import Reference
from syncer.registry.client import RegistryClient
from syncer.trust.companions import Companions
from syncer.trust.drift import DriftMode
from syncer.trust.naming import subjects_of
from syncer.trust.verify import Rule


@dataclass
class Trust:
    client: RegistryClient
    companions: Companions | None = None  # None: `signatures: false`
    rules: list[Rule] = field(default_factory=list)
    on_drift: DriftMode = DriftMode.UPDATE

    def rule_for(self, source: Reference) -> Rule | None:
        return next((r for r in self.rules if r.matches(source)), None)

    def verified_digest(self, mapping: Mapping, rule: Rule) -> tuple[str | None, str]:
        """(the digest whose signature verified, who signed it) or (None, why not), where
        skopeo reads."""
        found = self.client.serving(mapping.source)
        if found is None:
            return None, "the source cannot be read to check its signature"
        endpoint, digest = found
        verdict = rule.check(self.client, endpoint, mapping.source, digest)
        return (digest, verdict.signer) if verdict.signer is not None else (None, verdict.why)

    def prefetch(self, mapping: Mapping) -> list[Callable[[], object]]:
        """Requests worth making while the image is checked: its repository's tag list."""
        companions = self.companions
        return [] if companions is None else [lambda: companions.prefetch(mapping)]

    def mirror_companions(
        self, mapping: Mapping, timeout: float, own_index: bool = False
    ) -> tuple[tuple[str, ...] | None, str | None]:
        """(kinds mirrored, None), or (None, a failure), or (None, None): cannot tell. With
        `own_index` (a platform subset) the source index's own companions are left out."""
        if self.companions is None:
            return None, None
        found = self.companions.find(
            mapping,
            lambda: subjects_of(self.client.manifest(mapping.destination)),
            source_index=not own_index,
        )
        if found is None:
            return None, None
        problem = self.companions.mirror(mapping, found, timeout)
        if problem:
            return None, problem
        return tuple(c.kind for c in found), None
