"""Which hosts skopeo reads an image from: the mirrors of a containers-registries.conf (v2).

Only what decides the pull sources is read: `[[registry]]` entries with `prefix`, `location`,
`insecure`, `blocked`, `mirror-by-digest-only` and their `[[registry.mirror]]` entries.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from syncer.errors import UsageError
from syncer.reference import Reference

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass(frozen=True)
class Endpoint:
    """One place to read from: `host` serves the repository `path`."""

    host: str
    path: str
    insecure: bool


@dataclass(frozen=True)
class _Entry:
    prefix: str
    location: str
    insecure: bool
    blocked: bool
    digest_only: bool
    mirrors: tuple[tuple[str, bool, bool], ...]  # location, insecure, digest only


def _matches(prefix: str, name: str) -> bool:
    return name == prefix or name.startswith(prefix + "/")


def _split(location: str, rest: str) -> tuple[str, str]:
    host, _, base = location.partition("/")
    return host, f"{base}/{rest}".strip("/") if base else rest


class RegistriesConf:
    def __init__(self, entries: list[_Entry] | None = None):
        self.entries = entries or []

    @classmethod
    def load(cls, path: str | None) -> RegistriesConf:
        if not path:
            return cls()
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise UsageError(f"registries_conf {path}: cannot be read: {exc}") from None
        return cls([cls._entry(item) for item in data.get("registry", [])])

    @staticmethod
    def _entry(item: dict[str, object]) -> _Entry:
        location = str(item.get("location", ""))
        digest_only = bool(item.get("mirror-by-digest-only", False))
        mirrors = tuple(
            (
                str(m.get("location", "")),
                bool(m.get("insecure", False)),
                digest_only or m.get("pull-from-mirror") == "digest-only",
            )
            for m in item.get("mirror", [])  # type: ignore[attr-defined]
            if isinstance(m, dict)
        )
        return _Entry(
            prefix=str(item.get("prefix") or location),
            location=location,
            insecure=bool(item.get("insecure", False)),
            blocked=bool(item.get("blocked", False)),
            digest_only=digest_only,
            mirrors=mirrors,
        )

    def _entry_for(self, name: str) -> _Entry | None:
        found = [e for e in self.entries if e.prefix and _matches(e.prefix, name)]
        return max(found, key=lambda e: len(e.prefix)) if found else None

    def endpoints(self, ref: Reference) -> list[Endpoint]:
        """Where skopeo would try to read `ref`, in order: mirrors first, then the registry."""
        entry = self._entry_for(ref.name)
        if entry is None:
            return [Endpoint(ref.domain, ref.path, False)]
        rest = ref.name[len(entry.prefix) :].strip("/")
        out = [
            Endpoint(*_split(location, rest), insecure)
            for location, insecure, digest_only in entry.mirrors
            if location and (ref.digest is not None or not digest_only)
        ]
        if not entry.blocked:
            out.append(Endpoint(*_split(entry.location or entry.prefix, rest), entry.insecure))
        return out

    def is_insecure(self, host: str) -> bool:
        return any(e.insecure and e.location.split("/")[0] == host for e in self.entries)
