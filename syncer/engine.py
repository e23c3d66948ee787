"""Sync images concurrently: ask registries first, then one `skopeo copy --all` per image.

Every image ends as copied, skipped (already identical at the destination) or failed. One
failure never stops the others; results come back in the order the images were given.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from threading import Lock, Semaphore

from syncer import process
from syncer.auth import DockerAuth
from syncer.config import Config
from syncer.errors import UsageError
from syncer.heartbeat import Heartbeat, quiet
from syncer.imagelist import Mapping
from syncer.pull_sources import RegistriesConf
from syncer.reference import Reference
from syncer.registry import RegistryClient
from syncer.results import ImageResult, Status, platform_name, platforms_in
from syncer.skopeo import Reason, SkopeoOptions, classify_failure, copy_command

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
    timeout: float
    immutable_tags: re.Pattern[str] | None = None
    rate_limit_retries: int = 2
    # Platforms already known by index digest (from the state): a skip need not ask again.
    known_platforms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    heartbeat: Heartbeat = field(default_factory=quiet)

    def current_digest(self, mapping: Mapping) -> str | None:
        """The destination's digest when it already holds the source's manifest, else None.

        The source is not asked when the reference pins a digest, or when its tag is one the
        user declared immutable (`immutable_tags`) and the destination has it.
        """
        source = mapping.source
        at_destination = self.client.destination_digest(mapping.destination)
        if at_destination is None:
            return None
        if source.digest is not None:
            return at_destination if at_destination == source.digest else None
        if self.immutable_tags and source.tag and self.immutable_tags.search(source.tag):
            return at_destination
        return at_destination if self.client.source_digest(source) == at_destination else None

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
        with tempfile.TemporaryDirectory(prefix="syncer-") as scratch:
            digestfile = Path(scratch) / "digest"
            command = copy_command(mapping.source, mapping.destination, self.options, digestfile)
            with self.heartbeat.waiting(str(mapping.source), "skopeo copy --all is running"):
                done = process.run(command, timeout=left)
            copied_digest = digestfile.read_text().strip() if digestfile.exists() else None
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

    def _checked(self, mapping: Mapping, deadline: float) -> tuple[str | None, tuple[str, ...]]:
        """The digest the destination already holds the source's manifest with, and its
        platforms (from the state, else from the destination: never from the source)."""
        hosts = f"{mapping.destination.domain} and {mapping.source.domain}"
        with (
            self.client.deadline(deadline),
            self.heartbeat.waiting(str(mapping.source), f"asking {hosts} for the manifest digest"),
        ):
            digest = self.current_digest(mapping)
            if digest is None:
                return None, ()
            known = self.known_platforms.get(digest)
            return digest, known or destination_details(self.client, mapping.destination)[1]

    def sync(self, mapping: Mapping, copy_slots: Semaphore) -> ImageResult:
        """Check, then copy if needed; `timeout` bounds the time spent on the image (the wait
        for a free copy slot aside)."""
        if process.stopping():
            return self._failed(mapping, 0.0, Reason.INTERRUPTED, "not started: syncer was stopped")
        started = time.monotonic()
        digest, platforms = self._checked(mapping, started + self.timeout)
        spent = time.monotonic() - started
        if digest is not None:
            return ImageResult(
                str(mapping.source), str(mapping.destination), Status.SKIPPED, spent,
                digest=digest, platforms=platforms,
            )  # fmt: skip
        if spent >= self.timeout:
            return self._failed(
                mapping, spent, Reason.TIMEOUT, self._timed_out("asking registries")
            )
        with copy_slots:
            if process.stopping():
                return self.sync(mapping, copy_slots)
            return self.copy(mapping, self.timeout - spent)


def sync_images(
    mappings: Sequence[Mapping],
    copier: Copier,
    *,
    concurrency: int,
    check_concurrency: int,
    log: Log,
) -> list[ImageResult]:
    """Check and copy every mapping; one log line per image as it finishes; input order kept.

    Checks (HEAD requests) run `check_concurrency` at a time, copies `concurrency` at a time.
    """
    total = len(mappings)
    finished = 0
    lock = Lock()
    copy_slots = Semaphore(max(1, concurrency))

    def one(mapping: Mapping) -> ImageResult:
        nonlocal finished
        result = copier.sync(mapping, copy_slots)
        with lock:
            finished += 1
            log(
                f"[{finished}/{total}] {result.source} -> {result.destination}: {result.describe()}"
            )
        return result

    workers = max(1, concurrency, check_concurrency)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, mappings))


def registry_setup(config: Config) -> tuple[RegistriesConf, DockerAuth]:
    """registries.conf and the credentials, read as skopeo will read them for this config."""
    options = SkopeoOptions.from_config(config)
    if options.authfile and not Path(options.authfile).is_file():
        raise UsageError(f"authfile {options.authfile}: no such file")
    conf = RegistriesConf.load(options.registries_conf, config.registries_conf_dir)
    return conf, DockerAuth.from_authfile(options.authfile, conf.config.helpers)


def make_copier(
    config: Config,
    log: Log,
    known_platforms: dict[str, tuple[str, ...]] | None = None,
    heartbeat: Heartbeat | None = None,
) -> Copier:
    options = SkopeoOptions.from_config(config)
    for host in config.insecure_registries:
        log(f"TLS verification is off for {host} (insecure_registries)")
    if config.registries_conf_dir:
        log(
            f"registries_conf_dir: syncer reads drop-ins from {config.registries_conf_dir}; "
            "skopeo has no flag for it and reads its own directories whatever this says"
        )
    conf, auth = registry_setup(config)
    client = RegistryClient(
        auth=auth,
        conf=conf,
        insecure_hosts=config.insecure_registries,
        log=log,
    )
    pattern = re.compile(config.immutable_tags) if config.immutable_tags else None
    return Copier(
        options,
        client,
        config.timeout,
        pattern,
        known_platforms=known_platforms or {},
        heartbeat=heartbeat or quiet(),
    )


def run_sync(
    mappings: Sequence[Mapping],
    config: Config,
    log: Log,
    known_platforms: dict[str, tuple[str, ...]] | None = None,
) -> list[ImageResult]:
    """Sync `mappings` as the configuration says, saying what is slow while it waits."""
    with Heartbeat(log) as heartbeat:
        return _sync_with(
            make_copier(config, log, known_platforms, heartbeat), mappings, config, log
        )


def _sync_with(
    copier: Copier, mappings: Sequence[Mapping], config: Config, log: Log
) -> list[ImageResult]:
    try:
        return sync_images(
            mappings,
            copier,
            concurrency=config.concurrency,
            check_concurrency=config.check_concurrency,
            log=log,
        )
    finally:
        copier.client.close()
