"""An HTTP reverse proxy in front of a real registry, that can misbehave on purpose.

Faults: answer HEAD without `Docker-Content-Digest` (a registry that cannot tell), refuse HEAD
(405), answer the first N manifest requests with 429 and a Retry-After, or refuse chosen
requests (`Refusal`: by method, path and Content-Type, the first N per repository). With
`pull_quota`, it is Docker Hub's pull limit: every manifest answer (HEAD too) says
`ratelimit-limit` and `ratelimit-remaining` (`N;w=21600`), each manifest GET counts one, HEADs
count nothing, and a GET with none left is a 429.
"""

from __future__ import annotations

import http.client
import re
import threading
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from testing.registry import free_port

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}
_REPOSITORY = re.compile(r"^/v2/(.+?)/(?:manifests|blobs|tags)/")


def request_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The request body, de-chunked (skopeo and git send some bodies chunked)."""
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        data = b""
        while True:
            size = int(handler.rfile.readline().strip(), 16)
            if size == 0:
                handler.rfile.readline()
                return data
            data += handler.rfile.read(size)
            handler.rfile.readline()
    return handler.rfile.read(int(handler.headers.get("Content-Length") or 0))


@dataclass(frozen=True)
class Refusal:
    """Answer `status` to the first `times` matching requests of each repository."""

    method: str
    path: str = ""  # a regular expression searched in the request path
    content_type: str = ""  # a substring of the request's Content-Type
    times: int = 1
    status: int = 500

    def matches(self, method: str, path: str, content_type: str) -> bool:
        return (
            method == self.method
            and re.search(self.path, path) is not None
            and self.content_type in content_type
        )


class FaultyProxy:
    def __init__(
        self,
        upstream: str,
        *,
        head_without_digest: bool = False,
        refuse_head: bool = False,
        rate_limit_first: int = 0,
        tags_per_page: int = 0,  # >0: split tag lists into pages with a Link header
        retry_after: str = "1",
        token_auth: bool = False,
        basic_credentials: str | None = None,
        refusals: tuple[Refusal, ...] = (),
        refresh_token: str | None = None,
        pull_quota: int | None = None,
        quota_window: int = 21600,
    ):
        self.upstream = upstream
        self.head_without_digest = head_without_digest
        self.refuse_head = refuse_head
        self.rate_limit_left = rate_limit_first
        self.retry_after = retry_after
        # Distribution token flow: /v2/ wants a Bearer token that /token hands out (to
        # anybody, or only to `basic_credentials` "user:password").
        self.token_auth = token_auth
        self.basic_credentials = basic_credentials
        self.refresh_token = refresh_token  # POST /token with this OAuth2 refresh token works
        self.refusals = refusals
        self.pulls_left = pull_quota  # None: no pull limit
        self.pull_limit = pull_quota or 0
        self.quota_window = quota_window
        self.tags_per_page = tags_per_page
        self.refused: Counter[tuple[Refusal, str]] = Counter()  # by rule and repository
        self.port = free_port()
        self.requests: list[tuple[str, str, int]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> FaultyProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FaultyProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset_quota(self, pulls: int) -> None:
        """The window moved on: `pulls` are left again."""
        with self._lock:
            self.pulls_left = pulls

    def quota_headers(self, path: str) -> dict[str, str]:
        if self.pulls_left is None or "/manifests/" not in path:
            return {}
        window = self.quota_window
        return {
            "ratelimit-limit": f"{self.pull_limit};w={window}",
            "ratelimit-remaining": f"{max(0, self.pulls_left)};w={window}",
            "docker-ratelimit-source": "127.0.0.1",
        }

    def count(self, method: str, kind: str = "manifests") -> int:
        return sum(1 for m, path, _ in self.requests if m == method and f"/{kind}/" in path)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _answer(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
                with proxy._lock:
                    proxy.requests.append((self.command, self.path, status))
                self.send_response(status)
                for key, value in {**headers, **proxy.quota_headers(self.path)}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _token_endpoint(self) -> None:
                import base64
                import json

                if self.command == "POST":  # OAuth2: an identity token as a refresh token
                    from urllib.parse import parse_qs

                    form = parse_qs(self._body().decode())
                    good = (
                        proxy.refresh_token is not None
                        and form.get("grant_type") == ["refresh_token"]
                        and form.get("refresh_token") == [proxy.refresh_token]
                    )
                    body = json.dumps({"access_token": "good-token"}).encode()
                    self._answer(200 if good else 401, {"Content-Type": "application/json"}, body)
                    return
                expected = proxy.basic_credentials
                given = self.headers.get("Authorization", "")
                if expected and given != "Basic " + base64.b64encode(expected.encode()).decode():
                    self._answer(401, {"WWW-Authenticate": 'Basic realm="token"'})
                    return
                self._answer(
                    200,
                    {"Content-Type": "application/json"},
                    json.dumps({"token": "good-token"}).encode(),
                )

            def _needs_token(self) -> bool:
                if not proxy.token_auth or self.headers.get("Authorization") == "Bearer good-token":
                    return False
                challenge = f'Bearer realm="http://{proxy.host}/token",service="proxy"'
                self._answer(
                    401, {"WWW-Authenticate": challenge}, b'{"errors":[{"code":"UNAUTHORIZED"}]}'
                )
                return True

            def _refused(self) -> bool:
                match = _REPOSITORY.match(self.path)
                repository = match.group(1) if match else ""
                content_type = self.headers.get("Content-Type", "")
                for rule in proxy.refusals:
                    if not rule.matches(self.command, self.path, content_type):
                        continue
                    with proxy._lock:
                        refuse = proxy.refused[rule, repository] < rule.times
                        proxy.refused[rule, repository] += int(refuse)
                    if refuse:
                        self._drain()
                        body = (
                            b'{"errors":[{"code":"UNKNOWN","message":"refused by the test proxy"}]}'
                        )
                        self._answer(rule.status, {"Content-Type": "application/json"}, body)
                        return True
                return False

            def _drain(self) -> None:
                self._body()

            def _body(self) -> bytes:
                return request_body(self)

            def _paginated_tags(self) -> bool:
                """As Docker Hub, Harbor and quay.io: `n` tags a page, `Link` to the next."""
                import json
                from urllib.parse import parse_qs, urlencode, urlparse

                url = urlparse(self.path)
                if not proxy.tags_per_page or not url.path.endswith("/tags/list"):
                    return False
                conn = http.client.HTTPConnection(proxy.upstream, timeout=30)
                try:
                    conn.request("GET", url.path)
                    everything = json.loads(conn.getresponse().read())
                finally:
                    conn.close()
                tags = sorted(everything.get("tags") or [])
                last = parse_qs(url.query).get("last", [""])[0]
                rest = [t for t in tags if t > last] if last else tags
                page, more = rest[: proxy.tags_per_page], rest[proxy.tags_per_page :]
                headers = {"Content-Type": "application/json"}
                if more:
                    query = urlencode({"n": proxy.tags_per_page, "last": page[-1]})
                    headers["Link"] = f'<{url.path}?{query}>; rel="next"'
                body = json.dumps({"name": everything.get("name"), "tags": page}).encode()
                self._answer(200, headers, body)
                return True

            def _fault(self) -> bool:
                if self._refused():
                    return True
                if self.command == "GET" and self._paginated_tags():
                    return True
                if self.path.startswith("/token"):
                    self._token_endpoint()
                    return True
                if self._needs_token():
                    return True
                if "/manifests/" in self.path and self._out_of_pulls():
                    body = b'{"errors":[{"code":"TOOMANYREQUESTS","message":"toomanyrequests: You have reached your pull rate limit"}]}'
                    self._answer(429, {"Content-Type": "application/json"}, body)
                    return True
                if "/manifests/" in self.path:
                    with proxy._lock:
                        limited = proxy.rate_limit_left > 0
                        proxy.rate_limit_left -= int(limited)
                    if limited:
                        body = b'{"errors":[{"code":"TOOMANYREQUESTS","message":"toomanyrequests: slow down"}]}'
                        self._answer(429, {"Retry-After": proxy.retry_after}, body)
                        return True
                    if self.command == "HEAD" and proxy.refuse_head:
                        self._answer(405, {})
                        return True
                return False

            def _out_of_pulls(self) -> bool:
                """A manifest GET counts one pull (HEADs none); with none left it is refused."""
                if proxy.pulls_left is None or self.command != "GET":
                    return False
                with proxy._lock:
                    if proxy.pulls_left <= 0:
                        return True
                    proxy.pulls_left -= 1
                return False

            def _forward(self) -> None:
                if self._fault():
                    return
                has_body = "Content-Length" in self.headers or "Transfer-Encoding" in self.headers
                body = self._body() if has_body else None
                conn = http.client.HTTPConnection(proxy.upstream, timeout=30)
                try:
                    # Header by header: a client may send several Accept headers.
                    conn.putrequest(
                        self.command, self.path, skip_host=True, skip_accept_encoding=True
                    )
                    for key, value in self.headers.items():
                        if key.lower() not in _HOP_BY_HOP | {"content-length"}:
                            conn.putheader(key, value)
                    if body is not None:
                        conn.putheader("Content-Length", str(len(body)))
                    conn.endheaders(body)
                    response = conn.getresponse()
                    data = response.read()
                    out = {
                        k: v
                        for k, v in response.getheaders()
                        if k.lower() not in _HOP_BY_HOP | {"content-length"}
                    }
                finally:
                    conn.close()
                if self.command == "HEAD":
                    if proxy.head_without_digest:
                        out = {k: v for k, v in out.items() if k.lower() != "docker-content-digest"}
                    with proxy._lock:
                        proxy.requests.append((self.command, self.path, response.status))
                    self.send_response(response.status)
                    for key, value in {**out, **proxy.quota_headers(self.path)}.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", response.getheader("Content-Length", "0"))
                    self.end_headers()
                    return
                self._answer(response.status, out, data)

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _forward

        return Handler
