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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from syncer.containers.pull_sources import Endpoint
from syncer.imagelist.reference import Reference
from syncer.registry.client import RegistryClient
from syncer.registry.http import Response
from syncer.registry.once import OncePerKey

Log = Callable[[str], None]
WAIT = 120.0  # seconds a copy waits for another's pull of a shared blob before pulling it
_CHUNK = 1 << 20  # bytes read and written at a time: fewer rounds through Python


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
        self.client, self.locations, self.log = client, locations, log
        self._routes: dict[int, Route] = {}
        self._claims: dict[str, _Claim] = {}
        self._lock = threading.Lock()
        self._numbers = iter(range(1, 1 << 62))
        # Each blob mounted into a repository once (two mounts of one blob into one
        # repository at once race in distribution's storage: a HEAD then answers 500).
        self._mounts: OncePerKey[tuple[str, str], bool] = OncePerKey()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        # A short poll: `close` waits for the loop to see the shutdown (0.5 s by default).
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._started = False

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
        if self._started:
            self._server.shutdown()
        self._server.server_close()

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
        threading.Thread(target=self._landed, args=(route, digest), daemon=True).start()

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


class BlobLocations:
    """Which destination repository holds each blob, as this and earlier runs saw it; kept in
    the working tree (one `digest repository` a line) for the next job to mount from."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._where: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self._changed = False
        if path is not None and path.is_file():
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                digest, _, repository = line.partition(" ")
                if digest.startswith("sha256:") and repository:
                    self._where.setdefault(digest, []).append(repository)

    def where(self, digest: str) -> list[str]:
        with self._lock:
            return list(reversed(self._where.get(digest, [])))  # the latest first

    def add(self, digest: str, repository: str) -> None:
        with self._lock:
            known = self._where.setdefault(digest, [])
            if repository not in known:
                known.append(repository)
                del known[:-3]  # a few places are enough to mount from
                self._changed = True

    def save(self) -> None:
        if self.path is None or not self._changed:
            return
        from syncer.files import write_atomic

        with self._lock:
            lines = [f"{d} {r}\n" for d in sorted(self._where) for r in self._where[d]]
        write_atomic(self.path, "".join(lines))


def _handler(relay: Relay) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _reply(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _route(self) -> tuple[Route, str] | None:
            """`/v2/r<N>/<path>/<manifests|blobs>/<ref>` -> (its route, `<kind>/<ref>`)."""
            parts = self.path.split("/", 3)
            if len(parts) < 4 or parts[1] != "v2" or not parts[2].startswith("r"):
                return None
            if not parts[2][1:].isdigit():
                return None
            route = relay.route_of(int(parts[2][1:]))
            for kind in ("/manifests/", "/blobs/"):
                if route is not None and kind in parts[3]:
                    return route, kind.strip("/") + "/" + parts[3].rpartition(kind)[2]
            return None

        def _answer(self) -> None:
            if self.path.rstrip("/") == "/v2":
                self._reply(200, {"Content-Type": "application/json"}, b"{}")
                return
            found = self._route()
            if found is None:
                self._reply(404, {"Content-Type": "application/json"}, _error("NAME_UNKNOWN"))
                return
            route, suffix = found
            if suffix.startswith("manifests/"):
                self._manifest(route, suffix)
            else:
                self._blob(route, suffix)

        def _manifest(self, route: Route, suffix: str) -> None:
            answer = relay.client.session.send(self.command, route.source, suffix)
            if answer is None:
                self._reply(502, {}, _error("UNREACHABLE"))
                return
            if answer.status_code == 200 and self.command == "GET":
                relay.before_manifest(route, answer.content)
            self._reply(answer.status_code, _passed(answer), answer.content)

        def _blob(self, route: Route, suffix: str) -> None:
            digest = suffix.partition("/")[2]
            sent = [False]

            def sink(upstream: Any) -> None:
                self.send_response(200)
                for key in ("Content-Type", "Content-Length", "Docker-Content-Digest"):
                    if upstream.getheader(key):
                        self.send_header(key, upstream.getheader(key))
                if not upstream.getheader("Content-Length"):  # framed by the connection's end
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                sent[0] = True
                while chunk := upstream.read(_CHUNK):
                    if self.command != "HEAD":
                        self.wfile.write(chunk)

            answer = relay.client.session.send(self.command, route.source, suffix, sink=sink)
            if answer is not None and answer.status_code in (301, 302, 303, 307, 308):
                location = answer.headers.get("location", "")
                plain = relay.client.session.client(verify=not route.source.insecure)
                answer = plain.request(self.command, location, sink=sink)  # its own signature
            if sent[0]:
                if self.command == "GET":
                    relay.pulled(route, digest)
                return
            if answer is None:
                self._reply(502, {}, _error("UNREACHABLE"))
                return
            self._reply(answer.status_code, _passed(answer), answer.content)

        do_GET = do_HEAD = _answer

    return Handler


def _passed(answer: Response) -> dict[str, str]:
    return {
        key: value
        for key in ("Content-Type", "Docker-Content-Digest", "Location", "Retry-After")
        if (value := answer.headers.get(key))
    }


def _error(code: str) -> bytes:
    return json.dumps({"errors": [{"code": code, "message": code.lower()}]}).encode()
