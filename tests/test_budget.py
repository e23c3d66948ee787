"""Upstream quota and mirror storage spent on purpose: Docker Hub's pull limit planned for
(a proxy in front of the upstream registry adds its headers and counts down per manifest GET,
as Docker Hub does), and opt-in pruning of what the list no longer holds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from syncer.cli import main
from syncer.registry.quota import parse_remaining
from testing.gitrepo import Remote
from testing.httpproxy import FaultyProxy
from testing.images import make_upstream_image
from testing.mirrors import write_registries_conf
from testing.registry import Registry
from testing.scenario import gitlab_push, remote_state, syncer_yaml

SIX = [f"docker.io/library/app{n}:1.0" for n in range(6)]


def test_the_pull_headers_are_read_as_docker_hub_writes_them() -> None:
    assert parse_remaining("76;w=21600") == (76, 21600)
    assert parse_remaining("0") == (0, None)
    assert parse_remaining("") is None
    assert parse_remaining("many;w=1") is None


@pytest.fixture
def counting(upstream: Registry) -> Iterator[FaultyProxy]:
    with FaultyProxy(upstream.host, pull_quota=0) as proxy:
        yield proxy


def _remote(tmp_path: Path, destination: Registry, proxy: FaultyProxy, extra: str = "") -> Remote:
    conf = write_registries_conf(tmp_path / "hub.conf", proxy.host, destination.host)
    remote = Remote(tmp_path, {"syncer.yaml": syncer_yaml(destination, conf) + extra})
    remote.commit({"source-images.list": "".join(f"{n}\n" for n in SIX)}, "six images")
    return remote


def _run(
    remote: Remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, *args: str
) -> int:
    log = remote.log("%H")
    gitlab_push(monkeypatch, log[1] if len(log) > 1 else "0" * 40, log[0])
    return main(["run", *args, "-C", str(remote.checkout(tmp_path / name, log[0]))])


@pytest.mark.integration
def test_what_the_quota_cannot_pay_for_waits_for_the_next_run_and_goes_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, upstream: Registry, destination: Registry,
    counting: FaultyProxy, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    for name in SIX:
        make_upstream_image(tmp_path / "oci", upstream.host, name)
    counting.reset_quota(3)  # one two-platform copy: the index and both platforms
    remote = _remote(tmp_path, destination, counting)
    assert _run(remote, tmp_path, monkeypatch, "ci-1") == 0  # deferred is not failed
    state = remote_state(remote)
    copied = [n for n, s in state.items() if s["status"] == "copied"]
    deferred = [n for n, s in state.items() if s["status"] == "deferred"]
    assert (len(copied), len(deferred)) == (1, 5), state
    assert all(state[n]["reason"] == "quota" for n in deferred)
    assert "needs about 3 pulls" in state[deferred[0]]["error"]
    assert "pulls come back by" in state[deferred[0]]["error"]  # the window, from w=
    assert counting.pulls_left == 0
    assert counting.count("GET") == 3  # the copy's three; the checks' HEADs cost nothing
    assert counting.count("HEAD") >= 6
    assert not any(status == 429 for _, _, status in counting.requests)
    report = remote.show("main", "MAPPING.md")
    assert "6 images: 1 mirrored, 0 failed, 5 deferred." in report
    assert "deferred (quota): needs about 3 pulls" in report
    out = capsys.readouterr().out
    assert "deferred (quota)" in out

    # The next push adds an image at the top of the list: the deferred ones still go first.
    new = "docker.io/library/app6:1.0"
    make_upstream_image(tmp_path / "oci", upstream.host, new)
    remote.commit({"source-images.list": "".join(f"{n}\n" for n in [new, *SIX])}, "one more")
    assert _run(remote, tmp_path, monkeypatch, "ci-2", "--dry-run") == 0
    planned = [line.split()[2] for line in capsys.readouterr().out.splitlines()
               if line.startswith("would sync")]  # fmt: skip
    assert planned == [*sorted(deferred, key=SIX.index), new]
    counting.reset_quota(100)  # the window moved on
    assert _run(remote, tmp_path, monkeypatch, "ci-3") == 0
    assert {s["status"] for s in remote_state(remote).values()} == {"copied"}


@pytest.mark.integration
def test_quota_reserve_keeps_pulls_for_the_people_who_pull(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, upstream: Registry, destination: Registry,
    counting: FaultyProxy,
) -> None:  # fmt: skip
    for name in SIX:
        make_upstream_image(tmp_path / "oci", upstream.host, name)
    counting.reset_quota(5)
    remote = _remote(tmp_path, destination, counting, "quota_reserve: 2\n")
    assert _run(remote, tmp_path, monkeypatch, "ci-1") == 0
    statuses = sorted(s["status"] for s in remote_state(remote).values())
    assert statuses == ["copied"] + ["deferred"] * 5
    assert counting.pulls_left == 2
    assert "2 kept for others" in next(
        s["error"] for s in remote_state(remote).values() if s["status"] == "deferred"
    )


@pytest.mark.integration
def test_the_plan_says_how_many_pulls_the_added_images_need_and_what_is_left(
    tmp_path: Path, upstream: Registry, destination: Registry, counting: FaultyProxy,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    for name in SIX:
        make_upstream_image(tmp_path / "oci", upstream.host, name)
    counting.reset_quota(20)
    conf = write_registries_conf(tmp_path / "hub.conf", counting.host, destination.host)
    yaml = syncer_yaml(destination, conf) + "check_concurrency: 1\n"  # one image after another
    remote = Remote(tmp_path, {"syncer.yaml": yaml})
    _, base = remote.commit({"source-images.list": "\n"}, "empty")
    _, head = remote.commit({"source-images.list": "".join(f"{n}\n" for n in SIX)}, "six")
    checkout = remote.checkout(tmp_path / "mr", head)
    assert main(["plan", "--base", base, "--no-comment", "-C", str(checkout)]) == 0
    out = capsys.readouterr().out
    # The plan's own inspections are manifest GETs too (6 of the 20): 14 are left then.
    assert f"needs about 18 pulls of {counting.host}; 14 left now" in out
    assert "2 image(s) will wait for a later run" in out
