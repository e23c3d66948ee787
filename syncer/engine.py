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

    def copy(self, mapping: Mapping) -> ImageResult:
        for attempt in range(self.rate_limit_retries + 1):
            result = self._copy_once(mapping)
            if result.reason != Reason.RATE_LIMITED.value or attempt == self.rate_limit_retries:
                return result
            self.client.throttle.back_off(mapping.source.domain, attempt + 2, None)
            self.client.throttle.wait()
        return result

    def _copy_once(self, mapping: Mapping) -> ImageResult:
        source, destination = str(mapping.source), str(mapping.destination)
        with tempfile.TemporaryDirectory(prefix="syncer-") as scratch:
            digestfile = Path(scratch) / "digest"
            command = copy_command(mapping.source, mapping.destination, self.options, digestfile)
            done = process.run(command, timeout=self.timeout)
            copied_digest = digestfile.read_text().strip() if digestfile.exists() else None
        if not done.ok and process.stopping():
            return ImageResult(
                source, destination, Status.FAILED, done.seconds,
                reason=Reason.INTERRUPTED.value, error="stopped by a signal before it finished",
            )  # fmt: skip
        if not done.ok:
            reason, error = classify_failure(done.stderr, timed_out=done.timed_out)
            if reason is Reason.TIMEOUT:
                error = f"no result within {self.timeout:g}s" + (
                    f"; last: {error}" if error else ""
                )
            return ImageResult(
                source, destination, Status.FAILED, done.seconds, reason=reason.value, error=error
            )
        return self._verified(mapping, copied_digest, done.seconds)

    def _verified(self, mapping: Mapping, copied_digest: str | None, seconds: float) -> ImageResult:
        """`copied` only when the destination holds the source's digest (what skopeo read)."""
        source, destination = str(mapping.source), str(mapping.destination)
        expected = mapping.source.digest or copied_digest
        digest, platforms = destination_details(self.client, mapping.destination)
        if digest is not None and expected is not None and digest != expected:
            error = f"the destination holds {digest}, the source {expected}"
            return ImageResult(
                source, destination, Status.FAILED, seconds,
                reason=Reason.DIGEST.value, error=error,
            )  # fmt: skip
        # Unreadable afterwards: skopeo's own word (--preserve-digests) stands, and the next run
        # reads the platforms (an entry without them is checked again).
        recorded = digest or expected
        return ImageResult(source, destination, Status.COPIED, seconds, recorded, platforms)

    def sync(self, mapping: Mapping, copy_slots: Semaphore) -> ImageResult:
        if process.stopping():
            return ImageResult(
                str(mapping.source), str(mapping.destination), Status.FAILED,
                reason=Reason.INTERRUPTED.value, error="not started: syncer was stopped",
            )  # fmt: skip
        started = time.monotonic()
        digest = self.current_digest(mapping)
        if digest is not None:
            # Platforms come from the state, else from the destination: never from the source.
            platforms = (
                self.known_platforms.get(digest)
                or destination_details(self.client, mapping.destination)[1]
            )
            return ImageResult(
                str(mapping.source),
                str(mapping.destination),
                Status.SKIPPED,
                time.monotonic() - started,
                digest=digest,
                platforms=platforms,
            )
        with copy_slots:
            if process.stopping():
                return self.sync(mapping, copy_slots)
            return self.copy(mapping)


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
    config: Config, log: Log, known_platforms: dict[str, tuple[str, ...]] | None = None
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
    return Copier(options, client, config.timeout, pattern, known_platforms=known_platforms or {})


def run_sync(
    mappings: Sequence[Mapping],
    config: Config,
    log: Log,
    known_platforms: dict[str, tuple[str, ...]] | None = None,
) -> list[ImageResult]:
    """Sync `mappings` as the configuration says."""
    copier = make_copier(config, log, known_platforms)
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
