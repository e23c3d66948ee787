"""A real CNCF distribution registry (Debian's `docker-registry`) on a free loopback port."""

from __future__ import annotations

import os
import re
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

REGISTRY_BIN = "docker-registry"
_ACCESS_LINE = re.compile(r'"(GET|HEAD|PUT|POST|PATCH|DELETE) (/v2/\S*) HTTP/[\d.]+" (\d+) (\d+)')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Registry:
    """One registry process with its own storage; its stdout (the access log) goes to a file."""

    def __init__(
        self,
        workdir: Path,
        *,
        htpasswd: Path | None = None,
        port: int | None = None,
        tls: tuple[Path, Path] | None = None,  # certificate, key: serve HTTPS
        deletes: bool = True,  # False: DELETE is refused (405 UNSUPPORTED), as by default
    ):
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.htpasswd = htpasswd
        self.tls = tls
        self.deletes = deletes
        self.port = port or free_port()
        self.access_log = workdir / "access.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _write_config(self) -> Path:
        auth = (
            f"auth: {{htpasswd: {{realm: test, path: {self.htpasswd}}}}}\n" if self.htpasswd else ""
        )
        tls = f", tls: {{certificate: {self.tls[0]}, key: {self.tls[1]}}}" if self.tls else ""
        config = self.workdir / "config.yml"
        config.write_text(
            "version: 0.1\n"
            "log: {level: error}\n"
            f"storage: {{filesystem: {{rootdirectory: {self.workdir / 'storage'}}}, "
            f"delete: {{enabled: {'true' if self.deletes else 'false'}}}}}\n"
            f"http: {{addr: {self.host}, secret: testsecret{tls}}}\n" + auth
        )
        return config

    def start(self, timeout: float = 10.0) -> Registry:
        config = self._write_config()
        with self.access_log.open("ab") as log:
            self.process = subprocess.Popen(
                [REGISTRY_BIN, "serve", str(config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: teardown kills all of it
            )
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"registry exited: {self.access_log.read_text()[-2000:]}")
            try:
                scheme = "https" if self.tls else "http"
                context = ssl._create_unverified_context() if self.tls else None  # noqa: S323
                url = f"{scheme}://{self.host}/v2/"  # always http(s) on loopback
                urllib.request.urlopen(url, timeout=1, context=context)  # noqa: S310
                return
            except urllib.error.HTTPError as exc:
                if exc.code == 401:  # password-protected: up and asking for credentials
                    return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"registry on {self.host} did not start within {timeout}s")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def __enter__(self) -> Registry:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # What reached the registry, from its access log.
    def requests(self) -> list[tuple[str, str, int]]:
        if not self.access_log.exists():
            return []
        text = self.access_log.read_text(errors="replace")
        return [(m[1], m[2], int(m[3])) for m in _ACCESS_LINE.finditer(text)]

    def count(self, method: str, kind: str, repo_contains: str = "") -> int:
        """Requests by method and kind ('manifests', 'blobs', 'tags') since the log began."""
        return sum(
            1
            for verb, path, _ in self.requests()
            if verb == method and f"/{kind}/" in path and repo_contains in path
        )

    def bytes_sent(self, method: str = "GET", kind: str = "blobs") -> int:
        """Bytes the registry answered with, by method and kind, since the log began."""
        if not self.access_log.exists():
            return 0
        text = self.access_log.read_text(errors="replace")
        return sum(
            int(m[4])
            for m in _ACCESS_LINE.finditer(text)
            if m[1] == method and f"/{kind}/" in m[2] and m[3] == "200"
        )

    def count_exact(self, method: str, path: str) -> int:
        """Requests for exactly this path, e.g. /v2/docker.io/library/alpine/manifests/3.19."""
        return sum(1 for verb, got, _ in self.requests() if verb == method and got == path)

    def clear_log(self) -> None:
        self.access_log.write_bytes(b"")


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that nobody trusts: what a TLS check must refuse."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key
