"""The relay's HTTP side: skopeo's manifest and blob requests answered from the upstream
(see relay.py), bodies streamed through, never held whole."""

from __future__ import annotations

import contextlib
import json
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, cast

from syncer.registry.http import Response

if TYPE_CHECKING:
    from syncer.copy.relay import Relay, Route

_CHUNK = 1 << 20  # bytes read and written at a time: fewer rounds through Python


class RelayServer(ThreadingHTTPServer):
    """The relay's HTTP server on loopback: its handlers answer for `relay`."""

    daemon_threads = True

    def __init__(self, relay: Relay) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.relay = relay


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    @property
    def relay(self) -> Relay:
        return cast(RelayServer, self.server).relay

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

    def _unreachable(self) -> None:
        """The upstream gave no answer: neither does the relay (the connection ends), so
        skopeo fails as it would have, on the network (an HTTP error would read as other)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _route(self) -> tuple[Route, str] | None:
        """`/v2/r<N>/<path>/<manifests|blobs>/<ref>` -> (its route, `<kind>/<ref>`)."""
        parts = self.path.split("/", 3)
        if len(parts) < 4 or parts[1] != "v2" or not parts[2].startswith("r"):
            return None
        if not parts[2][1:].isdigit():
            return None
        route = self.relay.route_of(int(parts[2][1:]))
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
        answer = self.relay.client.session.send(self.command, route.source, suffix)
        if answer is None:
            self._unreachable()
            return
        if answer.status_code == 200 and self.command == "GET":
            self.relay.before_manifest(route, answer.content)
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

        answer = self.relay.client.session.send(self.command, route.source, suffix, sink=sink)
        if answer is not None and answer.status_code in (301, 302, 303, 307, 308):
            location = answer.headers.get("location", "")
            plain = self.relay.client.session.client(verify=not route.source.insecure)
            answer = plain.request(self.command, location, sink=sink)  # its own signature
        if sent[0]:
            if self.command == "GET":
                self.relay.pulled(route, digest)
            return
        if answer is None:
            self._unreachable()
            return
        self._reply(answer.status_code, _passed(answer), answer.content)

    do_GET = do_HEAD = _answer


def _passed(answer: Response) -> dict[str, str]:
    return {
        key: value
        for key in ("Content-Type", "Docker-Content-Digest", "Location", "Retry-After")
        if (value := answer.headers.get(key))
    }


def _error(code: str) -> bytes:
    return json.dumps({"errors": [{"code": code, "message": code.lower()}]}).encode()
