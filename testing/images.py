"""Small deterministic multi-arch OCI images, built without Docker, pushed with skopeo."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import subprocess
import tarfile
from pathlib import Path
from typing import Any

PLATFORMS = (("linux", "amd64"), ("linux", "arm64"))
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def _write_blob(layout: Path, data: bytes) -> dict[str, object]:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def _layer(content: bytes, name: str = "hello.txt") -> tuple[bytes, str]:
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = len(content), 0, 0o644
        tar.addfile(info, io.BytesIO(content))
    raw = tar_bytes.getvalue()
    gz = io.BytesIO()
    with gzip.GzipFile(fileobj=gz, mode="wb", mtime=0) as stream:
        stream.write(raw)
    return gz.getvalue(), "sha256:" + hashlib.sha256(raw).hexdigest()


def _platform_manifest(
    layout: Path, name: str, os_: str, arch: str, below: tuple[bytes, ...] = ()
) -> dict[str, object]:
    """One platform's manifest: the layers `below` (shared contents, e.g. a base OS), then a
    small top layer of its own."""
    layers = [_layer(content, f"layer{n}.bin") for n, content in enumerate(below)]
    layers.append(_layer(f"{name} on {os_}/{arch}\n".encode()))
    descriptors = [_write_blob(layout, data) for data, _ in layers]
    config = json.dumps(
        {"architecture": arch, "os": os_,
         "rootfs": {"type": "layers", "diff_ids": [diff_id for _, diff_id in layers]}},
        sort_keys=True,
    ).encode()  # fmt: skip
    config_desc = _write_blob(layout, config)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config_desc},
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **d}
                for d in descriptors
            ],
        },
        sort_keys=True,
    ).encode()
    return {
        "mediaType": OCI_MANIFEST,
        **_write_blob(layout, manifest),
        "platform": {"os": os_, "architecture": arch},
    }


def build_image(
    layout: Path,
    name: str,
    tag: str = "latest",
    platforms: tuple[tuple[str, str], ...] = PLATFORMS,
    below: dict[str, tuple[bytes, ...]] | None = None,
) -> str:
    """Write an OCI layout holding a multi-platform image (two platforms unless told);
    return the index digest.

    `name` goes into its top layer, so different names give different digests; `below`
    (by "os/arch") are layer contents shared with other images, under the top one.
    """
    (layout / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    shared = below or {}
    manifests = [
        _platform_manifest(layout, name, os_, arch, shared.get(f"{os_}/{arch}", ()))
        for os_, arch in platforms
    ]
    index = json.dumps(
        {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}, sort_keys=True
    ).encode()
    index_desc = _write_blob(layout, index)
    (layout / "index.json").write_text(
        json.dumps(
            {
                "schemaVersion": 2,
                "manifests": [
                    {
                        "mediaType": OCI_INDEX,
                        **index_desc,
                        "annotations": {"org.opencontainers.image.ref.name": tag},
                    }
                ],
            }
        )
    )
    return str(index_desc["digest"])


def push_image(layout: Path, tag: str, destination: str) -> None:
    """Copy the OCI layout's image to `destination` (HOST:PORT/repo:tag, plain HTTP)."""
    subprocess.run(
        [
            "skopeo",
            "copy",
            "--all",
            "--quiet",
            "--dest-tls-verify=false",
            f"oci:{layout}:{tag}",
            f"docker://{destination}",
        ],
        check=True,
        capture_output=True,
    )


def layout_dir(workdir: Path, source: str) -> Path:
    """Where `make_upstream_image` keeps the OCI layout of `source`."""
    return workdir / hashlib.sha256(source.encode()).hexdigest()[:16]


def make_upstream_image(
    workdir: Path,
    registry_host: str,
    source: str,
    platforms: tuple[tuple[str, str], ...] = PLATFORMS,
    below: dict[str, tuple[bytes, ...]] | None = None,
) -> str:
    """Build `source` (a normalized reference with a tag) and push it where the mirror
    configuration of `testing.mirrors` reads it from; return its index digest."""
    name, _, tag = source.rpartition(":")
    layout = layout_dir(workdir, source)
    digest = build_image(layout, source, tag, platforms, below)
    push_image(layout, tag, f"{registry_host}/{name}:{tag}")
    return digest


def inspect_raw(reference: str, *args: str) -> dict[str, Any]:
    """The raw manifest at a docker:// reference, read with skopeo (decoded JSON: Any inside)."""
    out = subprocess.run(
        ["skopeo", "inspect", "--raw", *args, f"docker://{reference}"],
        check=True,
        capture_output=True,
    ).stdout
    return dict(json.loads(out))


def digest_of(reference: str, *args: str) -> str:
    out = subprocess.run(
        ["skopeo", "inspect", "--raw", *args, f"docker://{reference}"],
        check=True,
        capture_output=True,
    ).stdout
    return "sha256:" + hashlib.sha256(out).hexdigest()
