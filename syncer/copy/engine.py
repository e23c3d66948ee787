"""Sync images concurrently: ask registries first, then one `skopeo copy --all` per image.

Every image ends as copied, skipped (already identical at the destination) or failed. One
failure never stops the others; results come back in the order the images were given.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from threading import Semaphore

from syncer import process
from syncer.copy.skopeo import Reason, SkopeoOptions, classify_failure, run_copy
from syncer.heartbeat import Heartbeat, quiet
from syncer.imagelist.parse import Entry, Mapping
from syncer.imagelist.reference import Reference
from syncer.record.results import ImageResult, Status, platform_name, platforms_in
from syncer.registry.client import RegistryClient
from syncer.trust.drift import Trust, backup_tag, drifted

Log = Callable[[str], None]


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
class Copier:
    """Everything one image needs: how to run skopeo and how to ask registries."""

    options: SkopeoOptions
    client: RegistryClient
    trust: Trust  # companions, verification, drift
    timeout: float
    immutable_tags: re.Pattern[str] | None = None
    rate_limit_retries: int = 2
    # Platforms already known by index digest (from the state): a skip need not ask again.
    known_platforms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    heartbeat: Heartbeat = field(default_factory=quiet)
    log: Log = field(default=lambda _: None)
    copy_slots: Semaphore = field(default_factory=lambda: Semaphore(8))  # skopeo copies at once

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
            *self.trust.prefetch(mapping),
        )
        if at_destination is None:
            return Check(None, None)
        return Check(at_destination, at_source)

    def current_digest(self, mapping: Mapping) -> str | None:
        """The destination's digest when it already holds the source's manifest, else None."""
        check = self.check(mapping)
        return check.destination if check.in_place else None

    def copy(self, mapping: Mapping, budget: float | None = None) -> ImageResult:
        """Copy with skopeo within `budget` seconds (default: the whole `timeout`)."""
        deadline = time.monotonic() + (self.timeout if budget is None else budget)
        for attempt in range(self.rate_limit_retries + 1):
            result = self._copy_once(mapping, deadline)
            if result.reason != Reason.RATE_LIMITED.value or attempt == self.rate_limit_retries:
                return result
            self.client.throttle.back_off(mapping.source.domain, attempt + 2, None)
            self.client.throttle.wait()
        return result

    def _failed(self, mapping: Mapping, seconds: float, reason: Reason, error: str) -> ImageResult:
        return ImageResult(
            str(mapping.source), str(mapping.destination), Status.FAILED, seconds,
            reason=reason.value, error=error,
        )  # fmt: skip

    def _copy_once(self, mapping: Mapping, deadline: float) -> ImageResult:
        left = deadline - time.monotonic()
        if left <= 0:
            return self._failed(mapping, 0.0, Reason.TIMEOUT, self._timed_out(""))
        with self.heartbeat.waiting(str(mapping.source), "skopeo copy --all is running"):
            done, copied_digest = run_copy(mapping.source, mapping.destination, self.options, left)
        if not done.ok and process.stopping():
            return self._failed(
                mapping, done.seconds, Reason.INTERRUPTED, "stopped by a signal before it finished"
            )
        if not done.ok:
            reason, error = classify_failure(done.stderr, timed_out=done.timed_out)
            if reason is Reason.TIMEOUT:
                error = self._timed_out(error)
            return self._failed(mapping, done.seconds, reason, error)
        # The read after the copy gets a few seconds even when the budget is spent.
        with self.client.deadline(max(deadline, time.monotonic() + 5)):
            return self._verified(mapping, copied_digest, done.seconds)

    def _timed_out(self, last: str) -> str:
        return f"no result within {self.timeout:g}s" + (f"; last: {last}" if last else "")

    def _verified(self, mapping: Mapping, copied_digest: str | None, seconds: float) -> ImageResult:
        """`copied` only when the destination holds the source's digest (what skopeo read)."""
        source, destination = str(mapping.source), str(mapping.destination)
        expected = mapping.source.digest or copied_digest
        digest, platforms = destination_details(self.client, mapping.destination)
        if digest is not None and expected is not None and digest != expected:
            error = f"the destination holds {digest}, the source {expected}"
            return self._failed(mapping, seconds, Reason.DIGEST, error)
        # Unreadable afterwards: skopeo's own word (--preserve-digests) stands, and the next run
        # reads the platforms (an entry without them is checked again).
        recorded = digest or expected
        return ImageResult(source, destination, Status.COPIED, seconds, recorded, platforms)

    def _checked(self, mapping: Mapping, deadline: float) -> tuple[Check, tuple[str, ...]]:
        """The check, and the platforms of an image in place (from the state, else from the
        destination: never from the source)."""
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

    def sync(self, mapping: Mapping) -> ImageResult:
        """Check, then copy if needed, with what travels with it; `timeout` bounds the time
        spent on the image (the wait for a free copy slot aside)."""
        if process.stopping():
            return self._failed(mapping, 0.0, Reason.INTERRUPTED, "not started: syncer was stopped")
        started = time.monotonic()
        check, platforms = self._checked(mapping, started + self.timeout)
        spent = time.monotonic() - started
        if check.in_place:
            result = ImageResult(
                str(mapping.source), str(mapping.destination), Status.SKIPPED, spent,
                digest=check.destination, platforms=platforms,
            )  # fmt: skip
            # Pinned and immutable images promise no request at the source: their companions
            # came with the copy.
            return self._with_companions(mapping, result) if check.asked_source else result
        if spent >= self.timeout:
            return self._failed(
                mapping, spent, Reason.TIMEOUT, self._timed_out("asking registries")
            )
        drift = self._drift(mapping, check)
        if drift and self.trust.on_drift == "keep":
            result = ImageResult(
                str(mapping.source), str(mapping.destination), Status.SKIPPED, spent,
                digest=check.destination, drift=f"{drift} (kept)",
            )  # fmt: skip
            return self._with_companions(mapping, result)
        with self.copy_slots:
            if process.stopping():
                return self.sync(mapping)
            result = self._copy_guarded(mapping, check, drift, self.timeout - spent)
        # Out of the copy slot: the next image's skopeo starts while these small requests run
        # (a companion that needs skopeo takes a slot of its own).
        return self._with_companions(mapping, result)

    def _drift(self, mapping: Mapping, check: Check) -> str | None:
        last = self.trust.last_digests.get(str(mapping.source))
        if not drifted(last, check.destination, check.source):
            return None
        self.log(f"{mapping.source}: drift: upstream moved the tag from {last} to {check.source}")
        return f"{last} -> {check.source}"

    def _copy_guarded(
        self, mapping: Mapping, check: Check, drift: str | None, budget: float
    ) -> ImageResult:
        """Verify (when a rule says so), keep a backup (on drift, when asked), copy (the
        companions are the caller's, out of the copy slot)."""
        rule = self.trust.rule_for(mapping.source)
        pinned = mapping
        if rule is not None:
            digest, why = self.trust.verified_digest(mapping, rule)
            if digest is None:
                return self._failed(mapping, 0.0, Reason.UNVERIFIED, why)
            # Read exactly what was verified, write it to the tag.
            source = Reference(mapping.source.domain, mapping.source.path, None, digest)
            entry = mapping.entry
            pinned = Mapping(Entry.of(entry.line, entry.text, source), mapping.destination)
        suffix = ""
        if drift and self.trust.on_drift == "backup" and check.destination:
            tag, problem = self._backup(mapping, check.destination)
            if problem:
                return self._failed(mapping, 0.0, Reason.OTHER, f"backup before drift: {problem}")
            suffix = f" (old kept as {tag})"
        result = self.copy(pinned, budget)
        return replace(
            result,
            source=str(mapping.source),
            verified=rule.key_path if rule is not None and result.status is Status.COPIED else None,
            drift=f"{drift} (updated{suffix})" if drift else None,
        )

    def _backup(self, mapping: Mapping, old: str) -> tuple[str, str | None]:
        destination = mapping.destination
        tag = backup_tag(destination.tag or "latest", old)
        source = Reference(destination.domain, destination.path, None, old)
        target = Reference(destination.domain, destination.path, tag)
        done, _ = run_copy(source, target, self.options, self.timeout)
        if done.ok:
            self.log(f"{mapping.destination}: kept the replaced {old} as {target}")
            return tag, None
        return tag, classify_failure(done.stderr, timed_out=done.timed_out)[1]

    def _with_companions(self, mapping: Mapping, result: ImageResult) -> ImageResult:
        if result.status is Status.FAILED:
            return result
        with self.heartbeat.waiting(str(mapping.source), "mirroring its signatures and SBOMs"):
            kinds, problem = self.trust.mirror_companions(mapping, self.timeout)
        if problem:
            # A companion copy that a SIGTERM refused or stopped is an interruption, like the
            # image's own copy: the next run completes it.
            reason = Reason.INTERRUPTED if process.stopping() else Reason.COMPANIONS
            return replace(result, status=Status.FAILED, reason=reason.value, error=problem)
        return replace(result, companions=kinds)


@dataclass(frozen=True)
class Check:
    destination: str | None  # the digest the destination holds (None: nothing, or cannot tell)
    source: str | None  # the source's digest, where it was asked
    asked_source: bool = True  # False: pinned or immutable, the source was not asked

    @property
    def in_place(self) -> bool:
        return self.destination is not None and self.destination == self.source
