"""Small artifacts (signatures, attestations, SBOMs) are copied by the registry client, byte
for byte, between real registries; anything else is left to skopeo."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncer.cli import main
from syncer.containers.auth import DockerAuth
from syncer.containers.pull_sources import RegistriesConf
from syncer.imagelist.reference import parse_normalized
from syncer.registry import artifacts
from syncer.registry.artifacts import NotSmall, copy_small
from syncer.registry.client import RegistryClient
from testing.gitrepo import Remote
from testing.images import digest_of, make_upstream_image
from testing.registry import Registry
from testing.scenario import ALPINE, gitlab_push, syncer_yaml
from testing.signing import Key, attest, companion_tag, sign

pytestmark = pytest.mark.integration
REPO = "docker.io/library/alpine"


@pytest.fixture
def client(tmp_path: Path, conf: Path, destination: Registry) -> Iterator[RegistryClient]:
    made = RegistryClient(
        auth=DockerAuth([]),
        conf=RegistriesConf.load(str(conf), str(tmp_path / "none")),
        insecure_hosts=[destination.host],
    )
    yield made
    made.close()


def _signed(tmp_path: Path, upstream: Registry) -> tuple[str, str]:
    image = make_upstream_image(tmp_path / "oci", upstream.host, ALPINE)
    return image, sign(upstream.host, REPO, image, Key.generate(), reference=REPO)


def test_a_signature_is_copied_byte_for_byte_and_a_second_copy_writes_no_blob(
    tmp_path: Path, upstream: Registry, destination: Registry, client: RegistryClient
) -> None:
    image, signature = _signed(tmp_path, upstream)
    tag = companion_tag(image, ".sig")
    source = parse_normalized(f"{REPO}:{tag}")
    target = parse_normalized(f"{destination.host}/third/{REPO}:{tag}")
    assert copy_small(client, source, target, signature) is None
    assert digest_of(f"{target}", "--tls-verify=false") == signature
    uploads = destination.count("POST", "blobs/uploads")
    assert copy_small(client, source, target, signature) is None
    assert destination.count("POST", "blobs/uploads") == uploads  # its blobs were there


def test_an_index_or_a_large_blob_is_left_to_skopeo(
    tmp_path: Path, upstream: Registry, destination: Registry, client: RegistryClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    image, signature = _signed(tmp_path, upstream)
    with pytest.raises(NotSmall):  # the image itself: an index
        copy_small(
            client,
            parse_normalized(ALPINE),
            parse_normalized(f"{destination.host}/third/{ALPINE}"),
            image,
        )
    monkeypatch.setattr(artifacts, "LIMIT", 10)
    tag = companion_tag(image, ".sig")
    with pytest.raises(NotSmall):
        copy_small(
            client,
            parse_normalized(f"{REPO}:{tag}"),
            parse_normalized(f"{destination.host}/third/{REPO}:{tag}"),
            signature,
        )


def test_a_first_sync_runs_skopeo_for_the_image_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, upstream: Registry, destination: Registry,
    conf: Path,
) -> None:  # fmt: skip
    image, signature = _signed(tmp_path, upstream)
    attestation = attest(upstream.host, REPO, image, Key.generate())
    calls = tmp_path / "skopeo-calls.log"
    shim = tmp_path / "bin" / "skopeo"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\necho "$@" >> {calls}\nexec /usr/bin/skopeo "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{shim.parent}{os.pathsep}{os.environ['PATH']}")
    remote = Remote(tmp_path, {"syncer.yaml": syncer_yaml(destination, conf)})
    remote.commit({"source-images.list": "alpine:3.19\n"}, "alpine")
    gitlab_push(monkeypatch, remote.log("%H")[1], remote.log("%H")[0])
    assert main(["run", "-C", str(remote.checkout(tmp_path / "ci", remote.log("%H")[0]))]) == 0
    copies = [line for line in calls.read_text().splitlines() if " copy " in f" {line} "]
    assert len(copies) == 1, copies
    for suffix, digest in ((".sig", signature), (".att", attestation)):
        mirrored = f"{destination.host}/third/{REPO}:{companion_tag(image, suffix)}"
        assert digest_of(mirrored, "--tls-verify=false") == digest
