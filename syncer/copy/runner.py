"""The run over many images: the configuration turned into the run's one registry client and
its image sync, checks and copies at their own concurrency, the heartbeat around it all."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from threading import Lock, Semaphore

from syncer.config import Config
from syncer.containers.auth import DockerAuth
from syncer.containers.pull_sources import RegistriesConf
from syncer.copy.blobs import BlobLocations
from syncer.copy.check import Checker
from syncer.copy.copier import SkopeoCopier
from syncer.copy.engine import ImageSync
from syncer.copy.relay import Relay
from syncer.copy.skopeo import SkopeoOptions
from syncer.errors import SyncerError, UsageError
from syncer.heartbeat import Heartbeat, quiet
from syncer.imagelist.parse import Mapping
from syncer.record.image import ImageResult, State
from syncer.registry.client import RegistryClient
from syncer.trust.companions import Companions
from syncer.trust.guard import Trust
from syncer.trust.verify import load_rules

Log = Callable[[str], None]


def registry_setup(config: Config) -> tuple[RegistriesConf, DockerAuth]:
    """registries.conf and the credentials, read as skopeo will read them for this config."""
    options = SkopeoOptions.from_config(config)
    if options.authfile and not Path(options.authfile).is_file():
        raise UsageError(f"authfile {options.authfile}: no such file")
    conf = RegistriesConf.load(options.registries_conf, config.registries_conf_dir)
    return conf, DockerAuth.from_authfile(options.authfile, conf.config.helpers)


def open_client(config: Config, log: Log = lambda _: None) -> RegistryClient:
    """The run's registry client: it asks registries as skopeo reads them."""
    for host in config.insecure_registries:
        log(f"TLS verification is off for {host} (insecure_registries)")
    if config.registries_conf_dir:
        log(
            f"registries_conf_dir: syncer reads drop-ins from {config.registries_conf_dir}; "
            "skopeo has no flag for it and reads its own directories whatever this says"
        )
    conf, auth = registry_setup(config)
    return RegistryClient(auth=auth, conf=conf, insecure_hosts=config.insecure_registries, log=log)


class Registries:
    """The run's one registry client, made when first needed (a dry run without selectors
    asks no registry) and closed at the end: expansion, plan and copy share it, so the
    configuration is read once and each tag list asked once."""

    def __init__(self, config: Config, log: Log = lambda _: None) -> None:
        self.config, self.log = config, log
        self._client: RegistryClient | None = None

    @property
    def client(self) -> RegistryClient:
        if self._client is None:
            self._client = open_client(self.config, self.log)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


@contextmanager
def registries(config: Config, log: Log = lambda _: None) -> Iterator[Registries]:
    held = Registries(config, log)
    try:
        yield held
    finally:
        held.close()


def image_sync(
    config: Config,
    client: RegistryClient,
    log: Log,
    state: State | None = None,
    heartbeat: Heartbeat | None = None,
    details: Log | None = None,
    relay: Relay | None = None,
) -> ImageSync:
    """What one image needs, as the configuration says; `state` is what the last runs
    recorded (the skip check and drift read it)."""
    options = SkopeoOptions.from_config(config)
    heartbeat = heartbeat or quiet()
    copy_slots = Semaphore(max(1, config.concurrency))  # skopeo processes at once
    trust = make_trust(config, client, copy_slots)
    pattern = re.compile(config.immutable_tags) if config.immutable_tags else None
    checker = Checker(
        client, pattern, trust.prefetch, state or {}, heartbeat, config.platforms or None
    )
    copier = SkopeoCopier(
        options, client, config.timeout, heartbeat=heartbeat, log=log, details=details,
        relay=relay,
    )  # fmt: skip
    return ImageSync(
        checker, copier, trust, config.timeout, heartbeat, log, copy_slots, config.quota_reserve
    )


def make_trust(
    config: Config,
    client: RegistryClient,
    copy_slots: Semaphore,
) -> Trust:
    """Companions, verification rules and drift as the configuration says."""
    options = SkopeoOptions.from_config(config)
    return Trust(
        client,
        Companions(client, options, copy_slots) if config.signatures else None,
        load_rules(config.verify, config.root),
        config.on_drift,
    )


@contextmanager
def relayed(config: Config, client: RegistryClient, log: Log) -> Iterator[Relay | None]:
    """The run's relay (each distinct blob pulled once), unless `relay: false`; the blob
    locations it learned are kept in the working tree for the next run."""
    if not config.relay:
        yield None
        return
    path = config.path(config.blob_locations) if config.blob_locations else None
    locations = BlobLocations(path)
    relay = Relay(client, locations, log)  # serves from the first copy on
    try:
        yield relay
    finally:
        relay.close()
        try:
            locations.save()
        except SyncerError as exc:  # a cache: the run's results matter more
            log(f"blob locations not saved: {exc}")


def sync_images(
    mappings: Sequence[Mapping],
    syncing: ImageSync,
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
        result = syncing.sync(mapping)
        with lock:
            finished += 1
            log(
                f"[{finished}/{total}] {result.source} -> {result.destination}: {result.describe()}"
            )
        return result

    workers = max(1, concurrency, check_concurrency)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, mappings))


def run_sync(
    mappings: Sequence[Mapping],
    config: Config,
    log: Log,
    state: State | None = None,
    client: RegistryClient | None = None,
    details: Log | None = None,
) -> list[ImageResult]:
    """Sync `mappings` as the configuration says, saying what is slow while it waits; with the
    run's client, or one of its own."""
    if client is None:
        with registries(config, log) as held:
            return run_sync(mappings, config, log, state, held.client, details)
    with Heartbeat(log) as heartbeat, relayed(config, client, log) as relay:
        syncing = image_sync(config, client, log, state, heartbeat, details, relay)
        return sync_images(
            mappings,
            syncing,
            concurrency=config.concurrency,
            check_concurrency=config.check_concurrency,
            log=log,
        )
