"""Runtime configuration that lets clusters keep the original image names. Pure.

For every source registry of the list, the mirror is `DESTINATION/<registry>` (syncer's scoped
layout): containerd's `hosts.toml` (one per registry, `override_path` because the mirror
lives under a path) and a containers-registries.conf for CRI-O, podman and skopeo.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from syncer.imagelist.reference import Reference, scoped_name

# containerd calls Docker Hub `docker.io` and reaches it at this host.
_SERVERS = {"docker.io": "https://registry-1.docker.io"}


@dataclass(frozen=True)
class MirrorFor:
    registry: str  # as in image names: docker.io, quay.io, localhost:5000
    mirror: str  # HOST[:PORT]/PATH of the mirror of that registry
    insecure: bool  # the destination is in insecure_registries

    @property
    def host(self) -> str:
        return self.mirror.partition("/")[0]

    @property
    def path(self) -> str:
        return self.mirror.partition("/")[2]


def mirrors_for(
    sources: Iterable[Reference], destination: str, insecure_hosts: Iterable[str]
) -> list[MirrorFor]:
    """One mirror per source registry, sorted by registry name."""
    insecure = {h.lower() for h in insecure_hosts}
    dest_host = destination.partition("/")[0]
    registries = sorted({ref.domain for ref in sources})
    return [
        MirrorFor(
            registry,
            f"{destination}/{scoped_name(Reference(registry, 'x')).rpartition('/')[0]}",
            dest_host.lower() in insecure,
        )
        for registry in registries
    ]


def mirror_schemes(mirror: MirrorFor, *, plain_http: bool = False) -> tuple[str, ...]:
    """The schemes containerd tries the mirror with, in order.

    An `insecure_registries` destination may speak TLS with a certificate nobody trusts, or
    plain HTTP: containerd tries its hosts in order and moves on when one fails, so https
    without verification comes first and http second (what `insecure = true` means to
    containers-registries.conf). Plain HTTP is tried only after TLS failed, so nothing goes out
    unencrypted to a registry that speaks TLS.
    """
    if not mirror.insecure:
        return ("https",)
    return ("http",) if plain_http else ("https", "http")


def hosts_toml(mirror: MirrorFor, *, plain_http: bool = False) -> str:
    """containerd's `certs.d/<registry>/hosts.toml`: the mirror first, upstream as fallback."""
    server = _SERVERS.get(mirror.registry, f"https://{mirror.registry}")
    lines = [
        "# Written by `syncer mirrors --format containerd`: pull through the mirror first.",
        f'server = "{server}"',
    ]
    for scheme in mirror_schemes(mirror, plain_http=plain_http):
        lines += [
            "",
            f'[host."{scheme}://{mirror.host}/v2/{mirror.path}"]',
            '  capabilities = ["pull", "resolve"]',
            "  override_path = true",
        ]
        if mirror.insecure and scheme == "https":
            lines.append("  skip_verify = true")
    return "\n".join(lines) + "\n"


def registries_conf(mirrors: Iterable[MirrorFor], *, digest_only: bool = False) -> str:
    """A containers-registries.conf (v2): each source registry read from its mirror first."""
    blocks = ["# Written by `syncer mirrors --format registries-conf`."]
    for mirror in mirrors:
        lines = ["[[registry]]", f'prefix = "{mirror.registry}"', f'location = "{mirror.registry}"']
        if digest_only:
            lines.append("mirror-by-digest-only = true")
        lines += ["[[registry.mirror]]", f'location = "{mirror.mirror}"']
        if mirror.insecure:
            lines.append("insecure = true")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def as_json(mirrors: Iterable[MirrorFor], renamed: Iterable[tuple[Reference, str]] = ()) -> str:
    """The mirrors as JSON; images named with `as=` (which no registry rewrite can reach) are
    listed under their registry as `renamed`: source and mirror name."""
    by_registry: dict[str, list[dict[str, str]]] = {}
    for source, mirror in renamed:
        by_registry.setdefault(source.domain, []).append({"source": str(source), "mirror": mirror})
    return json.dumps(
        [
            {"registry": m.registry, "mirror": m.mirror, "insecure": m.insecure,
             "renamed": sorted(by_registry.get(m.registry, []), key=lambda r: r["source"])}
            for m in mirrors
        ],
        indent=2,
        sort_keys=True,
    )  # fmt: skip
