"""One image's way into the mirror: check, then (when needed) verify, back up and copy, then
its companions. Every image ends as copied, skipped (already identical at the destination) or
failed; one failure never stops the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from threading import Semaphore

from syncer import process
from syncer.copy.check import Check, Checker
from syncer.copy.copier import SkopeoCopier, failed
from syncer.copy.subset import copy_subset
from syncer.heartbeat import Heartbeat, quiet
from syncer.imagelist.parse import Entry, Mapping
from syncer.imagelist.reference import Reference
from syncer.record.image import Image, Reason, Status
from syncer.registry.once import KeyedLocks
from syncer.trust.drift import DriftMode, drifted
from syncer.trust.guard import Trust

Log = Callable[[str], None]


@dataclass(frozen=True)
class ImageSync:
    """Check, copy and companions of one image at a time, as the run's settings say."""

    checker: Checker
    copier: SkopeoCopier
    trust: Trust  # companions, verification, drift
    timeout: float
    heartbeat: Heartbeat = field(default_factory=quiet)
    log: Log = field(default=lambda _: None)
    copy_slots: Semaphore = field(default_factory=lambda: Semaphore(8))  # skopeo copies at once
    quota_reserve: int = 0  # pulls a copy must leave at a registry that counts them
    same_content: KeyedLocks[tuple[str, str]] = field(default_factory=KeyedLocks)

    def sync(self, mapping: Mapping) -> Image:
        """Check, then copy if needed, with what travels with it; `timeout` bounds the time
        spent on the image (the wait for a free copy slot aside)."""
        if process.stopping():
            return failed(mapping, Reason.INTERRUPTED, "not started: syncer was stopped")
        started = time.monotonic()
        check, held = self.checker.checked(mapping, started + self.timeout)
        spent = time.monotonic() - started
        if check.in_place:
            result = _skipped(mapping, spent, check)._replace(
                platforms=held.platforms, content=held.content
            )
            # Pinned and immutable images promise no request at the source: their companions
            # came with the copy.
            return self._with_companions(mapping, result) if check.asked_source else result
        if spent >= self.timeout:
            error = self.copier.timed_out("asking registries")
            return failed(mapping, Reason.TIMEOUT, error, spent)
        drift = self._drift(mapping, check)
        if drift and self.trust.on_drift is DriftMode.KEEP:
            result = _skipped(mapping, spent, check, drift=f"{drift} (kept)")
        else:
            result = self._copy_in_slot(mapping, check, drift, self.timeout - spent)
        # Out of the copy slot: the next image's skopeo starts while these small requests run
        # (a companion that needs skopeo takes a slot of its own).
        return self._with_companions(mapping, result)

    def _copy_in_slot(
        self, mapping: Mapping, check: Check, drift: str | None, budget: float
    ) -> Image:
        with self.copy_slots:
            if process.stopping():  # stopped while this image waited for a slot
                return failed(mapping, Reason.INTERRUPTED, "not started: syncer was stopped")
            host = self._source_host(mapping)
            ticket = self.copier.client.quota.reserve(
                host, self._pull_cost(mapping), self.quota_reserve
            )
            if isinstance(ticket, str):
                return _deferred(mapping, ticket)
            # Two tags of one content into one repository, copied at once, race in
            # distribution's storage: the second waits and then finds everything there.
            same = (mapping.destination.name, check.source or str(mapping.source))
            try:
                with self.same_content(same):
                    result = self._copy_guarded(mapping, check, drift, budget)
            finally:
                self.copier.client.quota.release(ticket)
        if result.reason == Reason.RATE_LIMITED:  # it kept refusing: the rest of it waits
            self.copier.client.quota.out_of_pulls(host)
        return result

    def _source_host(self, mapping: Mapping) -> str:
        """Where skopeo reads the image: the host whose pull headers count."""
        found = self.copier.client.serving(mapping.source)
        return found[0].host if found else mapping.source.domain

    def _pull_cost(self, mapping: Mapping) -> int:
        """Manifest GETs a copy makes at the source, counted high: the index, each platform
        (as the state or platforms= knows them, else two), and a signature to verify."""
        wanted = self.checker.wanted(mapping)
        known = self.checker.state.get(mapping.key)
        offered = len(known.platforms) + len(known.left_out) if known else 0
        platforms = len(wanted) if wanted else offered or 2
        return 1 + platforms + (self.trust.rule_for(mapping.source) is not None)

    def _drift(self, mapping: Mapping, check: Check) -> str | None:
        """Upstream moved the tag: the destination still holds what syncer last wrote there,
        and the source (its own digest, for a subset too) now has something else."""
        known = self.checker.state.get(mapping.key)
        last = (known.source_digest or known.digest) if known else None
        written = known.digest if known else None
        if not drifted(last, check.destination, check.source, written):
            return None
        self.log(f"{mapping.source}: drift: upstream moved the tag from {last} to {check.source}")
        return f"{last} -> {check.source}"

    def _copy_guarded(
        self, mapping: Mapping, check: Check, drift: str | None, budget: float
    ) -> Image:
        """Verify (when a rule says so), keep a backup (on drift, when asked), copy."""
        rule = self.trust.rule_for(mapping.source)
        pinned, signer = mapping, None
        if rule is not None:
            digest, said = self.trust.verified_digest(mapping, rule)
            if digest is None:
                return failed(mapping, Reason.UNVERIFIED, said)
            signer = said  # who signed it, as the record names it
            # Read exactly what was verified, write it to the tag.
            source = Reference(mapping.source.domain, mapping.source.path, None, digest)
            entry = mapping.entry
            pinned = Mapping(
                Entry.of(entry.line, entry.text, source, entry.platforms, entry.rename),
                mapping.destination,
            )
        suffix = ""
        if drift and self.trust.on_drift is DriftMode.BACKUP and check.destination:
            tag, problem = self.copier.backup(mapping.destination, check.destination)
            if problem:
                return failed(mapping, Reason.OTHER, f"backup before drift: {problem}")
            suffix = f" (old kept as {tag})"
        wanted = self.checker.wanted(mapping)
        if wanted is None:
            result = self.copier.copy(pinned, budget)
        else:
            result = copy_subset(self.copier, pinned, wanted, budget)
        return result._replace(
            source=str(mapping.source),
            verified=signer if result.status is Status.COPIED else None,
            drift=f"{drift} (updated{suffix})" if drift else None,
        )

    def _with_companions(self, mapping: Mapping, result: Image) -> Image:
        if result.status in (Status.FAILED, Status.DEFERRED):
            return result
        with self.heartbeat.waiting(str(mapping.source), "mirroring its signatures and SBOMs"):
            # A subset's index is syncer's own: the source index's companions describe
            # another digest and stay upstream; its platforms' companions still apply.
            own_index = result.source_digest is not None
            kinds, problem = self.trust.mirror_companions(mapping, self.timeout, own_index)
        if problem:
            # A companion copy that a SIGTERM refused or stopped is an interruption, like the
            # image's own copy: the next run completes it.
            reason = Reason.INTERRUPTED if process.stopping() else Reason.COMPANIONS
            return result._replace(status=Status.FAILED, reason=reason, error=problem)
        return result._replace(companions=kinds)


def _deferred(mapping: Mapping, why: str) -> Image:
    return Image(
        str(mapping.source), str(mapping.destination), Status.DEFERRED,
        reason=Reason.QUOTA, error=why,
    )  # fmt: skip


def _skipped(mapping: Mapping, seconds: float, check: Check, drift: str | None = None) -> Image:
    subset = check.subset
    return Image(
        str(mapping.source), str(mapping.destination), Status.SKIPPED,
        digest=check.destination, drift=drift, seconds=seconds,
        source_digest=subset.source_digest if subset else None,
        left_out=subset.left_out if subset else (),
    )  # fmt: skip
