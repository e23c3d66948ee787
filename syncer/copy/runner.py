"""Run the copier over many images: checks and copies at their own concurrency, the
configuration turned into a copier, the heartbeat around it all."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from threading import Lock, Semaphore

from syncer.config import Config
from syncer.containers.auth import DockerAuth
from syncer.containers.pull_sources import RegistriesConf
from syncer.copy.engine import Copier
from syncer.copy.skopeo import SkopeoOptions
from syncer.errors import UsageError
from syncer.heartbeat import Heartbeat, quiet
from syncer.imagelist.parse import Mapping
from syncer.record.results import ImageResult
from syncer.registry.client import RegistryClient
from syncer.trust.companions import Companions
from syncer.trust.drift import Trust
from syncer.trust.verify import load_rules

Log = Callable[[str], None]


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

    def one(mapping: Mapping) -> ImageResult:
        nonlocal finished
        result = copier.sync(mapping)
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


def registry_client(config: Config) -> RegistryClient:
    """A client that asks registries as skopeo reads them, for this configuration."""
    conf, auth = registry_setup(config)
    return RegistryClient(auth=auth, conf=conf, insecure_hosts=config.insecure_registries)


def make_copier(
    config: Config,
    log: Log,
    known_platforms: dict[str, tuple[str, ...]] | None = None,
    heartbeat: Heartbeat | None = None,
    last_digests: dict[str, str] | None = None,
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
    copy_slots = Semaphore(max(1, config.concurrency))  # skopeo processes at once
    trust = Trust(
        client,
        Companions(client, options, copy_slots) if config.signatures else None,
        load_rules(config.verify, config.root),
        config.on_drift,
        dict(last_digests or {}),
    )
    return Copier(
        options,
        client,
        trust,
        config.timeout,
        pattern,
        known_platforms=known_platforms or {},
        heartbeat=heartbeat or quiet(),
        log=log,
        copy_slots=copy_slots,
    )


def run_sync(
    mappings: Sequence[Mapping],
    config: Config,
    log: Log,
    known_platforms: dict[str, tuple[str, ...]] | None = None,
    last_digests: dict[str, str] | None = None,
) -> list[ImageResult]:
    """Sync `mappings` as the configuration says, saying what is slow while it waits."""
    with Heartbeat(log) as heartbeat:
        copier = make_copier(config, log, known_platforms, heartbeat, last_digests)
        return _sync_with(copier, mappings, config, log)


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
