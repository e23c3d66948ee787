"""containers-registries.conf, read as containers/image (and so skopeo) reads it: one file's
`[[registry]]` entries, v1 lists, aliases and settings, checked as containers/image checks
them (a configuration it rejects is a `RegistriesConfError`), and merged with drop-ins.

Which files are read is `registries_files.py`; matching a reference to its entry and the pull
sources it gives are in `pull_sources.py`.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from syncer.containers.auth import AUTH_FILES_HELPER
from syncer.containers.shortnames import check_alias, search_registry_problem
from syncer.errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PULL_FROM_MIRROR = ("", "all", "digest-only", "tag-only")
SHORT_NAME_MODES = ("disabled", "enforcing", "permissive")


class RegistriesConfError(UsageError):
    """A configuration that containers/image refuses: every skopeo copy would fail."""


@dataclass(frozen=True)
class Mirror:
    location: str
    insecure: bool = False
    pull_from_mirror: str = ""


@dataclass(frozen=True)
class Registry:
    prefix: str
    location: str
    insecure: bool = False
    blocked: bool = False
    mirror_by_digest_only: bool = False
    mirrors: tuple[Mirror, ...] = ()
    origin: str = ""  # the file that defined it


@dataclass
class Parsed:
    """One file, or several merged: what syncer needs of them."""

    registries: list[Registry] = field(default_factory=list)  # sorted by prefix, unique
    search: list[str] | None = None  # unqualified-search-registries (None: not set)
    credential_helpers: list[str] | None = None
    short_name_mode: str = ""
    aliases: dict[str, str] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    def update_from(self, dropin: Parsed) -> None:
        """containers/image's merge: registries by prefix, set keys replace, aliases merge."""
        by_prefix = {r.prefix: r for r in self.registries}
        by_prefix.update({r.prefix: r for r in dropin.registries})
        self.registries = [by_prefix[p] for p in sorted(by_prefix)]
        if dropin.search is not None:
            self.search = dropin.search
        if dropin.credential_helpers is not None:
            self.credential_helpers = dropin.credential_helpers
        if dropin.short_name_mode:
            self.short_name_mode = dropin.short_name_mode
        self.aliases.update(dropin.aliases)
        self.files += dropin.files

    @property
    def helpers(self) -> list[str]:
        return self.credential_helpers or [AUTH_FILES_HELPER]


def parse_location(text: str) -> str:
    """A location or prefix without trailing slashes; URI schemes are refused."""
    trimmed = text.rstrip("/")
    if trimmed.startswith(("http://", "https://")):
        raise RegistriesConfError(f"invalid location '{text}': URI schemes are not supported")
    return trimmed


def _typed(table: Mapping[str, Any], key: str, kind: type, default: Any) -> Any:
    value = table.get(key, default)
    if not isinstance(value, kind):
        raise RegistriesConfError(f"'{key}' must be a {kind.__name__}, not {value!r}")
    return value


def _strings(table: Mapping[str, Any], key: str) -> list[str] | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RegistriesConfError(f"'{key}' must be a list of strings")
    return list(value)


def _mirror(table: Any, prefix: str, digest_only: bool) -> Mirror:
    if not isinstance(table, dict):
        raise RegistriesConfError("each [[registry.mirror]] must be a table")
    location = parse_location(_typed(table, "location", str, ""))
    if not location:
        raise RegistriesConfError("invalid condition: mirror location is unset")
    pull_from = _typed(table, "pull-from-mirror", str, "")
    if digest_only and pull_from:
        raise RegistriesConfError(
            f'cannot set mirror usage mirror-by-digest-only for the registry ("{prefix}") and '
            f'pull-from-mirror for per-mirror ("{location}") at the same time'
        )
    if pull_from not in PULL_FROM_MIRROR:
        raise RegistriesConfError(
            f'unsupported pull-from-mirror value "{pull_from}" for mirror "{location}"'
        )
    return Mirror(location, _typed(table, "insecure", bool, False), pull_from)


def _registry(table: Any, origin: str) -> Registry:
    if not isinstance(table, dict):
        raise RegistriesConfError("each [[registry]] must be a table")
    location = parse_location(_typed(table, "location", str, ""))
    prefix = _typed(table, "prefix", str, "")
    if not prefix:
        if not location:
            raise RegistriesConfError("invalid condition: both location and prefix are unset")
        prefix = location
    else:
        prefix = parse_location(prefix)
        if not prefix.startswith("*.") and not location:
            raise RegistriesConfError(
                "invalid condition: location is unset and prefix is not in the format: "
                "*.example.com"
            )
    if prefix.startswith("*.") and any(c in prefix for c in "/@:"):
        raise RegistriesConfError(
            "Wildcarded prefix should be in the format: *.example.com. "
            f'Current prefix "{prefix}" is incorrectly formatted'
        )
    if table.get("pull-from-mirror"):
        raise RegistriesConfError(
            f'pull-from-mirror must not be set for a non-mirror registry "{prefix}"'
        )
    digest_only = _typed(table, "mirror-by-digest-only", bool, False)
    mirrors = table.get("mirror", [])
    if not isinstance(mirrors, list):
        raise RegistriesConfError("'mirror' must be an array of tables ([[registry.mirror]])")
    return Registry(
        prefix=prefix,
        location=location,
        insecure=_typed(table, "insecure", bool, False),
        blocked=_typed(table, "blocked", bool, False),
        mirror_by_digest_only=digest_only,
        mirrors=tuple(_mirror(m, prefix, digest_only) for m in mirrors),
        origin=origin,
    )


