"""Where skopeo reads an image from, as containers/image decides it.

The entry with the longest matching prefix (`*.example.com` matches sub-domains) gives the
pull sources: its mirrors (those allowed for a tag or a digest pull), then its own location,
each with the reference rewritten from the prefix to that location. An endpoint whose host is
itself blocked is never contacted (skopeo's attempt fails there), nor is the location of a
blocked entry (which skopeo, checking `blocked` on the location's own entry, still tries when
the location differs from the prefix). TLS is off for an endpoint
only when its own entry says `insecure`, or when skopeo is told `--src-tls-verify=false`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from syncer.containers.registries_conf import Parsed, RegistriesConfError, Registry
from syncer.containers.registries_files import Paths, load_config
from syncer.imagelist.reference import InvalidReference, Reference, parse_named

_SEPARATORS = (":", "/", "@")


def ref_matching_subdomain_prefix(ref: str, prefix: str) -> int:
    """Length of the host in `ref` when it matches a `*.example.com` prefix, else -1."""
    index = ref.find(prefix[1:])
    if index == -1 or "/" in ref[:index]:
        return -1
    index += len(prefix) - 1
    return index if index == len(ref) or ref[index] in _SEPARATORS else -1


def ref_matching_prefix(ref: str, prefix: str) -> int:
    """Length of `prefix` when `ref` (a host, repository or reference) starts with it as a
    whole component, else -1."""
    if prefix.startswith("*."):
        return ref_matching_subdomain_prefix(ref, prefix)
    if not ref.startswith(prefix):
        return -1
    if len(ref) == len(prefix) or ref[len(prefix)] in _SEPARATORS:
        return len(prefix)
    return -1


def find_registry(registries: list[Registry], name: str) -> Registry | None:
    """The entry with the longest prefix that matches `name` (the first of equal ones)."""
    best: Registry | None = None
    for reg in registries:
        if ref_matching_prefix(name, reg.prefix) != -1 and (
            best is None or len(reg.prefix) > len(best.prefix)
        ):
            best = reg
    return best


def rewrite_reference(ref: Reference, prefix: str, location: str) -> Reference:
    """`ref` with `prefix` replaced by `location`; RegistriesConfError when that is no
    valid reference (containers/image fails the pull then too)."""
    text = str(ref)
    length = ref_matching_prefix(text, prefix)
    if length == -1:
        raise RegistriesConfError(f"invalid prefix '{prefix}' for reference '{text}'")
    if not location:
        if not prefix.startswith("*."):
            raise RegistriesConfError(
                f"invalid prefix '{prefix}' for empty location, should be in the format: "
                "*.example.com"
            )
        return ref
    try:
        return parse_named(location + text[length:])
    except InvalidReference as exc:
        raise RegistriesConfError(f"rewriting reference: {exc}") from None


@dataclass(frozen=True)
class Endpoint:
    """One place skopeo tries: the reference as read there, and how."""

    reference: Reference
    insecure: bool
    blocked_by: str | None = None  # the prefix of the entry that blocks this endpoint
    mirror: bool = False
    skopeo_blocked: str | None = None  # what containers/image itself finds blocked

    @property
    def host(self) -> str:
        return self.reference.domain

    @property
    def path(self) -> str:
        return self.reference.path

    @property
    def location(self) -> str:
        return self.reference.name


def _allowed(registry: Registry, digested: bool) -> list[tuple[str, bool, bool]]:
    """(location, insecure, is a mirror) in order, for a digest or a tag pull."""
    if registry.mirror_by_digest_only:
        mirrors = registry.mirrors if digested else ()
    else:
        skip = "tag-only" if digested else "digest-only"
        mirrors = tuple(m for m in registry.mirrors if m.pull_from_mirror != skip)
    return [(m.location, m.insecure, True) for m in mirrors] + [
        (registry.location, registry.insecure, False)
    ]


def physical(ref: Reference) -> Reference:
    """The reference skopeo reads: by digest alone when pinned, else by tag (`latest`)."""
    if ref.digest is not None:
        return Reference(ref.domain, ref.path, None, ref.digest)
    return ref.with_default_tag()


class RegistriesConf:
    """The merged configuration and the questions syncer asks of it."""

    def __init__(self, config: Parsed | None = None, paths: Paths | None = None):
        self.config = config or Parsed()
        self.paths = paths

    @classmethod
    def load(
        cls, conf: str | None, conf_dir: str | None = None, home: Path | None = None
    ) -> RegistriesConf:
        home = home or Path(os.environ.get("HOME") or Path.home())
        paths = Paths.choose(conf, conf_dir, home)
        return cls(load_config(paths), paths)

    def find(self, name: str) -> Registry | None:
        return find_registry(self.config.registries, name)

    def _blocked_by(self, ref: Reference) -> str | None:
        entry = self.find(ref.name)
        return entry.prefix if entry is not None and entry.blocked else None

    def endpoints(self, ref: Reference, *, insecure: bool = False) -> list[Endpoint]:
        """Every place skopeo tries for `ref`, in its order (blocked ones marked).

        `insecure`: skopeo runs with `--src-tls-verify=false` (the source's registry is in
        `insecure_registries`), which turns TLS off for every endpoint.
        """
        ref = physical(ref)
        entry = self.find(ref.name)
        if entry is None:
            return [Endpoint(ref, insecure)]
        out = []
        for location, own_insecure, is_mirror in _allowed(entry, ref.digest is not None):
            rewritten = rewrite_reference(ref, entry.prefix, location)
            skopeo_blocked = self._blocked_by(rewritten)
            # containers/image checks `blocked` on the location's own entry only, so it still
            # reads the location of a blocked prefix that rewrites elsewhere; syncer never does.
            blocked = skopeo_blocked or (entry.prefix if entry.blocked and not is_mirror else None)
            out.append(
                Endpoint(rewritten, insecure or own_insecure, blocked, is_mirror, skopeo_blocked)
            )
        return out

    def readable(self, ref: Reference, *, insecure: bool = False) -> list[Endpoint]:
        """The endpoints syncer may ask: never a blocked one."""
        return [e for e in self.endpoints(ref, insecure=insecure) if e.blocked_by is None]

    def destination(self, ref: Reference, *, insecure: bool = False) -> Endpoint:
        """Where skopeo writes `ref`: its own entry decides TLS and blocking, no mirrors."""
        entry = self.find(ref.name)
        own = entry is not None and entry.insecure
        blocked = self._blocked_by(ref)
        return Endpoint(ref, insecure or own, blocked, skopeo_blocked=blocked)

    def describe(self) -> str:
        """The files read, for messages: 'a.conf, b.d/x.conf'."""
        return ", ".join(self.config.files) or "no registries.conf"
