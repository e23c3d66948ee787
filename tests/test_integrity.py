"""The record is exactly true under faults: what the report claims is what the registry holds.

Each test injects its fault for real: an HTTP proxy in front of the destination registry that
refuses chosen requests, a git hook or a killed process, a full tmpfs, a directory in place of
a file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from syncer.cli import main
from testing.gitrepo import Remote
from testing.httpproxy import FaultyProxy, Refusal
from testing.images import OCI_INDEX, digest_of, make_upstream_image
from testing.mirrors import write_registries_conf
from testing.registry import Registry
from testing.scenario import syncer_yaml

pytestmark = pytest.mark.integration
SIX = [f"docker.io/library/app{i}:1.{i}" for i in range(6)]


def _gitlab_push(monkeypatch: pytest.MonkeyPatch, before: str, sha: str) -> None:
    for key, value in {"GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BEFORE_SHA": before,
                       "CI_COMMIT_SHA": sha, "CI_COMMIT_BRANCH": "main"}.items():  # fmt: skip
        monkeypatch.setenv(key, value)


def _state(remote: Remote) -> dict[str, dict[str, object]]:
    return dict(json.loads(remote.show("main", "mapping.json"))["images"])


def test_a_destination_refusing_the_index_once_never_gets_another_digest_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, upstream: Registry, destination: Registry
) -> None:
    digests = {name: make_upstream_image(tmp_path / "oci", upstream.host, name) for name in SIX}
    # The first OCI index PUT of each repository fails: skopeo would retry it as a Docker list.
    refuse_index = Refusal("PUT", "/manifests/", content_type=OCI_INDEX)
    with FaultyProxy(destination.host, refusals=(refuse_index,)) as proxy:
        conf = write_registries_conf(tmp_path / "r.conf", upstream.host, proxy.host)
        yaml = syncer_yaml(destination, conf).replace(destination.host, proxy.host)
        remote = Remote(tmp_path, {"syncer.yaml": yaml})
        _, sha = remote.commit({"source-images.list": "\n".join(SIX) + "\n"}, "add six")
        _gitlab_push(monkeypatch, "0" * 40, sha)
        main(["run", "-C", str(remote.checkout(tmp_path / "ci-1", sha))])
        assert sum(proxy.refused.values()) == len(SIX)
        for name, entry in _state(remote).items():
            if entry["status"] == "copied":
                at_destination = digest_of(f"{proxy.host}/third/{name}", "--tls-verify=false")
                assert entry["digest"] == digests[name] == at_destination
            else:
                assert entry["reason"] == "digest", entry
                assert entry.get("digest") is None

        before, sha = remote.commit({"notes.txt": "next push\n"}, "unrelated")
        _gitlab_push(monkeypatch, before, sha)
        assert main(["run", "-C", str(remote.checkout(tmp_path / "ci-2", sha))]) == 0
        state = _state(remote)
        assert {name: entry["digest"] for name, entry in state.items()} == digests
        for name in SIX:
            assert digest_of(f"{proxy.host}/third/{name}", "--tls-verify=false") == digests[name]
