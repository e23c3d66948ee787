"""Registry credentials, found as containers/image (and so skopeo) finds them.

Files: the `authfile` (skopeo's `--authfile`, else `REGISTRY_AUTH_FILE`) alone; or else
`$XDG_RUNTIME_DIR/containers/auth.json` (`/run/containers/UID/auth.json`),
`$XDG_CONFIG_HOME/containers/auth.json`, `$DOCKER_CONFIG/config.json` (`~/.docker/config.json`)
and the legacy `~/.dockercfg`, in that order. registries.conf's `credential-helpers` say
whether those files are read (`containers-auth.json`) and which helpers are asked, in order.

In a file: a `credHelpers` entry for the registry first; then `auths` keys from the most
specific (`quay.io/org/app`, `quay.io/org`) to the host; then keys written as URLs or Docker
Hub aliases (`https://index.docker.io/v1/`, `registry-1.docker.io`). `auth` (base64
user:password) and `identitytoken` are read, nothing else; `credsStore` is not, as skopeo
does not. A key that cannot be used is no credential: syncer then asks anonymously, and an
answer it cannot get means a copy, never a skip. Nothing here is ever printed.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from syncer import process
from syncer.errors import UsageError

AUTH_FILES_HELPER = "containers-auth.json"
_HUB_NAMES = ("registry-1.docker.io", "docker.io")


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)
    identity_token: str = field(default="", repr=False)  # an OAuth2 refresh token


@dataclass(frozen=True)
class AuthFile:
    path: Path
    legacy: bool = False  # ~/.dockercfg: the `auths` object alone, keys are URLs


@dataclass(frozen=True)
class Found:
    """Credentials and where they came from (a file and key, or a helper): never the secret."""

    credentials: Credentials
    source: str


def default_auth_files(
    environ: Mapping[str, str] = os.environ, home: Path | None = None, uid: int | None = None
) -> list[AuthFile]:
    """Where skopeo looks when no auth file is given, in its order."""
    if environ.get("REGISTRY_AUTH_FILE"):
        return [AuthFile(Path(environ["REGISTRY_AUTH_FILE"]))]
    home = home or Path(environ.get("HOME") or Path.home())
    runtime_dir = environ.get("XDG_RUNTIME_DIR")
    files = []
    if runtime_dir:
        if Path(runtime_dir).is_dir():  # a missing one is skipped, as skopeo warns and skips
            files.append(AuthFile(Path(runtime_dir) / "containers" / "auth.json"))
    else:
        files.append(
            AuthFile(Path(f"/run/containers/{os.getuid() if uid is None else uid}/auth.json"))
        )
    config_home = Path(environ.get("XDG_CONFIG_HOME") or home / ".config")
    files.append(AuthFile(config_home / "containers" / "auth.json"))
    docker = environ.get("DOCKER_CONFIG")
    files.append(
        AuthFile(Path(docker) / "config.json" if docker else home / ".docker" / "config.json")
    )
    files.append(AuthFile(home / ".dockercfg", legacy=True))
    return files


def normalize_registry(registry: str) -> str:
    return "index.docker.io" if registry in _HUB_NAMES else registry


def normalize_key(key: str, legacy: bool) -> str:
    """An `auths` key as a registry host: scheme and path dropped, Docker Hub folded."""
    stripped = key.removeprefix("http://").removeprefix("https://")
    if legacy or stripped != key:
        stripped = stripped.partition("/")[0]
    return normalize_registry(stripped)


def lookup_order(key: str, legacy: bool) -> Iterator[str]:
    """`quay.io/a/b` -> `quay.io/a/b`, `quay.io/a`, `quay.io` (a legacy file: the host only)."""
    if legacy:
        yield key.partition("/")[0]
        return
    while True:
        yield key
        if "/" not in key:
            return
        key = key.rpartition("/")[0]


def key_problem(key: str) -> str | None:
    """Why `key` is no valid lookup key (a repository, a namespace or a host), or None."""
    if key.startswith(("http://", "https://")):
        return f"key {key} contains http[s]:// prefix"
    if "@" in key:
        return f"key {key} contains a '@' character"
    _, slash, rest = key.partition("/")
    if slash and ":" in rest:
        return f"key {key} contains a ':' character after host[:port]"
    return None


def decode(entry: Mapping[str, Any]) -> Credentials | None:
    """An `auths` entry; None for an entry without usable `user:password` (as Docker skips)."""
    try:
        decoded = base64.b64decode(str(entry.get("auth") or ""), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, password = decoded.partition(":")
    if not colon:
        return None
    return Credentials(user, password.strip("\0"), str(entry.get("identitytoken") or ""))


Helper = Callable[[str, str], Credentials | None]


def run_helper(helper: str, registry: str) -> Credentials | None:
    """`docker-credential-HELPER get`: a `<token>` user means an identity token."""
    try:
        done = process.run((f"docker-credential-{helper}", "get"), input=registry, timeout=30)
    except process.ProgramNotFound:
        return None
    if not done.ok:
        return None
    try:
        data = json.loads(done.stdout)
    except ValueError:
        return None
    user, secret = data.get("Username"), data.get("Secret")
    if not isinstance(user, str) or not isinstance(secret, str) or not secret:
        return None
    return Credentials("", "", secret) if user == "<token>" else Credentials(user, secret)


def _parse(path: AuthFile) -> dict[str, Any]:
    try:
        data = json.loads(path.path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"auth file {path.path}: cannot be read (unmarshaling JSON: {exc.__class__.__name__})"
        ) from None
    if not isinstance(data, dict):
        raise UsageError(f"auth file {path.path}: cannot be read (not a JSON object)")
    if path.legacy:
        return {"auths": data}
    return data


class DockerAuth:
    def __init__(
        self,
        files: list[AuthFile],
        helpers: list[str] | None = None,
        run: Helper = run_helper,
    ):
        self.files = [(f, _parse(f)) for f in files]
        self.helpers = helpers or [AUTH_FILES_HELPER]
        self._run = run

    @classmethod
    def from_authfile(cls, authfile: str | None, helpers: list[str] | None = None) -> DockerAuth:
        files = [AuthFile(Path(authfile).expanduser())] if authfile else default_auth_files()
        return cls(files, helpers)

    def lookup(self, key: str) -> Found | None:
        """The credentials skopeo would use for `key` (a repository name such as
        `quay.io/org/app`, or a host), and where they come from."""
        if key_problem(key):
            return None
        registry = key.partition("/")[0]
        for helper in self.helpers:
            if helper == AUTH_FILES_HELPER:
                found = self._in_files(key, registry)
            else:
                creds = self._run(helper, registry)
                found = Found(creds, f"credential helper {helper}") if creds else None
            if found is not None:
                return found
        return None

    def for_reference(self, name: str) -> Credentials | None:
        found = self.lookup(name)
        return found.credentials if found else None

    def _in_files(self, key: str, registry: str) -> Found | None:
        for path, data in self.files:
            found = self._in_file(path, data, key, registry)
            if found is not None:
                return found
        return None

    def _in_file(
        self, path: AuthFile, data: dict[str, Any], key: str, registry: str
    ) -> Found | None:
        helpers = data.get("credHelpers")
        if isinstance(helpers, dict) and isinstance(helpers.get(registry), str):
            # The file's helper for this registry decides, found or not.
            creds = self._run(helpers[registry], registry)
            return Found(creds, f"{path.path}: credHelpers {registry}") if creds else None
        auths = data.get("auths")
        if not isinstance(auths, dict):
            return None
        for candidate in lookup_order(key, path.legacy):
            if isinstance(auths.get(candidate), dict):
                return self._decoded(path, candidate, auths[candidate])
        wanted = normalize_registry(registry)
        for candidate, entry in auths.items():
            if normalize_key(candidate, path.legacy) == wanted and isinstance(entry, dict):
                return self._decoded(path, candidate, entry)
        return None

    @staticmethod
    def _decoded(path: AuthFile, key: str, entry: Mapping[str, Any]) -> Found | None:
        creds = decode(entry)
        return Found(creds, f"{path.path}: auths {key}") if creds else None
