"""Registry credentials from the docker `config.json` that skopeo uses too.

`auths` entries (base64 `auth`, or `username`/`password`), `credHelpers` and `credsStore`
through `docker-credential-<name> get`. Nothing here is ever printed.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from syncer import process
from syncer.errors import UsageError

# Docker Hub is known by several names in config files.
_ALIASES = {"docker.io": ("docker.io", "index.docker.io", "registry-1.docker.io")}


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)


def default_auth_files(environ: dict[str, str] | os._Environ[str] = os.environ) -> list[Path]:
    """Where skopeo looks when no auth file is given, in its order."""
    paths = []
    if environ.get("REGISTRY_AUTH_FILE"):
        return [Path(environ["REGISTRY_AUTH_FILE"])]
    if environ.get("XDG_RUNTIME_DIR"):
        paths.append(Path(environ["XDG_RUNTIME_DIR"]) / "containers" / "auth.json")
    home = Path(environ.get("HOME", "~")).expanduser()
    paths += [home / ".config" / "containers" / "auth.json", home / ".docker" / "config.json"]
    return paths


def _normalize_key(key: str) -> str:
    key = key.removeprefix("https://").removeprefix("http://")
    for suffix in ("/v1/", "/v1", "/v2/", "/v2"):
        key = key.removesuffix(suffix)
    return key.rstrip("/")


def _decode(entry: dict[str, Any]) -> Credentials | None:
    if entry.get("auth"):
        try:
            user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        return Credentials(user, password) if user else None
    if entry.get("username"):
        return Credentials(entry["username"], entry.get("password", ""))
    return None


class DockerAuth:
    def __init__(self, files: list[Path]):
        self.configs: list[dict[str, Any]] = []
        for path in files:
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                continue
            except (OSError, ValueError) as exc:
                raise UsageError(
                    f"auth file {path}: cannot be read ({exc.__class__.__name__})"
                ) from None
            if isinstance(data, dict):
                self.configs.append(data)

    @classmethod
    def from_authfile(cls, authfile: str | None) -> DockerAuth:
        return cls([Path(authfile).expanduser()] if authfile else default_auth_files())

    def for_host(self, host: str) -> Credentials | None:
        names = _ALIASES.get(host, (host,))
        for config in self.configs:
            helper = (config.get("credHelpers") or {}).get(host) or config.get("credsStore")
            if helper:
                found = _from_helper(str(helper), host)
                if found:
                    return found
            for key, entry in (config.get("auths") or {}).items():
                if _normalize_key(key) in names and isinstance(entry, dict):
                    found = _decode(entry)
                    if found:
                        return found
        return None


def _from_helper(helper: str, host: str) -> Credentials | None:
    try:
        done = process.run((f"docker-credential-{helper}", "get"), input=host, timeout=30)
    except process.ProgramNotFound:
        return None
    if not done.ok:
        return None
    try:
        data = json.loads(done.stdout)
    except ValueError:
        return None
    user, secret = data.get("Username"), data.get("Secret")
    return Credentials(user, secret) if user and secret else None
