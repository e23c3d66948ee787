"""The HTTP client of the registry questions, on the standard library's http.client.

Connections are kept alive per thread and per host (a re-sync asks each registry hundreds of
small questions), TLS is verified unless the caller says otherwise, redirects are not followed
(the caller decides), and the environment's proxies are used as skopeo and curl use them
(`https_proxy`, `http_proxy`, `no_proxy`, upper or lower case). httpx did the same with a
costlier import and more CPU a request (README: Performance).
"""

from __future__ import annotations

import base64
import http.client
import json
import ssl
import threading
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from typing import Any, NamedTuple
from urllib.parse import unquote, urlencode, urlsplit

_RETRIED = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class HTTPError(Exception):
    """The request got no HTTP answer: no route, refused, reset, timed out, bad TLS."""


class SinkError(Exception):
    """The sink a body was streamed to failed (its reader went away): not the server's."""


# Takes a 200 answer's body as it arrives (a blob relayed to skopeo), instead of `content`.
Sink = Callable[[http.client.HTTPResponse], None]


@dataclass(frozen=True)
class Response:
    status_code: int
    headers: Message = field(default_factory=Message)  # case-insensitive .get()
    content: bytes = b""

    def json(self) -> Any:
        return json.loads(self.content)


def _headers(items: Mapping[str, str]) -> Message:
    message = Message()
    for name, value in items.items():
        message[name] = value
    return message


def response(
    status: int, headers: Mapping[str, str] | None = None, content: bytes = b""
) -> Response:
    """A Response made by hand (tests of what reads one)."""
    return Response(status, _headers(headers or {}), content)


class _Hop(NamedTuple):
    """A proxy: its host, port and Proxy-Authorization (from `http://user:pass@host:port`)."""

    host: str
    port: int | None
    credentials: dict[str, str]


def _hop(proxy: str) -> _Hop:
    url = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    credentials = {}
    if url.username:
        pair = f"{unquote(url.username)}:{unquote(url.password or '')}"
        credentials["Proxy-Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    return _Hop(url.hostname or "", url.port, credentials)


class Client:
    def __init__(self, *, verify: bool = True, timeout: float = 15.0) -> None:
        self.timeout = timeout
        self._context = ssl.create_default_context()
        if not verify:  # only for hosts named insecure (insecure_registries, registries.conf)
            self._context.check_hostname = False
            self._context.verify_mode = ssl.CERT_NONE
        self._local = threading.local()
        self._all: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._proxies = urllib.request.getproxies()
        self._routes: dict[tuple[str, str], _Hop | None] = {}

    def close(self) -> None:
        with self._lock:
            connections, self._all = self._all, []
        for connection in connections:
            connection.close()

    def get(self, url: str, *, params: Mapping[str, str] | None = None, **kwargs: Any) -> Response:
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params)
        return self.request("GET", url, **kwargs)

    def post(self, url: str, *, data: Mapping[str, str], **kwargs: Any) -> Response:
        headers = {**kwargs.pop("headers", {}), "Content-Type": "application/x-www-form-urlencoded"}
        return self.request(
            "POST", url, headers=headers, content=urlencode(data).encode(), **kwargs
        )

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        timeout: float | None = None,
        sink: Sink | None = None,
    ) -> Response:
        """One request; with a `sink`, a 200 answer's body goes to it as it arrives."""
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        hop = self._route(parts.scheme, parts.netloc)
        via_proxy = hop is not None and parts.scheme == "http"
        sending = dict(headers or {})
        if (
            hop is not None and via_proxy
        ):  # plain HTTP through a proxy: the full URL, its credentials
            sending.update(hop.credentials)
        for reused in (True, False):
            connection, fresh = self._connection(parts.scheme, parts.netloc, hop, reused)
            try:
                connection.timeout = timeout or self.timeout
                if connection.sock is not None:
                    connection.sock.settimeout(connection.timeout)
                connection.request(method, url if via_proxy else target, content, sending)
                answer = connection.getresponse()
                body = self._body(answer, sink)
            except _RETRIED as exc:
                self._drop(parts.scheme, parts.netloc, connection)
                if fresh:  # a kept-alive connection the server had closed: once more, anew
                    raise HTTPError(f"{parts.netloc}: {exc}") from None
                continue
            except (OSError, http.client.HTTPException, ValueError) as exc:
                self._drop(parts.scheme, parts.netloc, connection)
                raise HTTPError(f"{parts.netloc}: {exc}") from None
            if answer.will_close:
                self._drop(parts.scheme, parts.netloc, connection)
            return Response(answer.status, answer.headers, body)
        raise HTTPError(f"{parts.netloc}: connection closed")  # not reached: fresh raises

    @staticmethod
    def _body(answer: http.client.HTTPResponse, sink: Sink | None) -> bytes:
        if sink is None or answer.status != 200:
            return answer.read()
        try:
            sink(answer)
        except (OSError, ValueError) as exc:  # the reader went away: this connection is spent
            answer.close()
            raise SinkError(str(exc)) from exc
        return b""

    def _connection(
        self, scheme: str, netloc: str, hop: _Hop | None, reuse: bool
    ) -> tuple[http.client.HTTPConnection, bool]:
        """This thread's connection to `netloc` (made when there is none or `reuse` is
        False), and whether it is fresh."""
        pool: dict[tuple[str, str], http.client.HTTPConnection] = self._local.__dict__.setdefault(
            "pool", {}
        )
        key = (scheme, netloc)
        if reuse and key in pool:
            return pool[key], False
        connection = self._connect(scheme, netloc, hop)
        pool[key] = connection
        with self._lock:
            self._all.append(connection)
        return connection, True

    def _connect(self, scheme: str, netloc: str, hop: _Hop | None) -> http.client.HTTPConnection:
        if scheme not in ("http", "https"):
            raise HTTPError(f"{netloc}: unsupported scheme {scheme!r}")
        if hop is None:
            if scheme == "https":
                return http.client.HTTPSConnection(
                    netloc, timeout=self.timeout, context=self._context
                )
            return http.client.HTTPConnection(netloc, timeout=self.timeout)
        if scheme == "http":  # plain HTTP goes to the proxy with the full URL
            return http.client.HTTPConnection(hop.host, hop.port, timeout=self.timeout)
        connection = http.client.HTTPSConnection(
            hop.host, hop.port, timeout=self.timeout, context=self._context
        )
        # CONNECT (with the proxy's credentials), then TLS with the registry itself.
        connection.set_tunnel(netloc, headers=hop.credentials)
        return connection

    def _route(self, scheme: str, netloc: str) -> _Hop | None:
        """The proxy to reach `netloc` through, or None: decided once a host (no_proxy is
        parsed on each ask)."""
        key = (scheme, netloc)
        if key not in self._routes:
            proxy = self._proxies.get(scheme) or self._proxies.get("all")
            bypass = not proxy or urllib.request.proxy_bypass(netloc.rpartition("@")[2])
            self._routes[key] = None if bypass or not proxy else _hop(proxy)
        return self._routes[key]

    def _drop(self, scheme: str, netloc: str, connection: http.client.HTTPConnection) -> None:
        pool = self._local.__dict__.get("pool", {})
        if pool.get((scheme, netloc)) is connection:
            del pool[(scheme, netloc)]
        connection.close()
        with self._lock:
            if connection in self._all:
                self._all.remove(connection)
