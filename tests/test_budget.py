"""Upstream quota and mirror storage spent on purpose: Docker Hub's pull limit planned for
(a proxy in front of the upstream registry adds its headers and counts down per manifest GET,
as Docker Hub does), and opt-in pruning of what the list no longer holds."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from syncer.cli import main
from syncer.registry.quota import parse_remaining
from testing.gitrepo import Remote
from testing.httpproxy import FaultyProxy
from testing.images import layout_dir, make_upstream_image
from testing.mirrors import write_registries_conf
from testing.registry import Registry
from testing.scenario import remote_state, run_last_push, syncer_yaml

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


@pytest.mark.integration
def test_what_the_quota_cannot_pay_for_waits_for_the_next_run_and_goes_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, upstream: Registry, destination: Registry,
    counting: FaultyProxy, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    for name in SIX:
        make_upstream_image(tmp_path / "oci", upstream.host, name)
    counting.reset_quota(3)  # one two-platform copy: the index and both platforms
    remote = _remote(tmp_path, destination, counting)
    assert run_last_push(remote, tmp_path, monkeypatch, "ci-1") == 0  # deferred is not failed
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
    assert run_last_push(remote, tmp_path, monkeypatch, "ci-2", "--dry-run") == 0
    planned = [line.split()[2] for line in capsys.readouterr().out.splitlines()
               if line.startswith("would sync")]  # fmt: skip
    assert planned == [*sorted(deferred, key=SIX.index), new]
    counting.reset_quota(100)  # the window moved on
    assert run_last_push(remote, tmp_path, monkeypatch, "ci-3") == 0
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
    assert run_last_push(remote, tmp_path, monkeypatch, "ci-1") == 0
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


def _exists(registry: Registry, reference: str) -> bool:
    done = subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{registry.host}/{reference}"],
        capture_output=True, check=False,
    )  # fmt: skip
    return done.returncode == 0


def _pruning(
    tmp_path: Path, destination: Registry, conf: Path, lines: str, extra: str = "prune_after: 0s\n"
) -> Remote:
    remote = Remote(tmp_path, {"syncer.yaml": syncer_yaml(destination, conf) + extra})
    remote.commit({"source-images.list": lines}, "the list")
    return remote


@pytest.mark.integration
def test_a_removed_line_stays_in_the_record_and_without_prune_after_in_the_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, images: dict[str, str],
    destination: Registry, conf: Path,
) -> None:  # fmt: skip
    remote = _pruning(tmp_path, destination, conf, "alpine:3.19\nregistry.k8s.io/pause:3.9\n", "")
    assert run_last_push(remote, tmp_path, monkeypatch, "ci-1") == 0
    remote.commit({"source-images.list": "alpine:3.19\n"}, "drop pause")
    assert run_last_push(remote, tmp_path, monkeypatch, "ci-2") == 0
    entry = remote_state(remote)["registry.k8s.io/pause:3.9"]
    assert entry["removed_at"] is not None
    assert entry["removed_commit"] == remote.log("%H")[1]  # the list's revision without it
    assert entry["pruned_at"] is None
    report = remote.show("main", "MAPPING.md")
    assert "## Removed from the list" in report
    assert "kept (no `prune_after`)" in report
    assert _exists(destination, "third/registry.k8s.io/pause:3.9")
    assert (
        run_last_push(remote, tmp_path, monkeypatch, "ci-3", "--all") == 0
    )  # nothing is deleted, ever
    assert _exists(destination, "third/registry.k8s.io/pause:3.9")


@pytest.mark.integration
def test_after_the_grace_period_a_removed_image_is_deleted_with_its_companions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, upstream: Registry, images: dict[str, str],
    destination: Registry, conf: Path, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    from testing.signing import Key, companion_tag, sign

    pause = "registry.k8s.io/pause:3.9"
    sign(upstream.host, "registry.k8s.io/pause", images[pause], Key.generate())
    remote = _pruning(tmp_path, destination, conf, f"alpine:3.19\n{pause}\n")
    assert run_last_push(remote, tmp_path, monkeypatch, "ci-1") == 0
    signature = f"third/registry.k8s.io/pause:{companion_tag(images[pause], '.sig')}"
    assert _exists(destination, signature)
    remote.commit({"source-images.list": "alpine:3.19\n"}, "drop pause")
    assert (
        run_last_push(remote, tmp_path, monkeypatch, "ci-2a", "--dry-run") == 0
    )  # not recorded yet
    assert "would delete" not in capsys.readouterr().out
    assert (
        run_last_push(remote, tmp_path, monkeypatch, "ci-2") == 0
    )  # the removal is recorded first
    assert _exists(destination, f"third/{pause}")  # not before the next run
    assert "will be deleted" not in remote.show("main", "MAPPING.md")
    assert "after 20" in remote.show("main", "MAPPING.md")  # the date it may go
    capsys.readouterr()
    assert run_last_push(remote, tmp_path, monkeypatch, "ci-3", "--dry-run") == 0
    assert f"would delete {destination.host}/third/{pause}" in capsys.readouterr().out
    assert _exists(destination, f"third/{pause}")
    assert run_last_push(remote, tmp_path, monkeypatch, "ci-4") == 0
    assert not _exists(destination, f"third/{pause}")
    assert not _exists(destination, signature)  # its companions went with it
    assert _exists(destination, "third/docker.io/library/alpine:3.19")
    entry = remote_state(remote)[pause]
    assert entry["pruned_at"] is not None
    assert "## Pruned" in remote.show("main", "MAPPING.md")


@pytest.mark.integration
def test_a_removed_tag_sharing_its_digest_with_a_listed_one_goes_from_the_record_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, upstream: Registry, destination: Registry,
    conf: Path,
) -> None:  # fmt: skip
    digest = make_upstream_image(tmp_path / "oci", upstream.host, "docker.io/library/alpine:3.19")
    layout = layout_dir(tmp_path / "oci", "docker.io/library/alpine:3.19")
    subprocess.run(
        ["skopeo", "copy", "--all", "--quiet", "--dest-tls-verify=false", f"oci:{layout}:3.19",
         f"docker://{upstream.host}/docker.io/library/alpine:3"],
        check=True, capture_output=True,
    )  # fmt: skip
    remote = _pruning(tmp_path, destination, conf, "alpine:3.19\nalpine:3\n")
    assert run_last_push(remote, tmp_path, monkeypatch, "ci-1") == 0
    remote.commit({"source-images.list": "alpine:3.19\n"}, "drop the moving tag")
    assert run_last_push(remote, tmp_path, monkeypatch, "ci-2") == 0
    assert run_last_push(remote, tmp_path, monkeypatch, "ci-3") == 0
    entry = remote_state(remote)["docker.io/library/alpine:3"]
    assert entry["pruned_at"] is not None
    assert "docker.io/library/alpine:3.19 still has this digest" in entry["prune_note"]
    assert _exists(destination, "third/docker.io/library/alpine:3.19")  # still pulls
    assert remote_state(remote)["docker.io/library/alpine:3.19"]["digest"] == digest


@pytest.mark.integration
def test_a_line_added_back_before_the_deadline_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, images: dict[str, str],
    destination: Registry, conf: Path,
) -> None:  # fmt: skip
    pause = "registry.k8s.io/pause:3.9"
    remote = _pruning(tmp_path, destination, conf, f"alpine:3.19\n{pause}\n", "prune_after: 30d\n")
    assert run_last_push(remote, tmp_path, monkeypatch, "ci-1") == 0
    remote.commit({"source-images.list": "alpine:3.19\n"}, "drop pause")
    assert run_last_push(remote, tmp_path, monkeypatch, "ci-2") == 0
    assert remote_state(remote)[pause]["removed_at"] is not None
    remote.commit({"source-images.list": f"alpine:3.19\n{pause}\n"}, "pause is back")
    assert run_last_push(remote, tmp_path, monkeypatch, "ci-3") == 0
    entry = remote_state(remote)[pause]
    assert (entry["removed_at"], entry["status"]) == (None, "copied")
    assert "## Removed from the list" not in remote.show("main", "MAPPING.md")
    assert _exists(destination, f"third/{pause}")


@pytest.mark.integration
def test_a_registry_that_refuses_deletes_leaves_the_image_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, images: dict[str, str], upstream: Registry,
    start_registry: Callable[..., Registry],
) -> None:  # fmt: skip
    keeper = start_registry("keeper", deletes=False)  # DELETE answers 405 UNSUPPORTED
    conf = write_registries_conf(tmp_path / "keeper.conf", upstream.host, keeper.host)
    pause = "registry.k8s.io/pause:3.9"
    remote = _pruning(tmp_path, keeper, conf, f"alpine:3.19\n{pause}\n")
    assert run_last_push(remote, tmp_path, monkeypatch, "ci-1") == 0
    remote.commit({"source-images.list": "alpine:3.19\n"}, "drop pause")
    assert run_last_push(remote, tmp_path, monkeypatch, "ci-2") == 0
    assert (
        run_last_push(remote, tmp_path, monkeypatch, "ci-3") == 0
    )  # refused: a note, not a failure
    entry = remote_state(remote)[pause]
    assert entry["pruned_at"] is None
    assert entry["prune_note"].startswith("the registry refused the delete: HTTP 405")
    assert _exists(keeper, f"third/{pause}")
