"""Names and settings the integration tests share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from syncer.record.statefile import load_state
from testing.gitrepo import Remote
from testing.registry import Registry

ALPINE = "docker.io/library/alpine:3.19"
PAUSE = "registry.k8s.io/pause:3.9"
OPERATOR = "quay.io/prometheus-operator/prometheus-operator:v0.47.0"


def syncer_yaml(destination: Registry, conf: Path) -> str:
    """The mirror repository's configuration: local plain-HTTP registries, fail fast."""
    return (
        f"destination: {destination.host}/third\n"
        f"registries_conf: {conf}\n"
        f"insecure_registries: [{destination.host}]\n"
        "retry_times: 0\n"
        "timeout: 60\n"
    )


def gitlab_push(monkeypatch: pytest.MonkeyPatch, before: str, sha: str) -> None:
    """The variables of a GitLab push pipeline for the push `before` -> `sha` on main."""
    for key, value in {"GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BEFORE_SHA": before,
                       "CI_COMMIT_SHA": sha, "CI_COMMIT_BRANCH": "main"}.items():  # fmt: skip
        monkeypatch.setenv(key, value)


def remote_state(remote: Remote, commit: str = "main") -> dict[str, dict[str, Any]]:
    """The images of mapping.json on the remote's main branch."""
    return state_entries(remote.show(commit, "mapping.json"))


def state_entries(text: str) -> dict[str, dict[str, Any]]:
    """A state file's images as JSON would have them with every field written (version 3
    leaves fields at their default out), read by syncer's own loader."""
    return {
        key: {
            **image._asdict(),
            "platforms": list(image.platforms),
            "companions": list(image.companions or ()),
            "history": [h._asdict() for h in image.history],
        }
        for key, image in load_state(text, "mapping.json").items()
    }


def push_checkout(
    remote: Remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> Path:
    """A CI job for the remote's last push: GitLab's push variables set, the pushed commit
    checked out in `tmp_path / name`."""
    log = remote.log("%H")
    gitlab_push(monkeypatch, log[1] if len(log) > 1 else "0" * 40, log[0])
    return remote.checkout(tmp_path / name, log[0])


def run_last_push(
    remote: Remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, *args: str
) -> int:
    """`syncer run ARGS` in a CI job for the remote's last push; its exit code."""
    from syncer.cli import main

    return main(["run", *args, "-C", str(push_checkout(remote, tmp_path, monkeypatch, name))])
