"""Faults a mirror job meets unattended, each with real processes: what breaks, nothing lost."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import bcrypt
import pytest

from syncer.cli import main
from testing.faults import StallingListener
from testing.gitrepo import Remote, git
from testing.images import digest_of, make_upstream_image
from testing.latency import LatencyProxy
from testing.mirrors import write_registries_conf
from testing.registry import Registry
from testing.scenario import ALPINE, gitlab_push, remote_state, syncer_yaml

pytestmark = pytest.mark.integration
ROOT = Path(__file__).parent.parent
MANY = [f"docker.io/library/app{i}:1.{i}" for i in range(8)]


def _when(condition: Callable[[], bool], then: Callable[[], None]) -> threading.Thread:
    """Run `then` as soon as `condition` holds (polled), from a background thread."""

    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not condition():
            time.sleep(0.01)
        then()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def many(tmp_path: Path, upstream: Registry) -> dict[str, str]:
    return {name: make_upstream_image(tmp_path / "oci", upstream.host, name) for name in MANY}


@pytest.mark.parametrize("victim", ["upstream", "destination"])
def test_registry_killed_mid_run_then_the_next_run_finishes(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    many: dict[str, str],
    upstream: Registry,
    destination: Registry,
    conf: Path,
    victim: str,
) -> None:
    remote = Remote(tmp_path, {"syncer.yaml": syncer_yaml(destination, conf) + "concurrency: 1\n"})
    _, sha = remote.commit({"source-images.list": "\n".join(MANY) + "\n"}, "add eight")
    registry = upstream if victim == "upstream" else destination
    # Kill it once the first image is complete at the destination (its index manifest is in).
    watcher = _when(lambda: destination.count("PUT", "manifests") >= 3, registry.stop)
    gitlab_push(monkeypatch, "0" * 40, sha)
    code = main(["run", "-C", str(remote.checkout(tmp_path / "ci-1", sha))])
    watcher.join()
    assert code == 1
    state = remote_state(remote)
    assert set(state) == set(MANY)  # everything recorded
    failed = [s for s in state.values() if s["status"] == "failed"]
    assert failed
    assert all(s["reason"] == "network" for s in failed), failed
    registry.start()
    for name, entry in state.items():  # nothing is marked copied that is not there
        if entry["status"] == "copied":
            assert digest_of(f"{destination.host}/third/{name}", "--tls-verify=false") == many[name]

    before, sha = remote.commit({"notes.txt": "unrelated\n"}, "unrelated")
    gitlab_push(monkeypatch, before, sha)
    assert main(["run", "-C", str(remote.checkout(tmp_path / "ci-2", sha))]) == 0
    assert {s["status"] for s in remote_state(remote).values()} == {"copied"}


def test_a_registry_that_never_answers_times_out_and_the_run_goes_on(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    upstream: Registry,
    destination: Registry,
    conf: Path,
) -> None:
    make_upstream_image(tmp_path / "oci", upstream.host, ALPINE)
    with StallingListener() as stall:
        conf.write_text(
            conf.read_text().replace(f'"{upstream.host}/ghcr.io"', f'"{stall.host}/ghcr.io"')
        )
        remote = Remote(
            tmp_path,
            {"syncer.yaml": syncer_yaml(destination, conf).replace("timeout: 60", "timeout: 3")},
        )
        _, sha = remote.commit({"source-images.list": "ghcr.io/stuck/tool:1\nalpine:3.19\n"}, "two")
        gitlab_push(monkeypatch, "0" * 40, sha)
        code = main(["run", "-C", str(remote.checkout(tmp_path / "ci", sha))])
    assert code == 1
    state = remote_state(remote)
    assert state["ghcr.io/stuck/tool:1"]["reason"] == "timeout"
    assert state[ALPINE]["status"] == "copied"


def _htpasswd(path: Path, user: str, password: str) -> Path:
    path.write_text(
        f"{user}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()}\n"
    )
    return path


def _authfile(path: Path, host: str, user: str, password: str) -> Path:
    path.write_text(
        json.dumps(
            {"auths": {host: {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}}}
        )
    )
    return path


@pytest.mark.parametrize(
    ("password", "expected"), [("right-pass", "copied"), ("wrong-pass", "unauthorized")]
)
def test_password_protected_destination(
    tmp_path: Path,
    upstream: Registry,
    start_registry: Callable[..., Registry],
    password: str,
    expected: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    make_upstream_image(tmp_path / "oci", upstream.host, ALPINE)
    locked = start_registry(
        "locked", htpasswd=_htpasswd(tmp_path / "htpasswd", "robot", "right-pass")
    )
    conf = write_registries_conf(tmp_path / "r.conf", upstream.host, locked.host)
    auth = _authfile(tmp_path / "auth.json", locked.host, "robot", password)
    (tmp_path / "syncer.yaml").write_text(
        syncer_yaml(locked, conf).replace("retry_times: 0", "retry_times: 3")
        + f"authfile: {auth}\n"
    )
    started = time.monotonic()
    code = main(["sync", "-C", str(tmp_path), "alpine:3.19", "busybox:1"])
    elapsed = time.monotonic() - started
    out = capsys.readouterr().out
    assert code == 1  # busybox is not upstream either way
    assert "busybox:1" in out
    assert "failed (not found)" in out
    line = next(line for line in out.splitlines() if "alpine" in line)
    assert (expected in line) if expected == "copied" else ("failed (unauthorized)" in line)
    assert elapsed < 60  # no endless retrying (a bound, not a timing measurement)
    assert password not in out


@pytest.mark.parametrize(
    ("setup", "argv", "code", "message"),
    [
        ("no-skopeo", ["sync", "alpine:3"], 2, "skopeo: not found on PATH"),
        ("no-list", ["check"], 2, "source-images.list: no such file"),
        ("bad-yaml", ["check"], 2, "not valid YAML"),
        ("bad-authfile", ["sync", "alpine:3"], 2, "auth file"),
        (
            "missing-authfile",
            ["sync", "alpine:3"],
            2,
            "authfile /nonexistent/auth.json: no such file",
        ),
        ("bad-remote", ["run"], 1, "git push"),
        ("bad-remote", ["diff", "--head", "no-such-rev"], 1, "no-such-rev: no such revision"),
    ],
)
def test_expected_failures_are_one_clear_line(
    tmp_path: Path, setup: str, argv: list[str], code: int, message: str
) -> None:
    env = {**os.environ, "SYNCER_DESTINATION": "127.0.0.1:9/m", "SYNCER_RETRY_TIMES": "0"}
    work = tmp_path / "repo"
    work.mkdir()
    (work / "source-images.list").write_text("alpine:3\n")
    if setup == "no-skopeo":
        env["PATH"] = str(tmp_path / "empty-bin")
    elif setup == "no-list":
        (work / "source-images.list").unlink()
    elif setup == "bad-yaml":
        (work / "syncer.yaml").write_text("destination: [oops\n")
    elif setup == "bad-authfile":
        (tmp_path / "auth.json").write_text("{not json")
        env["SYNCER_AUTHFILE"] = str(tmp_path / "auth.json")
    elif setup == "missing-authfile":
        env["SYNCER_AUTHFILE"] = "/nonexistent/auth.json"
    elif setup == "bad-remote":
        (work / "source-images.list").write_text("")
        git(work, "init", "--quiet", "--initial-branch=main")
        git(work, "add", ".")
        git(work, "commit", "--quiet", "-m", "empty list")
        git(work, "remote", "add", "origin", "https://user:hunter2@127.0.0.1:9/nowhere.git")
    result = subprocess.run(
        [sys.executable, "-m", "syncer", *argv],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == code, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("syncer: error")]
    assert len(errors) == 1
    assert "hunter2" not in result.stdout + result.stderr


def _skopeo_pids(marker: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (
                    (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                )
            except OSError:
                continue
            if "skopeo" in cmdline and marker in cmdline:
                pids.append(int(entry.name))
    return pids


def test_sigterm_half_way_stops_children_records_the_truth_and_the_next_run_completes(
    tmp_path: Path,
    many: dict[str, str],
    upstream: Registry,
    destination: Registry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each copy crosses a slow link, so the job is surely still copying when stopped.
    with LatencyProxy("127.0.0.1", upstream.port, 60) as slow:
        conf = write_registries_conf(tmp_path / "slow.conf", slow.host, destination.host)
        remote = Remote(
            tmp_path, {"syncer.yaml": syncer_yaml(destination, conf) + "concurrency: 1\n"}
        )
        _, sha = remote.commit({"source-images.list": "\n".join(MANY) + "\n"}, "add eight")
        checkout = remote.checkout(tmp_path / "ci-1", sha)
        env = {**os.environ, "GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BEFORE_SHA": "0" * 40,
               "CI_COMMIT_BRANCH": "main"}  # fmt: skip
        job = subprocess.Popen(
            [sys.executable, "-m", "syncer", "run"], cwd=checkout, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert job.stdout is not None
        seen = []  # said in failure messages: which step the SIGTERM met
        for line in job.stdout:
            seen.append(line)
            if line.startswith("[1/8]"):
                break
        job.send_signal(signal.SIGTERM)
        out, err = job.communicate(timeout=60)
        said = "".join(seen) + out + err
        assert job.returncode == 128 + signal.SIGTERM, said
        assert "SIGTERM" in err, said
        assert _skopeo_pids(destination.host) == [], said
    state = remote_state(remote)
    assert set(state) == set(MANY), said
    interrupted = [name for name, s in state.items() if s["reason"] == "interrupted"]
    assert interrupted, said
    for name, entry in state.items():
        if entry["status"] == "copied":
            assert digest_of(f"{destination.host}/third/{name}", "--tls-verify=false") == many[name]
        else:
            assert entry["reason"] == "interrupted", (name, entry, said)

    conf = write_registries_conf(tmp_path / "fast.conf", upstream.host, destination.host)
    before, sha = remote.commit({"syncer.yaml": syncer_yaml(destination, conf)}, "faster link")
    gitlab_push(monkeypatch, before, sha)
    assert main(["run", "-C", str(remote.checkout(tmp_path / "ci-2", sha))]) == 0
    assert {s["status"] for s in remote_state(remote).values()} == {"copied"}


def test_two_pipelines_racing_both_land_and_a_human_commit_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, remote: Remote, images: dict[str, str]
) -> None:
    before_1, sha_1 = remote.commit({"source-images.list": "alpine:3.19\n"}, "push 1")
    before_2, sha_2 = remote.commit(
        {"source-images.list": "alpine:3.19\nregistry.k8s.io/pause:3.9\n"}, "push 2"
    )
    early_1 = remote.checkout(tmp_path / "ci-1", sha_1)
    early_2 = remote.checkout(tmp_path / "ci-2", sha_2)
    remote.commit({"human.txt": "written by a person\n"}, "a human commit")
    history_before = remote.log("%H")
    gitlab_push(monkeypatch, before_2, sha_2)
    assert main(["run", "-C", str(early_2)]) == 0
    gitlab_push(monkeypatch, before_1, sha_1)
    assert main(["run", "-C", str(early_1)]) == 0
    history = remote.log("%H")
    assert history[-len(history_before) :] == history_before  # nothing rewritten: no force-push
    assert remote.show("main", "human.txt") == "written by a person"
    state = remote_state(remote)
    assert {k: v["status"] for k, v in state.items()} == {
        ALPINE: "copied",
        "registry.k8s.io/pause:3.9": "copied",
    }


def test_a_push_refused_by_the_server_is_not_retried(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    remote: Remote,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, sha = remote.commit({"source-images.list": ""}, "empty list")
    calls = tmp_path / "hook-calls"
    hook = remote.bare / "hooks" / "pre-receive"
    hook.write_text(
        f"#!/bin/sh\necho call >> {calls}\necho 'GitLab: You are not allowed to push to a protected branch.' >&2\nexit 1\n"
    )
    hook.chmod(0o755)
    gitlab_push(monkeypatch, "0" * 40, sha)
    assert main(["run", "-C", str(remote.checkout(tmp_path / "ci", sha))]) == 1
    assert calls.read_text().count("call") == 1
    err = capsys.readouterr().err
    assert "git push" in err
    assert "Traceback" not in err
