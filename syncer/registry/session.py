"""A registry session: each request with its scheme, its token and its back-off.

The first request to a host finds its scheme (https, then http for an insecure one, as skopeo
does); a 401 is answered with the distribution token flow or Basic credentials from the docker
config (see challenge.py); HTTP 429 backs the whole run off. Every request of a thread ends by
that thread's deadline (the image it works on), and `at_once` makes an image's independent
requests together. Whenever it cannot tell, it says so (None): callers then copy, never skip
on doubt.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from syncer.containers.auth import DockerAuth
from syncer.containers.pull_sources import Endpoint
from syncer.registry.challenge import authorization
from syncer.registry.http import Client, HTTPError, Response, Sink
from syncer.registry.once import OncePerKey
from syncer.registry.quota import Quota
from syncer.registry.throttle import Throttle, is_rate_limited, retry_after

MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
_API_HOSTS = {"docker.io": "registry-1.docker.io"}
_UNREACHABLE = ""  # a host's scheme when neither answered: for this run, cannot tell (copy)
Log = Callable[[str], None]


class Session:
    def __init__(
        self,
        *,
        auth: DockerAuth,
        log: Log = lambda _: None,
        timeout: float = 15.0,
        max_tries: int = 6,
    ):
        self.auth = auth
        self.throttle = Throttle(log)
        self.quota = Quota()  # pulls left at each registry that says
        self.max_tries = max_tries
        self._timeout = timeout
        self._clients: dict[bool, Client] = {}  # by "verify TLS", made when first needed
        self._tokens: dict[tuple[str, str], str] = {}
        self._schemes: OncePerKey[str, str] = OncePerKey()  # by host: https, http or unreachable
        self._lock = threading.Lock()
        self._local = threading.local()  # per thread: the deadline of the image it works on
        self._pool: ThreadPoolExecutor | None = None  # for at_once, made when first needed

    @contextmanager
    def deadline(self, when: float) -> Iterator[None]:
        """Requests made by this thread inside the block end by `when` (time.monotonic())."""
        before = getattr(self._local, "deadline", None)
        self._local.deadline = when
        try:
            yield
        finally:
            self._local.deadline = before

    def time_left(self) -> float | None:
        """The timeout for the next request; None when this thread's deadline has passed."""
        deadline = getattr(self._local, "deadline", None)
        if deadline is None:
            return self._timeout
        left = deadline - time.monotonic()
        return min(self._timeout, left) if left > 0 else None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        for client in self._clients.values():
            client.close()

    def at_once(self, *calls: Callable[[], Any]) -> list[Any]:
        """Independent requests of one image made together, so their round trips overlap,
        within the calling thread's deadline. Each call must be one request or a chain of
        them, never another `at_once` (the pool's threads would wait on themselves)."""
        if len(calls) < 2:
            return [call() for call in calls]
        deadline = getattr(self._local, "deadline", None)

        def under_deadline(call: Callable[[], Any]) -> Any:
            self._local.deadline = deadline
            return call()

        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=128, thread_name_prefix="ask")
            pool = self._pool
        futures = [pool.submit(under_deadline, call) for call in calls[1:]]
        return [calls[0](), *(future.result() for future in futures)]

    def client(self, *, verify: bool) -> Client:
        with self._lock:
            if verify not in self._clients:
                # verify=False only for hosts named insecure (or insecure in registries.conf).
                self._clients[verify] = Client(timeout=self._timeout, verify=verify)
            return self._clients[verify]

    def send(
        self,
        method: str,
        endpoint: Endpoint,
        suffix: str,
        content: tuple[bytes, str] | None = None,
        *,
        push: bool = False,
        delete: bool = False,
        sink: Sink | None = None,
    ) -> Response | None:
        """One request with auth and rate-limit handling; None when the host cannot be reached.
        `suffix` follows `/v2/<repository>/`, or is a whole path (an upload's location)."""
        host = _API_HOSTS.get(endpoint.host, endpoint.host)
        actions = "delete" if delete else "pull,push" if content or push else "pull"
        scope = f"repository:{endpoint.path}:{actions}"
        url_path = suffix if suffix.startswith("/") else f"/v2/{endpoint.path}/{suffix}"
        for attempt in range(self.max_tries):
            self.throttle.wait()
            sent = self._tokens.get((host, scope))
            response = self._request(method, endpoint, host, url_path, scope, content, sink)
            if response is None:
                return None
            if response.status_code == 401 and self._authorize(
                endpoint, host, scope, response, sent
            ):
                response = self._request(method, endpoint, host, url_path, scope, content, sink)
                if response is None:
                    return None
            self.quota.observe(endpoint.host, response)
            if is_rate_limited(response):
                self.throttle.back_off(host, attempt, retry_after(response))
                continue
            return response
        self.quota.out_of_pulls(endpoint.host)
        return None

    def _request(
        self,
        method: str,
        endpoint: Endpoint,
        host: str,
        path: str,
        scope: str,
        content: tuple[bytes, str] | None = None,
        sink: Sink | None = None,
    ) -> Response | None:
        headers = {"Accept": ", ".join(MANIFEST_TYPES)}
        if content:
            headers["Content-Type"] = content[1]
        token = self._tokens.get((host, scope))
        if token:
            headers["Authorization"] = token
        client = self.client(verify=not endpoint.insecure)
        first: list[Response | None] = []  # the answer of the request that found the scheme

        def discover() -> str | None:
            # The first request to a host finds its scheme (https, then http for an insecure
            # one, as skopeo does); the others wait for that instead of each trying too.
            schemes = ["https", "http"] if endpoint.insecure else ["https"]
            response, scheme = self._try(
                client, method, schemes, host, path, headers, content, sink
            )
            first.append(response)
            return scheme

        scheme = self._schemes.get(host, discover)
        if first:
            return first[0]
        if not scheme:  # unreachable, or this image's time ran out before an answer
            return None
        return self._try(client, method, [scheme], host, path, headers, content, sink)[0]

    def _try(
        self,
        client: Client,
        method: str,
        schemes: list[str],
        host: str,
        path: str,
        headers: dict[str, str],
        content: tuple[bytes, str] | None = None,
        sink: Sink | None = None,
    ) -> tuple[Response | None, str | None]:
        """The first answer, and the scheme that gave it; (None, None) when this image's time
        is up (the host is not blamed), (None, unreachable) when no scheme answered."""
        for scheme in schemes:
            timeout = self.time_left()
            if timeout is None:
                return None, None
            try:
                response = client.request(
                    method,
                    f"{scheme}://{host}{path}",
                    headers=headers,
                    timeout=timeout,
                    content=content[0] if content else None,
                    sink=sink,
                )
            except HTTPError:
                continue
            return response, scheme
        return None, _UNREACHABLE

    def _authorize(
        self, endpoint: Endpoint, host: str, scope: str, response: Response, sent: str | None
    ) -> bool:
        """Answer a 401's challenge; True when there is an Authorization to try other than
        the one `sent` with the refused request (another thread may have fetched the same
        token meanwhile: that one is still new to this request)."""
        value = authorization(
            response.headers.get("www-authenticate", ""),
            scope,
            self.auth.for_reference(endpoint.location),
            self.client(verify=True),
            self.time_left() or 0.001,
        )
        if value is None or value == sent:
            return False  # nothing to answer with, or the same was refused already: no loop
        self._tokens[(host, scope)] = value
        return True
