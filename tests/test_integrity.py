"""The record is exactly true under faults: what the report claims is what the registry holds.

Each test injects its fault for real: an HTTP proxy in front of the destination registry that
refuses chosen requests, a git hook or a killed process, a full tmpfs, a directory in place of
a file.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from syncer.cli import main
from testing.disk import fill, remount_read_only, small_tmpfs
from testing.gitrepo import Remote, git
from testing.httpproxy import FaultyProxy, Refusal
from testing.images import OCI_INDEX, digest_of, make_upstream_image
from testing.latency import LatencyProxy
from testing.mirrors import write_registries_conf
from testing.registry import Registry
from testing.scenario import ALPINE, PAUSE, gitlab_push, remote_state, state_entries, syncer_yaml

pytestmark = pytest.mark.integration
SIX = [f"docker.io/library/app{i}:1.{i}" for i in range(6)]


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
        gitlab_push(monkeypatch, "0" * 40, sha)
        main(["run", "-C", str(remote.checkout(tmp_path / "ci-1", sha))])
        assert sum(proxy.refused.values()) == len(SIX)
        for name, entry in remote_state(remote).items():
            if entry["status"] == "copied":
                at_destination = digest_of(f"{proxy.host}/third/{name}", "--tls-verify=false")
                assert entry["digest"] == digests[name] == at_destination
            else:
                assert entry["reason"] == "digest", entry
                assert entry.get("digest") is None

        before, sha = remote.commit({"notes.txt": "next push\n"}, "unrelated")
        gitlab_push(monkeypatch, before, sha)
        assert main(["run", "-C", str(remote.checkout(tmp_path / "ci-2", sha))]) == 0
        state = remote_state(remote)
        assert {name: entry["digest"] for name, entry in state.items()} == digests
        for name in SIX:
            assert digest_of(f"{proxy.host}/third/{name}", "--tls-verify=false") == digests[name]


def _clone(remote: Remote, dest: Path) -> Path:
    """A working tree that stays between runs (a shell runner, a person's machine)."""
    git(dest.parent, "clone", "--quiet", remote.url, str(dest))
    return dest


def _syncer(cwd: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITLAB", "CI_", "GITHUB"))}
    return subprocess.Popen(
        [sys.executable, "-m", "syncer", *args], cwd=cwd, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip


def _wait_for(path: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def test_a_push_killed_with_sigkill_is_completed_by_the_next_run(
    tmp_path: Path, remote: Remote, images: dict[str, str]
) -> None:
    remote.commit({"source-images.list": "alpine:3.19\n"}, "add alpine")
    work = _clone(remote, tmp_path / "work")
    marker = tmp_path / "push-started"
    hook = remote.bare / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\nsleep 60\n")
    hook.chmod(0o755)
    job = _syncer(work, "run")
    _wait_for(marker)
    os.killpg(job.pid, signal.SIGKILL)  # the job and its `git push`, as a CI runner kills it
    job.communicate(timeout=30)
    hook.unlink()
    assert "mapping.json" not in git(remote.bare, "ls-tree", "--name-only", "main")

    out, err = _syncer(work, "run").communicate(timeout=120)
    assert "pushing 1 report commit(s) that an earlier run left unpushed" in out, out + err
    assert remote_state(remote)[ALPINE]["digest"] == images[ALPINE]
    assert remote.log()[0].startswith("Update image mirror report: 1 copied")


def test_no_push_then_run_pushes_the_pending_report_commit(
    tmp_path: Path, remote: Remote, images: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    remote.commit({"source-images.list": "alpine:3.19\n"}, "add alpine")
    work = _clone(remote, tmp_path / "work")
    assert main(["run", "--no-push", "-C", str(work)]) == 0
    assert main(["run", "-C", str(work)]) == 0
    assert "pushing 1 report commit(s)" in capsys.readouterr().out
    assert remote_state(remote)[ALPINE]["status"] == "copied"


def test_a_stale_index_lock_is_removed_before_any_copy_and_a_held_one_stops_the_run(
    tmp_path: Path,
    remote: Remote,
    images: dict[str, str],
    destination: Registry,
    capsys: pytest.CaptureFixture[str],
) -> None:
    remote.commit({"source-images.list": "alpine:3.19\n"}, "add alpine")
    work = _clone(remote, tmp_path / "work")
    lock = work / ".git" / "index.lock"
    lock.write_text("")
    # A git process working in the tree (waiting on its stdin) holds the lock: stop at once.
    holder = subprocess.Popen(["git", "hash-object", "--stdin"], cwd=work, stdin=subprocess.PIPE)
    try:
        assert main(["run", "-C", str(work)]) == 1
    finally:
        holder.communicate(b"")
    err = capsys.readouterr().err
    assert f"{lock}: git (pid {holder.pid}) is working in this repository" in err
    assert destination.count("PUT", "manifests") == 0  # nothing was copied

    # Once nobody holds it, it is stale: removed, said, and the run goes through.
    assert main(["run", "-C", str(work)]) == 0
    out = capsys.readouterr().out
    assert f"{lock}: left by a git command that was stopped" in out
    assert remote_state(remote)[ALPINE]["status"] == "copied"


def test_two_runs_in_one_working_tree_take_turns_and_each_message_tells_the_truth(
    tmp_path: Path,
    remote: Remote,
    images: dict[str, str],
    upstream: Registry,
    destination: Registry,
) -> None:
    with LatencyProxy("127.0.0.1", upstream.port, 40) as slow:
        conf = write_registries_conf(tmp_path / "slow.conf", slow.host, destination.host)
        remote.commit(
            {
                "syncer.yaml": syncer_yaml(destination, conf),
                "source-images.list": "alpine:3.19\nregistry.k8s.io/pause:3.9\nghcr.io/none/x:1\n",
            },
            "three images, one missing upstream",
        )
        work = _clone(remote, tmp_path / "work")
        first = _syncer(work, "run")
        assert first.stdout is not None
        first.stdout.readline()  # it holds the lock from its first line on
        second = _syncer(work, "run")
        out_2, err_2 = second.communicate(timeout=120)
        _, err_1 = first.communicate(timeout=120)
    assert "another syncer run" in out_2, out_2
    assert first.returncode == second.returncode == 1, err_1 + err_2  # the missing image
    assert "nothing to commit" not in err_1 + err_2
    for sha, subject in (line.split(" ", 1) for line in remote.log("%H %s")):
        if not subject.startswith("Update image mirror report"):
            continue
        state = remote_state(remote, sha)
        for count, status in re.findall(r"(\d+) (copied|failed)", subject):
            assert sum(s["status"] == status for s in state.values()) >= int(count), subject


def test_a_full_disk_after_the_copies_keeps_the_old_state_whole_and_saves_the_results(
    tmp_path: Path, remote: Remote, images: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    remote.commit({"source-images.list": "alpine:3.19\n"}, "add alpine")
    with small_tmpfs(tmp_path / "disk") as disk:
        work = _clone(remote, disk / "work")
        assert main(["run", "-C", str(work)]) == 0
        before = (work / "mapping.json").read_text()
        remote.commit({"source-images.list": "alpine:3.19\nregistry.k8s.io/pause:3.9\n"}, "pause")
        git(work, "pull", "--quiet", "--ff-only")
        filler = fill(disk)
        capsys.readouterr()
        assert main(["run", "-C", str(work)]) == 1
        err = capsys.readouterr().err
        assert "mapping.json: cannot write: No space left on device" in err, err
        assert "Traceback" not in err
        assert (work / "mapping.json").read_text() == before  # whole, not truncated
        assert not list(work.glob(".*.tmp"))
        saved = Path(re.findall(r"saved in (\S+):", err)[0])
        assert PAUSE in saved.read_text()

        filler.unlink()
        assert main(["report", "--merge", str(saved), "-C", str(work)]) == 0
    state = remote_state(remote)
    assert state[PAUSE]["digest"] == images[PAUSE]
    assert state[ALPINE]["digest"] == images[ALPINE]


def test_a_read_only_file_system_stops_the_run_before_any_copy(
    tmp_path: Path,
    remote: Remote,
    images: dict[str, str],
    destination: Registry,
    capsys: pytest.CaptureFixture[str],
) -> None:
    remote.commit({"source-images.list": "alpine:3.19\n"}, "add alpine")
    with small_tmpfs(tmp_path / "disk") as disk:
        work = _clone(remote, disk / "work")
        remount_read_only(disk)
        assert main(["run", "-C", str(work)]) == 1
    err = capsys.readouterr().err
    assert "Read-only file system" in err
    assert "Traceback" not in err
    assert destination.count("PUT", "manifests") == 0


def test_a_report_that_cannot_be_written_still_records_the_state(
    tmp_path: Path, remote: Remote, images: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    remote.commit({"source-images.list": "alpine:3.19\n"}, "add alpine")
    work = _clone(remote, tmp_path / "work")
    (work / "MAPPING.md").mkdir()  # a directory where the report goes
    (work / "MAPPING.md" / "keep").write_text("")
    assert main(["run", "-C", str(work)]) == 1
    err = capsys.readouterr().err
    assert "MAPPING.md: cannot write: Is a directory (mapping.json written and committed)" in err
    assert "Traceback" not in err
    assert remote_state(remote)[ALPINE]["digest"] == images[ALPINE]


def test_repair_state_rebuilds_a_broken_state_from_the_destination(
    tmp_path: Path, remote: Remote, images: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    remote.commit({"source-images.list": "alpine:3.19\nregistry.k8s.io/pause:3.9\n"}, "two")
    work = _clone(remote, tmp_path / "work")
    assert main(["run", "-C", str(work)]) == 0
    good = state_entries((work / "mapping.json").read_text())
    # A bad hand edit: one wrong type, one image the destination does not hold.
    git(work, "pull", "--quiet")
    remote.commit(
        {"source-images.list": "alpine:3.19\nregistry.k8s.io/pause:3.9\nquay.io/x/y:1\n"}, "+1"
    )
    git(work, "pull", "--quiet")
    broken = (work / "mapping.json").read_text().replace(f'"{images[ALPINE]}"', "1")
    (work / "mapping.json").write_text(broken)
    assert main(["run", "-C", str(work)]) == 2
    assert "syncer repair-state" in capsys.readouterr().err

    # a page of an earlier, larger report is no longer linked: removed, as `run` removes it;
    # a file of someone else's in the folder stays
    (work / "mapping").mkdir()
    (work / "mapping" / "quay.io.md").write_text("# Mirrored images: quay.io\n")
    (work / "mapping" / "notes.md").write_text("# Our notes\n")
    assert main(["repair-state", "-C", str(work)]) == 0
    said = capsys.readouterr().out
    assert "2 of 3 images are in place" in said
    assert "quay.io.md (no longer needed)" in said
    assert sorted(p.name for p in (work / "mapping").iterdir()) == ["notes.md"]
    repaired = state_entries((work / "mapping.json").read_text())
    assert {k: v["digest"] for k, v in repaired.items()} == {
        k: v["digest"] for k, v in good.items()
    }
    assert repaired[ALPINE]["platforms"] == good[ALPINE]["platforms"]
    assert main(["run", "-C", str(work)]) == 1  # quay.io/x/y is nowhere: failed, recorded
    state = remote_state(remote)
    assert state["quay.io/x/y:1"]["reason"] == "not found"
    assert state[ALPINE]["digest"] == images[ALPINE]


def test_platforms_that_could_not_be_read_after_a_copy_are_filled_in_by_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, upstream: Registry, destination: Registry
) -> None:
    digest = make_upstream_image(tmp_path / "oci", upstream.host, ALPINE)
    refuse_read = Refusal("GET", "/manifests/", times=1)  # the read after the copy fails once
    with FaultyProxy(destination.host, refusals=(refuse_read,)) as proxy:
        conf = write_registries_conf(tmp_path / "r.conf", upstream.host, proxy.host)
        remote = Remote(
            tmp_path,
            {"syncer.yaml": syncer_yaml(destination, conf).replace(destination.host, proxy.host)},
        )
        _, sha = remote.commit({"source-images.list": "alpine:3.19\n"}, "alpine")
        gitlab_push(monkeypatch, "0" * 40, sha)
        assert main(["run", "-C", str(remote.checkout(tmp_path / "ci-1", sha))]) == 0
        assert sum(proxy.refused.values()) == 1
        first = remote_state(remote)[ALPINE]
        assert (first["digest"], first["platforms"]) == (digest, [])

        before, sha = remote.commit({"notes.txt": "x\n"}, "unrelated")
        gitlab_push(monkeypatch, before, sha)
        assert main(["run", "-C", str(remote.checkout(tmp_path / "ci-2", sha))]) == 0
    second = remote_state(remote)[ALPINE]
    assert (second["digest"], second["platforms"]) == (digest, ["linux/amd64", "linux/arm64"])
