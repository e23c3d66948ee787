"""The mirror used under the original names: real containerd and real skopeo, upstream stopped."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from syncer.cli import main
from syncer.containers.mirrors import hosts_toml, mirrors_for, registries_conf
from syncer.imagelist.reference import parse_normalized
from testing.containerd import Containerd
from testing.registry import Registry
from testing.scenario import ALPINE, OPERATOR, PAUSE, syncer_yaml


def test_hosts_toml_and_registries_conf_for_the_list() -> None:
    sources = [
        parse_normalized(s) for s in ("alpine:3", "quay.io/a/b:1", "localhost:5000/x:1", "alpine:4")
    ]
    found = mirrors_for(sources, "harbor.example.com:5000/third", ["harbor.example.com:5000"])
    assert [(m.registry, m.mirror) for m in found] == [
        ("docker.io", "harbor.example.com:5000/third/docker.io"),
        ("localhost:5000", "harbor.example.com:5000/third/localhost_5000"),
        ("quay.io", "harbor.example.com:5000/third/quay.io"),
    ]
    assert hosts_toml(found[0]) == (
        "# Written by `syncer mirrors --format containerd`: pull through the mirror first.\n"
        'server = "https://registry-1.docker.io"\n\n'
        '[host."https://harbor.example.com:5000/v2/third/docker.io"]\n'
        '  capabilities = ["pull", "resolve"]\n'
        "  override_path = true\n"
        "  skip_verify = true\n"
    )
    assert 'location = "harbor.example.com:5000/third/quay.io"\ninsecure = true' in registries_conf(
        found
    )
    assert "mirror-by-digest-only = true" in registries_conf(found, digest_only=True)
    secure = mirrors_for(sources[:1], "h.example.com/m", [])
    assert "skip_verify" not in hosts_toml(secure[0])
    assert "insecure" not in registries_conf(secure)


@pytest.fixture
def mirrored(
    tmp_path: Path, images: dict[str, str], upstream: Registry, destination: Registry, conf: Path
) -> dict[str, str]:
    """The three images synced to the destination, then the upstream stopped."""
    (tmp_path / "syncer.yaml").write_text(syncer_yaml(destination, conf))
    (tmp_path / "source-images.list").write_text("\n".join(images) + "\n")
    assert main(["sync", "-C", str(tmp_path), *images]) == 0
    upstream.stop()
    return images


@pytest.mark.integration
def test_containerd_pulls_the_original_names_through_the_mirror(
    tmp_path: Path, mirrored: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    hosts = tmp_path / "certs.d"
    assert (
        main(
            [
                "mirrors",
                "-C",
                str(tmp_path),
                "--format",
                "containerd",
                "--plain-http",
                "--out",
                str(hosts),
            ]
        )
        == 0
    )
    containerd = Containerd(tmp_path / "containerd").start()
    try:
        for name, digest in mirrored.items():
            pulled = containerd.ctr(
                "images", "pull", "--hosts-dir", str(hosts), "--all-platforms", name
            )
            assert pulled.returncode == 0, pulled.stderr
            assert containerd.image_digest(name) == digest
    finally:
        containerd.stop()


@pytest.mark.integration
def test_skopeo_reads_through_the_generated_registries_conf(
    tmp_path: Path, mirrored: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    conf = tmp_path / "mirrors.conf"
    assert main(["mirrors", "-C", str(tmp_path), "--out", str(conf)]) == 0
    for name in (OPERATOR, PAUSE, ALPINE):
        raw = subprocess.run(
            ["skopeo", "--registries-conf", str(conf), "inspect", "--raw", "--retry-times", "0", f"docker://{name}"],
            capture_output=True, check=True, timeout=60,
        ).stdout  # fmt: skip
        import hashlib

        assert "sha256:" + hashlib.sha256(raw).hexdigest() == mirrored[name]
    capsys.readouterr()
    assert main(["mirrors", "-C", str(tmp_path), "--format", "json"]) == 0
    registries = [m["registry"] for m in json.loads(capsys.readouterr().out)]
    assert registries == ["docker.io", "quay.io", "registry.k8s.io"]
