"""Each distinct blob pulled once: skopeo reads its sources through a relay of syncer's.

Concurrent `skopeo copy` processes do not know of each other: eight images on one new base
layer pull it eight times, and a later CI job, whose containers/image cache starts empty,
pulls it again though the mirror holds it. So during a run skopeo reads each source from a
local endpoint (plain HTTP on loopback) that syncer answers with its own registry client (the
endpoint, token and back-off it found for the image). The relay sees every manifest before
skopeo copies the blobs it lists, and before answering:

- a blob the mirror already holds in another repository (this run's copies, or earlier runs'
  as recorded in the working tree's blob locations) is mounted into the image's repository
  (`POST .../blobs/uploads/?mount=&from=`), so skopeo finds it there and does not pull it;
- a blob another copy is pulling now is waited for, then mounted;
- the others are claimed by this copy.

Manifests and blobs pass through unchanged, one upstream GET for each of skopeo's (a pull is
counted as before); a registry that does not mount (202 and an upload) costs a pull, as
without the relay. Nothing here decides what is copied or checked: skopeo still does.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from syncer.containers.pull_sources import Endpoint
from syncer.copy.blobs import BlobLocations
from syncer.imagelist.reference import Reference
from syncer.registry.client import RegistryClient
from syncer.registry.once import OncePerKey

Log = Callable[[str], None]
WAIT = 120.0  # seconds a copy waits for another's pull of a shared blob before pulling it


@dataclass
class Route:
    """One copy through the relay: where its source is read, where it is written."""

    number: int
    source: Endpoint
    destination: Endpoint | None  # the repository the image lands in (None: blocked)
    claimed: set[str] = field(default_factory=set)
    pulled: set[str] = field(default_factory=set)


@dataclass
class _Claim:
    route: int
    repository: str | None
    done: threading.Event = field(default_factory=threading.Event)


class Relay:
    def __init__(self, client: RegistryClient, locations: BlobLocations, log: Log) -> None:
        from syncer.copy.relay_http import RelayServer

        self.client, self.locations, self.log = client, locations, log
        self._routes: dict[int, Route] = {}
        self._claims: dict[str, _Claim] = {}
        self._lock = threading.Lock()
        self._numbers = iter(range(1, 1 << 62))
        # Each blob mounted into a repository once (two mounts of one blob into one
        # repository at once race in distribution's storage: a HEAD then answers 500).
        self._mounts: OncePerKey[tuple[str, str], bool] = OncePerKey()
        self._server = RelayServer(self)
        # A short poll: `close` waits for the loop to see the shutdown (0.5 s by default).
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._started = False
        self._landing: list[threading.Thread] = []  # blobs seen to their repository

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> Relay:
        """Serve from the first copy on (a run that copies nothing starts no thread)."""
        with self._lock:
            if not self._started:
                self._thread.start()
                self._started = True
        return self

    def close(self) -> None:
        """Stop serving; the checks that blobs landed end first (they use the client, which
        the run closes next)."""
        if self._started:
            self._server.shutdown()
        self._server.server_close()
        with self._lock:
            landing, self._landing = self._landing, []
        for thread in landing:
            thread.join(timeout=15)

    @contextmanager
    def route(
        self, source: Endpoint, destination: Reference, digest: str | None = None
    ) -> Iterator[Reference]:
        """Where skopeo reads `source` during the block (the same repository path; the
        endpoint reference's tag, or `digest`); claims are given up when it ends."""
        self.start()
        target = self.client.destination_endpoint(destination)
        with self._lock:
            route = Route(next(self._numbers), source, target)
            self._routes[route.number] = route
        ref = source.reference
        tag, pinned = (None, digest) if digest else (ref.tag, ref.digest)
        relayed = Reference(self.host, f"r{route.number}/{ref.path}", tag, pinned)
        try:
            yield relayed
        finally:
            self._finish(route)

    def _finish(self, route: Route) -> None:
        with self._lock:
            del self._routes[route.number]
            for digest in route.claimed:
                claim = self._claims.get(digest)
                if claim is not None and claim.route == route.number:
                    del self._claims[digest]
                    claim.done.set()

    def route_of(self, number: int) -> Route | None:
        with self._lock:
            return self._routes.get(number)

    # What the handler asks -------------------------------------------------------------------
    def before_manifest(self, route: Route, body: bytes) -> None:
        """Mount what the mirror holds elsewhere, wait for what another copy pulls, claim
        the rest, for the blobs of a single manifest skopeo is about to copy."""
        if route.destination is None:
            return
        for digest in _blobs(body):
            self._place(route, digest)

    def _place(self, route: Route, digest: str) -> None:
        assert route.destination is not None  # noqa: S101  (checked by the caller)
        with self._lock:
            claim = self._claims.get(digest)
            mine = claim is not None and claim.route == route.number
            if claim is None:
                self._claims[digest] = _Claim(route.number, route.destination.path)
                route.claimed.add(digest)
        if mine:
            return
        if claim is not None:  # another copy pulls it now: wait, then take it from there
            claim.done.wait(WAIT)
        if self._mount(route, digest) and claim is None:
            with self._lock:  # mounted: nobody need wait on this copy for it
                route.claimed.discard(digest)
                released = self._claims.pop(digest, None)
            if released is not None:
                released.done.set()

    def _mount(self, route: Route, digest: str) -> bool:
        assert route.destination is not None  # noqa: S101
        target = route.destination
        mounted = self._mounts.get((target.path, digest), lambda: self._mount_once(target, digest))
        return bool(mounted)

    def _mount_once(self, target: Endpoint, digest: str) -> bool | None:
        """Mounted (or there already), False: mounted nowhere; None: not known yet (no
        repository holds it as far as the relay knows: asked again later)."""
        places = self.locations.where(digest)
        if target.path in places:
            return True  # already there: skopeo sees it
        for repository in places:
            if self.client.mount_blob(target, digest, repository):
                self.locations.add(digest, target.path)
                return True
        return None

    def pulled(self, route: Route, digest: str) -> None:
        """A blob streamed whole to this copy's skopeo: once its upload has landed in the
        image's repository, it is known there, and the copies waiting for it go on (checked
        away from this connection, which skopeo reuses for its next blob)."""
        route.pulled.add(digest)
        thread = threading.Thread(target=self._landed, args=(route, digest), daemon=True)
        with self._lock:
            self._landing.append(thread)
        thread.start()

    def _landed(self, route: Route, digest: str) -> None:
        if route.destination is not None and self._until_held(route, digest):
            self.locations.add(digest, route.destination.path)
        with self._lock:
            claim = self._claims.get(digest)
            if claim is None or claim.route != route.number:
                return
            del self._claims[digest]
            route.claimed.discard(digest)
        claim.done.set()

    def _until_held(self, route: Route, digest: str, seconds: float = 10.0) -> bool:
        """Whether the blob is in the route's repository within `seconds` (the upload ends
        just after the last byte was read)."""
        assert route.destination is not None  # noqa: S101
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.client.blob_exists(route.destination, digest):
                return True
            time.sleep(0.05)
        return False


def _blobs(body: bytes) -> list[str]:
    """The config and layers of a single manifest (none for an index)."""
    try:
        manifest = json.loads(body)
    except ValueError:
        return []
    if not isinstance(manifest, dict) or "manifests" in manifest:
        return []
    found = [manifest.get("config"), *(manifest.get("layers") or [])]
    return [str(d["digest"]) for d in found if isinstance(d, dict) and "digest" in d]