def _check_conflicts(registries: list[Registry]) -> None:
    """One location defined twice must agree on `insecure` and `blocked`."""
    by_location: dict[str, Registry] = {}
    for reg in registries:
        other = by_location.setdefault(reg.location or reg.prefix, reg)
        for setting in ("insecure", "blocked"):
            if getattr(other, setting) != getattr(reg, setting):
                raise RegistriesConfError(
                    f"registry '{reg.location}' is defined multiple times with conflicting "
                    f"'{setting}' setting"
                )


def _unique_sorted(registries: list[Registry]) -> list[Registry]:
    """The first entry of each prefix wins; the rest never match, so they are dropped."""
    first: dict[str, Registry] = {}
    for reg in registries:
        first.setdefault(reg.prefix, reg)
    return [first[p] for p in sorted(first)]


def _v1_lists(data: Mapping[str, Any]) -> dict[str, list[str]] | None:
    """The v1 `[registries.search|insecure|block]` lists, or None for a v2-only file."""
    table = data.get("registries")
    if not isinstance(table, dict):
        return None
    lists = {}
    for kind in ("search", "insecure", "block"):
        section = table.get(kind)
        if isinstance(section, dict) and "registries" in section:
            lists[kind] = _strings(section, "registries") or []
    return lists or None


_V2_KEYS = ("registry", "unqualified-search-registries", "credential-helpers", "aliases")


def _has_v2(data: Mapping[str, Any]) -> bool:
    return any(k in data for k in _V2_KEYS) or bool(
        data.get("short-name-mode") or data.get("additional-layer-store-auth-helper")
    )


def _from_v1(lists: dict[str, list[str]], origin: str) -> Parsed:
    entries: dict[str, Registry] = {}
    for text in lists.get("block", []):
        location = parse_location(text)
        entries[location] = Registry(location, location, blocked=True, origin=origin)
    for text in lists.get("insecure", []):
        location = parse_location(text)
        reg = entries.get(location) or Registry(location, location, origin=origin)
        entries[location] = replace(reg, insecure=True)
    search = lists.get("search")
    return Parsed(list(entries.values()), search, files=[origin])


def parse_config(text: str, origin: str, *, dropin: bool = False) -> Parsed:
    """One file's configuration, checked as containers/image checks it."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RegistriesConfError(f"not valid TOML: {exc}") from None
    v1 = _v1_lists(data)
    if v1 is not None:
        if dropin:
            raise RegistriesConfError("registry must be in v2 format but is in v1")
        if _has_v2(data):
            raise RegistriesConfError("mixing sysregistry v1/v2 is not supported")
        parsed = _from_v1(v1, origin)
    else:
        tables = data.get("registry", [])
        if not isinstance(tables, list):
            raise RegistriesConfError("'registry' must be an array of tables ([[registry]])")
        registries = [_registry(t, origin) for t in tables]
        parsed = Parsed(
            registries,
            _strings(data, "unqualified-search-registries"),
            _strings(data, "credential-helpers"),
            _typed(data, "short-name-mode", str, ""),
            _aliases(data),
            [origin],
        )
    _check_conflicts(parsed.registries)
    parsed.registries = _unique_sorted(parsed.registries)
    if parsed.search is not None:
        parsed.search = [parse_location(s) for s in parsed.search]
        problem = next(filter(None, map(search_registry_problem, parsed.search)), None)
        if problem:
            raise RegistriesConfError(problem)
    if parsed.short_name_mode and parsed.short_name_mode not in SHORT_NAME_MODES:
        raise RegistriesConfError(f'invalid short-name mode: "{parsed.short_name_mode}"')
    return parsed


def _aliases(data: Mapping[str, Any]) -> dict[str, str]:
    table = data.get("aliases", {})
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise RegistriesConfError("'aliases' must be a table of strings")
    problems = [p for name, value in table.items() if (p := check_alias(name, value))]
    if problems:
        raise RegistriesConfError("validating short-name aliases: " + "; ".join(problems))
    return dict(table)
