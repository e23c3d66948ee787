"""The mirror used under the original names: real containerd and real skopeo, upstream stopped."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from syncer.cli import main
from syncer.containers.mirrors import hosts_toml, mirrors_for, registries_conf
from syncer.imagelist.reference import parse_normalized, scoped_name
from testing.containerd import Containerd
from testing.registry import Registry, self_signed_certificate
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
        "  skip_verify = true\n\n"
        '[host."http://harbor.example.com:5000/v2/third/docker.io"]\n'
        '  capabilities = ["pull", "resolve"]\n'
        "  override_path = true\n"
    )
    plain = hosts_toml(found[0], plain_http=True)
    assert '[host."http://harbor.example.com:5000/v2/third/docker.io"]' in plain
    assert "https://harbor" not in plain
    assert "skip_verify" not in plain
    assert 'location = "harbor.example.com:5000/third/quay.io"\ninsecure = true' in registries_conf(
        found
    )
    assert "mirror-by-digest-only = true" in registries_conf(found, digest_only=True)
    secure = mirrors_for(sources[:1], "h.example.com/m", [])
    assert "skip_verify" not in hosts_toml(secure[0])
    assert "http://" not in hosts_toml(secure[0]) + hosts_toml(secure[0], plain_http=True)
    assert hosts_toml(secure[0]).count("[host.") == 1
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


def _pull_through(tmp_path: Path, hosts: Path, images: dict[str, str]) -> None:
    """A fresh containerd pulls every image by its original name, all platforms, through the
    hosts.toml files in `hosts` (the upstream is stopped), and gets the source's index digest."""
    containerd = Containerd(tmp_path / "containerd").start()
    try:
        for name, digest in images.items():
            pulled = containerd.ctr(
                "images", "pull", "--hosts-dir", str(hosts), "--all-platforms", name
            )
            assert pulled.returncode == 0, pulled.stderr
            assert containerd.image_digest(name) == digest
    finally:
        containerd.stop()


@pytest.mark.integration
@pytest.mark.parametrize("flags", [[], ["--plain-http"]], ids=["default", "plain-http"])
def test_containerd_pulls_the_original_names_through_a_plain_http_mirror(
    tmp_path: Path, mirrored: dict[str, str], flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The destination (in insecure_registries) speaks plain HTTP: the default output works
    without a flag, as `--plain-http` does."""
    hosts = tmp_path / "certs.d"
    argv = ["mirrors", "-C", str(tmp_path), "--format", "containerd", *flags, "--out", str(hosts)]
    assert main(argv) == 0
    _pull_through(tmp_path, hosts, mirrored)


@pytest.mark.integration
def test_containerd_pulls_through_an_insecure_tls_mirror_with_the_default_output(
    tmp_path: Path,
    mirrored: dict[str, str],
    destination: Registry,
    start_registry: Callable[..., Registry],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The same default hosts.toml serves an insecure destination that speaks TLS with a
    certificate nobody trusts: containerd uses the https host and never falls back to http."""
    tls = start_registry("tls", tls=self_signed_certificate(tmp_path))
    for name in mirrored:
        ref = parse_normalized(name)
        path = f"third/{scoped_name(ref)}:{ref.tag}"
        subprocess.run(
            ["skopeo", "copy", "--all", "--preserve-digests", "--src-tls-verify=false", "--dest-tls-verify=false",
             f"docker://{destination.host}/{path}", f"docker://{tls.host}/{path}"],
            capture_output=True, check=True, timeout=120,
        )  # fmt: skip
    (tmp_path / "syncer.yaml").write_text(
        f"destination: {tls.host}/third\ninsecure_registries: [{tls.host}]\n"
    )
    hosts = tmp_path / "certs.d"
    argv = ["mirrors", "-C", str(tmp_path), "--format", "containerd", "--out", str(hosts)]
    assert main(argv) == 0
    tls.clear_log()
    _pull_through(tmp_path, hosts, mirrored)
    assert tls.count("GET", "blobs") > 0  # the images came from the TLS mirror


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
