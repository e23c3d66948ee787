"""The HTTP client (stdlib http.client): kept-alive connections, and the environment's proxies
as skopeo and curl use them, against a real registry and a real forward proxy."""

from __future__ import annotations

import contextlib
import http.client
import http.server
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from syncer.registry.http import Client, HTTPError
from testing.registry import Registry, self_signed_certificate

pytestmark = pytest.mark.integration


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)


class _ForwardProxy(http.server.ThreadingHTTPServer):
    """A plain-HTTP forward proxy: requests come with absolute URLs, are passed on, and
    written down."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.credentials: list[str | None] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _relay(self) -> None:
                outer.seen.append(f"{self.command} {self.path}")
                outer.credentials.append(self.headers.get("Proxy-Authorization"))
                target = urlsplit(self.path)
                upstream = http.client.HTTPConnection(target.netloc, timeout=10)
                upstream.request(self.command, target.path, headers=dict(self.headers))
                answer = upstream.getresponse()
                body = answer.read()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("connection", "transfer-encoding"):
                        self.send_header(name, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)
                upstream.close()

            do_GET = do_HEAD = _relay

            def do_CONNECT(self) -> None:  # a tunnel for HTTPS: bytes both ways, unread
                outer.seen.append(f"CONNECT {self.path}")
                outer.credentials.append(self.headers.get("Proxy-Authorization"))
                host, _, port = self.path.rpartition(":")
                upstream = socket.create_connection((host, int(port)), timeout=10)
                self.send_response(200)
                self.end_headers()
                pipes = [
                    threading.Thread(target=_pipe, args=(self.connection, upstream), daemon=True),
                    threading.Thread(target=_pipe, args=(upstream, self.connection), daemon=True),
                ]
                for pipe in pipes:
                    pipe.start()
                for pipe in pipes:
                    pipe.join(timeout=10)
                upstream.close()

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def proxy() -> Iterator[_ForwardProxy]:
    server = _ForwardProxy()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_requests_go_through_http_proxy_unless_no_proxy_names_the_host(
    destination: Registry, proxy: _ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://{destination.host}/v2/"
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", proxy.url.replace("http://", "http://user:p%40ss@"))
    client = Client()
    assert client.get(url).status_code == 200
    assert client.request("HEAD", url).status_code == 200
    assert proxy.seen == [f"GET {url}", f"HEAD {url}"]
    assert proxy.credentials == ["Basic dXNlcjpwQHNz"] * 2  # user:p@ss
    client.close()
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    direct = Client()
    assert direct.get(url).status_code == 200
    assert len(proxy.seen) == 2  # not through the proxy
    direct.close()


def test_a_kept_alive_connection_is_reused_and_an_unreachable_host_is_an_error(
    destination: Registry,
) -> None:
    client = Client(timeout=5)
    for _ in range(3):
        assert client.get(f"http://{destination.host}/v2/").status_code == 200
    assert len(client._all) == 1  # one connection for the three requests
    with pytest.raises(HTTPError):
        client.get("http://127.0.0.1:9/v2/")  # nothing listens on the discard port
    client.close()


def test_https_goes_through_a_connect_tunnel_with_tls_to_the_registry_itself(
    tmp_path: Path, start_registry: Callable[..., Registry], proxy: _ForwardProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    registry = start_registry("tls", tls=self_signed_certificate(tmp_path))
    for name in ("http_proxy", "HTTP_PROXY", "no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("https_proxy", proxy.url.replace("http://", "http://user:pw@"))
    insecure = Client(verify=False)  # the certificate is self-signed: TLS on, not verified
    assert insecure.get(f"https://{registry.host}/v2/").status_code == 200
    assert proxy.seen == [f"CONNECT {registry.host}"]
    assert proxy.credentials == ["Basic dXNlcjpwdw=="]  # user:pw, to the proxy only
    insecure.close()
    with pytest.raises(HTTPError):  # verified, the self-signed certificate is refused
        Client().get(f"https://{registry.host}/v2/")
