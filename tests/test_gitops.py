"""The GitOps job end to end: real git remote, real registries, real skopeo, the real CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from syncer.cli import main
from testing.gitrepo import Remote, git
from testing.images import digest_of, inspect_raw, make_upstream_image
from testing.registry import Registry
from testing.scenario import ALPINE, OPERATOR, PAUSE, remote_state, syncer_yaml

pytestmark = pytest.mark.integration


class Job:
    """A CI pipeline for the remote: check out the pushed commit and run `syncer run`."""

    def __init__(self, tmp: Path, remote: Remote, monkeypatch: pytest.MonkeyPatch):
        self.tmp, self.remote, self.monkeypatch = tmp, remote, monkeypatch
        self.runs = 0

    def run(
        self,
        before: str,
        sha: str,
        *args: str,
        depth: int | None = None,
        checkout: Path | None = None,
    ) -> tuple[int, str]:
        self.runs += 1
        workdir = checkout or self.remote.checkout(self.tmp / f"ci-{self.runs}", sha, depth=depth)
        env = {
            "GITLAB_CI": "true",
            "CI_PIPELINE_SOURCE": "push",
            "CI_COMMIT_BEFORE_SHA": before,
            "CI_COMMIT_SHA": sha,
            "CI_COMMIT_BRANCH": "main",
        }
        for key, value in env.items():
            self.monkeypatch.setenv(key, value)
        return main(["run", "-C", str(workdir), *args]), str(workdir)


@pytest.fixture
def job(tmp_path: Path, remote: Remote, monkeypatch: pytest.MonkeyPatch) -> Job:
    return Job(tmp_path, remote, monkeypatch)


def dest_of(destination: Registry, source: str) -> str:
    return f"{destination.host}/third/{source}"


def state_on_remote(remote: Remote) -> dict[str, dict[str, Any]]:
    return remote_state(remote)


def test_push_1_copies_both_platforms_and_commits_the_report(
    remote: Remote, job: Job, images: dict[str, str], destination: Registry
) -> None:
    # A brand-new branch: GitLab says the before SHA is forty zeros.
    _, sha = remote.commit(
        {"source-images.list": "alpine:3.19\nregistry.k8s.io/pause:3.9\n"}, "add"
    )
    code, _ = job.run("0" * 40, sha)
    assert code == 0
    for source in (ALPINE, PAUSE):
        dest = dest_of(destination, source)
        index = inspect_raw(dest, "--tls-verify=false")
        assert {m["platform"]["architecture"] for m in index["manifests"]} == {"amd64", "arm64"}
        assert digest_of(dest, "--tls-verify=false") == images[source]
    assert "[skip ci]" in remote.log()[0]
    state = state_on_remote(remote)
    assert state[ALPINE]["digest"] == images[ALPINE]
    assert state[ALPINE]["platforms"] == ["linux/amd64", "linux/arm64"]
    report = remote.show("main", "MAPPING.md")
    assert f"`{dest_of(destination, ALPINE)}`" in report
    assert "2 images: 2 mirrored, 0 failed." in report


def test_push_2_reads_only_the_new_image_and_push_3_changes_nothing(
    remote: Remote, job: Job, images: dict[str, str], upstream: Registry
) -> None:
    before, sha = remote.commit(
        {"source-images.list": "alpine:3.19\nregistry.k8s.io/pause:3.9\n"}, "1"
    )
    assert job.run("0" * 40, sha)[0] == 0
    upstream.clear_log()

    new_list = f"alpine:3.19\nregistry.k8s.io/pause:3.9\n{OPERATOR}\n"
    before, sha = remote.commit({"source-images.list": new_list}, "2")
    assert job.run(before, sha)[0] == 0
    assert upstream.count("GET", "manifests", "prometheus-operator") >= 1
    assert upstream.count("GET", "manifests", "alpine") == 0
    assert upstream.count("GET", "manifests", "pause") == 0
    assert upstream.count("HEAD", "manifests", "alpine") == 0
    report = remote.show("main", "MAPPING.md")
    assert (
        report.count("| `docker.io/") + report.count("| `registry.") + report.count("| `quay.") == 3
    )

    upstream.clear_log()
    commits = len(remote.log())
    reordered = f"# reordered, commented\r\n{OPERATOR}  # operator\r\nregistry.k8s.io/pause:3.9\r\ndocker.io/library/alpine:3.19\r\n"
    before, sha = remote.commit({"source-images.list": reordered}, "3")
    assert job.run(before, sha)[0] == 0
    assert upstream.requests() == []
    assert len(remote.log()) == commits + 1  # the human's commit only, no report commit


def test_failed_image_is_reported_and_retried_by_the_next_run(
    tmp_path: Path,
    remote: Remote,
    job: Job,
    images: dict[str, str],
    upstream: Registry,
    destination: Registry,
    start_registry: Callable[..., Registry],
) -> None:
    # ghcr.io images live in a second upstream, which is down for the first run.
    ghcr = start_registry("ghcr")
    ghcr_image = "ghcr.io/example/tool:1.0"
    make_upstream_image(tmp_path / "oci-ghcr", ghcr.host, ghcr_image)
    conf = tmp_path / "registries.conf"
    conf.write_text(
        conf.read_text().replace(f'"{upstream.host}/ghcr.io"', f'"{ghcr.host}/ghcr.io"')
    )
    ghcr.stop()
    listing = f"alpine:3.19\n{ghcr_image}\n"
    _, sha = remote.commit({"source-images.list": listing}, "add two")
    code, _ = job.run("0" * 40, sha)
    assert code == 1
    state = state_on_remote(remote)
    assert state[ALPINE]["status"] == "copied"
    assert state[ghcr_image]["status"] == "failed"
    assert "FAILED" in remote.show("main", "MAPPING.md")

    ghcr.start()
    before, sha = remote.commit({"README.txt": "unrelated\n"}, "unrelated change")
    code, _ = job.run(before, sha)
    assert code == 0
    assert state_on_remote(remote)[ghcr_image]["status"] == "copied"
    assert "FAILED" not in remote.show("main", "MAPPING.md")


def test_report_lands_on_top_of_a_commit_pushed_while_the_job_ran(
    tmp_path: Path, remote: Remote, job: Job, images: dict[str, str]
) -> None:
    _, sha = remote.commit({"source-images.list": "alpine:3.19\n"}, "add alpine")
    checkout = remote.checkout(tmp_path / "early-checkout", sha)
    remote.commit({"notes.txt": "a human was here\n"}, "human commit meanwhile")
    code, _ = job.run("0" * 40, sha, checkout=checkout)
    assert code == 0
    subjects = remote.log()
    assert subjects[0].startswith("Update image mirror report")
    assert subjects[1] == "human commit meanwhile"
    assert remote.show("main", "notes.txt") == "a human was here"


def test_shallow_clone_fetches_a_base_outside_the_clone(
    remote: Remote, job: Job, images: dict[str, str], upstream: Registry
) -> None:
    _, sha = remote.commit({"source-images.list": "alpine:3.19\n"}, "1")
    assert job.run("0" * 40, sha)[0] == 0
    base = remote.head()
    assert base is not None
    remote.commit({"other.txt": "x\n"}, "unrelated")
    _, sha = remote.commit({"source-images.list": "alpine:3.19\nregistry.k8s.io/pause:3.9\n"}, "2")
    upstream.clear_log()
    code, workdir = job.run(base, sha, depth=1)
    assert code == 0
    assert git(Path(workdir), "rev-parse", "--is-shallow-repository") == "true"
    assert upstream.count("GET", "manifests", "pause") >= 1
    assert upstream.count("GET", "manifests", "alpine") == 0


def test_force_pushed_base_falls_back_to_the_whole_list(
    remote: Remote, job: Job, images: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, sha = remote.commit({"source-images.list": "alpine:3.19\nregistry.k8s.io/pause:3.9\n"}, "1")
    code, _ = job.run("1234567890" * 4, sha, depth=1)
    assert code == 0
    out = capsys.readouterr().out
    assert "cannot be fetched" in out
    assert state_on_remote(remote).keys() == {ALPINE, PAUSE}


def test_dry_run_touches_nothing(
    remote: Remote,
    job: Job,
    images: dict[str, str],
    upstream: Registry,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, sha = remote.commit({"source-images.list": "alpine:3.19\n"}, "1")
    commits = remote.log()
    upstream.clear_log()
    code, workdir = job.run("0" * 40, sha, "--dry-run")
    assert code == 0
    out = capsys.readouterr().out
    assert f"would sync {ALPINE}" in out
    assert "+++ MAPPING.md" in out
    assert upstream.requests() == []
    assert remote.log() == commits
    assert not (Path(workdir) / "MAPPING.md").exists()


def test_diff_lists_added_and_removed(
    remote: Remote, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    remote.commit({"source-images.list": "alpine:3.19\nnginx\n"}, "1")
    base = remote.head()
    assert base is not None
    remote.commit({"source-images.list": "nginx:latest\nbusybox:1\n"}, "2")
    assert main(["diff", "-C", str(remote.human), "--base", base, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["added"] == ["docker.io/library/busybox:1"]
    assert data["removed"] == [ALPINE]


def test_sync_copies_named_images_and_reports_bad_ones(
    tmp_path: Path,
    images: dict[str, str],
    destination: Registry,
    conf: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "syncer.yaml").write_text(syncer_yaml(destination, conf))
    code = main(["sync", "-C", str(tmp_path), "alpine:3.19", "$(id)", "quay.io/nope/missing:1"])
    assert code == 1
    captured = capsys.readouterr()
    assert "argument:2:" in captured.err
    assert "copied" in captured.out
    assert "failed (not found)" in captured.out
    assert digest_of(dest_of(destination, ALPINE), "--tls-verify=false") == images[ALPINE]
