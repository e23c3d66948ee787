"""Each blob pulled once: copies read their sources through syncer's relay, which mounts what
the mirror already holds (from this run, or an earlier job's blob locations) instead of
pulling it again. Real registries, skopeo and git."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from syncer.cli import main
from testing.gitrepo import Remote
from testing.httpproxy import FaultyProxy, Refusal
from testing.images import digest_of, inspect_raw, make_upstream_image
from testing.mirrors import write_registries_conf
from testing.registry import Registry
from testing.scenario import push_checkout, syncer_yaml

pytestmark = pytest.mark.integration
BASE: dict[str, tuple[bytes, ...]] = {
    p: (bytes(range(256)) * 1024,) for p in ("linux/amd64", "linux/arm64")
}  # 256 KiB under each image
A, B = "docker.io/library/first:1.0", "quay.io/team/second:2.0"


def _base_layers(upstream: Registry, name: str) -> set[str]:
    index = inspect_raw(f"{upstream.host}/{name}", "--tls-verify=false")
    repo = name.rpartition(":")[0]
    found = set()
    for entry in index["manifests"]:
        manifest = inspect_raw(f"{upstream.host}/{repo}@{entry['digest']}", "--tls-verify=false")
        found.add(manifest["layers"][0]["digest"])  # the shared one sits at the bottom
    return found


def test_a_later_job_mounts_a_shared_layer_the_mirror_holds_instead_of_pulling_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, upstream: Registry, destination: Registry,
    conf: Path,
) -> None:  # fmt: skip
    for name in (A, B):
        make_upstream_image(tmp_path / "oci", upstream.host, name, below=BASE)
    shared = _base_layers(upstream, A)
    assert shared == _base_layers(upstream, B)
    remote = Remote(tmp_path, {"syncer.yaml": syncer_yaml(destination, conf)})
    remote.commit({"source-images.list": "first:1.0\n"}, "first")
    first = push_checkout(remote, tmp_path, monkeypatch, "ci-1")
    assert main(["run", "-C", str(first)]) == 0
    assert (first / ".syncer" / "blob-locations").is_file()

    remote.commit({"source-images.list": f"first:1.0\n{B}\n"}, "second")
    second = push_checkout(remote, tmp_path, monkeypatch, "ci-2")  # a new job: a fresh clone...
    shutil.copytree(first / ".syncer", second / ".syncer")  # ...and the pipeline's cache
    upstream.clear_log()
    assert main(["run", "-C", str(second)]) == 0
    pulled = {path.rpartition("/")[2] for verb, path, _ in upstream.requests()
              if verb == "GET" and "/blobs/" in path}  # fmt: skip
    assert pulled  # the new blobs...
    assert not pulled & shared  # ...only
    assert any(verb == "POST" and "mount=" in path for verb, path, _ in destination.requests())
    mirrored = f"{destination.host}/third/{B}"
    assert digest_of(mirrored, "--tls-verify=false") == digest_of(
        f"{upstream.host}/{B}", "--tls-verify=false"
    )


def test_concurrent_copies_on_one_new_base_pull_it_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, upstream: Registry, destination: Registry,
    conf: Path,
) -> None:  # fmt: skip
    names = [f"docker.io/library/svc{n}:1.0" for n in range(4)]
    for name in names:
        make_upstream_image(tmp_path / "oci", upstream.host, name, below=BASE)
    shared = _base_layers(upstream, names[0])
    remote = Remote(tmp_path, {"syncer.yaml": syncer_yaml(destination, conf)})
    remote.commit({"source-images.list": "".join(f"{n}\n" for n in names)}, "four")
    upstream.clear_log()
    assert main(["run", "-C", str(push_checkout(remote, tmp_path, monkeypatch, "ci"))]) == 0
    gets = [path.rpartition("/")[2] for verb, path, _ in upstream.requests()
            if verb == "GET" and "/blobs/" in path]  # fmt: skip
    assert sorted(d for d in gets if d in shared) == sorted(shared)  # each once


def test_a_registry_that_refuses_mounts_still_gets_the_image_copied_and_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, upstream: Registry, destination: Registry,
) -> None:  # fmt: skip
    for name in (A, B):
        make_upstream_image(tmp_path / "oci", upstream.host, name, below=BASE)
    refuse = Refusal("POST", r"mount=", times=100, status=202)  # an upload, not a mount
    with FaultyProxy(destination.host, refusals=(refuse,)) as proxy:
        conf = write_registries_conf(tmp_path / "p.conf", upstream.host, proxy.host)
        yaml = syncer_yaml(destination, conf).replace(destination.host, proxy.host)
        remote = Remote(tmp_path, {"syncer.yaml": yaml})
        remote.commit({"source-images.list": "first:1.0\n"}, "first")
        first = push_checkout(remote, tmp_path, monkeypatch, "ci-1")
        assert main(["run", "-C", str(first)]) == 0
        remote.commit({"source-images.list": f"first:1.0\n{B}\n"}, "second")
        second = push_checkout(remote, tmp_path, monkeypatch, "ci-2")
        shutil.copytree(first / ".syncer", second / ".syncer")
        assert main(["run", "-C", str(second)]) == 0
        assert proxy.refused  # it was asked, and said no
    assert digest_of(f"{destination.host}/third/{B}", "--tls-verify=false") == digest_of(
        f"{upstream.host}/{B}", "--tls-verify=false"
    )
