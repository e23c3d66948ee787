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
from syncer.heartbeat import Heartbeat, quiet
from syncer.imagelist.parse import Entry, Mapping
from syncer.imagelist.reference import Reference
from syncer.record.image import Image, Reason, Status
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

    def sync(self, mapping: Mapping) -> Image:
        """Check, then copy if needed, with what travels with it; `timeout` bounds the time
        spent on the image (the wait for a free copy slot aside)."""
        if process.stopping():
            return failed(mapping, Reason.INTERRUPTED, "not started: syncer was stopped")
        started = time.monotonic()
        check, platforms = self.checker.checked(mapping, started + self.timeout)
        spent = time.monotonic() - started
        if check.in_place:
            result = _skipped(mapping, spent, check, platforms=platforms)
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
            return self._copy_guarded(mapping, check, drift, budget)

    def _drift(self, mapping: Mapping, check: Check) -> str | None:
        last = self.trust.last_digests.get(str(mapping.source))
        if not drifted(last, check.destination, check.source):
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
            pinned = Mapping(Entry.of(entry.line, entry.text, source), mapping.destination)
        suffix = ""
        if drift and self.trust.on_drift is DriftMode.BACKUP and check.destination:
            tag, problem = self.copier.backup(mapping.destination, check.destination)
            if problem:
                return failed(mapping, Reason.OTHER, f"backup before drift: {problem}")
            suffix = f" (old kept as {tag})"
        result = self.copier.copy(pinned, budget)
        return result._replace(
            source=str(mapping.source),
            verified=signer if result.status is Status.COPIED else None,
            drift=f"{drift} (updated{suffix})" if drift else None,
        )

    def _with_companions(self, mapping: Mapping, result: Image) -> Image:
        if result.status is Status.FAILED:
            return result
        with self.heartbeat.waiting(str(mapping.source), "mirroring its signatures and SBOMs"):
            kinds, problem = self.trust.mirror_companions(mapping, self.timeout)
        if problem:
            # A companion copy that a SIGTERM refused or stopped is an interruption, like the
            # image's own copy: the next run completes it.
            reason = Reason.INTERRUPTED if process.stopping() else Reason.COMPANIONS
            return result._replace(status=Status.FAILED, reason=reason, error=problem)
        return result._replace(companions=kinds)


def _skipped(
    mapping: Mapping,
    seconds: float,
    check: Check,
    platforms: tuple[str, ...] = (),
    drift: str | None = None,
) -> Image:
    return Image(
        str(mapping.source), str(mapping.destination), Status.SKIPPED,
        digest=check.destination, platforms=platforms, drift=drift, seconds=seconds,
    )  # fmt: skip
