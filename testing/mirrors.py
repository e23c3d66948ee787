"""A registries.conf that makes real registry names resolve to one local "upstream".

`docker.io/library/busybox:1` is read from `127.0.0.1:PORT/docker.io/library/busybox:1`: the
upstream stores every image under its own full name, so one registry stands in for all of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

MIRRORED_REGISTRIES = ("docker.io", "quay.io", "k8s.gcr.io", "registry.k8s.io", "ghcr.io")


def registries_conf(upstream_host: str, registries: Iterable[str] = MIRRORED_REGISTRIES) -> str:
    blocks = [
        f'[[registry]]\nprefix = "{name}"\nlocation = "{name}"\n'
        f'[[registry.mirror]]\nlocation = "{upstream_host}/{name}"\ninsecure = true\n'
        for name in registries
    ]
    return "\n".join(blocks)


def write_registries_conf(path: Path, upstream_host: str, *insecure_hosts: str) -> Path:
    """Write the mirror configuration; `insecure_hosts` are plain-HTTP registries (loopback)."""
    extra = [f'[[registry]]\nlocation = "{host}"\ninsecure = true\n' for host in insecure_hosts]
    path.write_text("\n".join([registries_conf(upstream_host), *extra]))
    return path
