"""OCI artifacts that are not container images, pushed with plain registry API calls: a Helm
chart (as `helm push` writes one) and a generic artifact (as `oras push` does)."""

from __future__ import annotations

import gzip
import io
import json
import tarfile

from testing.signing import OCI_MANIFEST, push_blob, push_manifest

HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
HELM_CHART = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
EMPTY = "application/vnd.oci.empty.v1+json"


def _chart_tgz(name: str, version: str) -> bytes:
    chart = f"apiVersion: v2\nname: {name}\nversion: {version}\n".encode()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo(f"{name}/Chart.yaml")
        info.size, info.mtime, info.mode = len(chart), 0, 0o644
        tar.addfile(info, io.BytesIO(chart))
    packed = io.BytesIO()
    with gzip.GzipFile(fileobj=packed, mode="wb", mtime=0) as stream:
        stream.write(raw.getvalue())
    return packed.getvalue()


def push_chart(host: str, repo: str, name: str, version: str) -> str:
    """A Helm chart at `repo:version`; return its manifest digest."""
    config = json.dumps({"name": name, "version": version, "apiVersion": "v2"}).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": HELM_CONFIG, **push_blob(host, repo, config)},
        "layers": [{"mediaType": HELM_CHART, **push_blob(host, repo, _chart_tgz(name, version))}],
    }
    return push_manifest(host, repo, version, manifest)


def push_artifact(host: str, repo: str, tag: str, artifact_type: str, data: bytes) -> str:
    """A generic OCI 1.1 artifact (empty config, one layer); return its manifest digest."""
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": {"mediaType": EMPTY, **push_blob(host, repo, b"{}")},
        "layers": [{"mediaType": "application/octet-stream", **push_blob(host, repo, data)}],
    }
    return push_manifest(host, repo, tag, manifest)
