"""One `skopeo copy --all` of an image, and the proof afterwards: the destination holds the
digest skopeo read (or the pinned one). A copy refused by a rate limit waits as the registry
says and tries again."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from syncer import process
from syncer.copy.check import destination_details
from syncer.copy.relay import Relay
from syncer.copy.skopeo import SkopeoOptions, classify_failure, run_copy
from syncer.heartbeat import Heartbeat, quiet
from syncer.imagelist.parse import Mapping
from syncer.imagelist.reference import Reference
from syncer.record.image import Image, Reason, Status
from syncer.registry.client import RegistryClient
from syncer.trust.drift import backup_tag

Log = Callable[[str], None]


def failed(mapping: Mapping, reason: Reason, error: str, seconds: float = 0.0) -> Image:
    return Image(
        str(mapping.source), str(mapping.destination), Status.FAILED,
        reason=reason, error=error, seconds=seconds,
    )  # fmt: skip


@dataclass(frozen=True)
class SkopeoCopier:
    options: SkopeoOptions
    client: RegistryClient
    timeout: float
    rate_limit_retries: int = 2
    heartbeat: Heartbeat = field(default_factory=quiet)
    log: Log = field(default=lambda _: None)
    details: Log | None = None  # where a failed copy's whole output goes (--verbose, CI)
    relay: Relay | None = None  # skopeo reads sources through it (each blob pulled once)

    def copy(self, mapping: Mapping, budget: float | None = None) -> Image:
        """Copy with skopeo within `budget` seconds (default: the whole `timeout`)."""
        deadline = time.monotonic() + (self.timeout if budget is None else budget)
        for attempt in range(self.rate_limit_retries + 1):
            result = self._copy_once(mapping, deadline)
            if result.reason != Reason.RATE_LIMITED or attempt == self.rate_limit_retries:
                break
            self.client.throttle.back_off(mapping.source.domain, attempt + 2, None)
            self.client.throttle.wait()
        return result

    def _copy_once(self, mapping: Mapping, deadline: float) -> Image:
        done = self.run_skopeo(mapping, mapping.source, mapping.destination, deadline)
        if isinstance(done, Image):
            return done
        copied_digest, seconds = done
        # The read after the copy gets a few seconds even when the budget is spent.
        with self.client.deadline(max(deadline, time.monotonic() + 5)):
            return self._verified(mapping, copied_digest, seconds)

    def run_skopeo(
        self, mapping: Mapping, source: Reference, destination: Reference, deadline: float
    ) -> Image | tuple[str | None, float]:
        """One `skopeo copy` for `mapping` by `deadline`: the digest it wrote and the seconds
        it took, or the image's failure in words."""
        left = deadline - time.monotonic()
        if left <= 0:
            return failed(mapping, Reason.TIMEOUT, self.timed_out(""))
        with (
            self.heartbeat.waiting(str(mapping.source), "skopeo copy --all is running"),
            self._relayed(source, destination) as (read, relayed),
        ):
            done, copied_digest = run_copy(read, destination, self.options, left, relayed)
        if not done.ok and process.stopping():
            error = "stopped by a signal before it finished"
            return failed(mapping, Reason.INTERRUPTED, error, done.seconds)
        if not done.ok:
            if self.details is not None:
                self.details(f"{mapping.source}: skopeo failed:\n{process.describe_failure(done)}")
            reason, error = classify_failure(done.stderr, timed_out=done.timed_out)
            if reason is Reason.TIMEOUT:
                error = self.timed_out(error)
            return failed(mapping, reason, error, done.seconds)
        return copied_digest, done.seconds

    @contextmanager
    def _relayed(
        self, source: Reference, destination: Reference
    ) -> Iterator[tuple[Reference, bool]]:
        """Where skopeo reads `source`: through the relay when there is one and syncer found
        the image's endpoint, else where skopeo itself would (never on doubt)."""
        found = self.client.serving(source) if self.relay is not None else None
        if self.relay is None or found is None:
            yield source, False
            return
        with self.relay.route(found[0], destination, source.digest) as relayed:
            yield relayed, True

    def timed_out(self, last: str) -> str:
        return f"no result within {self.timeout:g}s" + (f"; last: {last}" if last else "")

    def _verified(self, mapping: Mapping, copied_digest: str | None, seconds: float) -> Image:
        """`copied` only when the destination holds the source's digest (what skopeo read)."""
        expected = mapping.source.digest or copied_digest
        held = destination_details(self.client, mapping.destination)
        if held.digest is not None and expected is not None and held.digest != expected:
            error = f"the destination holds {held.digest}, the source {expected}"
            return failed(mapping, Reason.DIGEST, error, seconds)
        # Unreadable afterwards: skopeo's own word (--preserve-digests) stands, and the next run
        # reads the platforms (an entry without them is checked again).
        return Image(
            str(mapping.source), str(mapping.destination), Status.COPIED,
            digest=held.digest or expected, platforms=held.platforms, seconds=seconds,
            content=held.content,
        )  # fmt: skip

    def backup(self, destination: Reference, old: str) -> tuple[str, str | None]:
        """Keep the digest `old` at the destination under `TAG-<12 hex>`: (tag, problem)."""
        tag = backup_tag(destination.tag or "latest", old)
        source = Reference(destination.domain, destination.path, None, old)
        target = Reference(destination.domain, destination.path, tag)
        done, _ = run_copy(source, target, self.options, self.timeout)
        if done.ok:
            self.log(f"{destination}: kept the replaced {old} as {target}")
            return tag, None
        return tag, classify_failure(done.stderr, timed_out=done.timed_out)[1]
