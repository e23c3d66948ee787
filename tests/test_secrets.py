"""Secrets stay secret, and TLS is verified unless a host is named insecure."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import bcrypt
import pytest

from testing.faults import GitHttpServer
from testing.gitrepo import Remote, git
from testing.images import make_upstream_image
from testing.mirrors import write_registries_conf
from testing.registry import Registry, self_signed_certificate
from testing.scenario import ALPINE, PAUSE, syncer_yaml

pytestmark = pytest.mark.integration

PASSWORD = "Pa55-registry-SECRET-7f3a"
PUSH_TOKEN = "glpat-PUSH-TOKEN-SECRET-91c2"
JOB_TOKEN = "JOB-TOKEN-SECRET-55d1"
SECRETS = (PASSWORD, PUSH_TOKEN, JOB_TOKEN, base64.b64encode(f"robot:{PASSWORD}".encode()).decode())


def _first_push_env(token: str) -> dict[str, str]:
    """What GitLab sets for the first push of main, plus our push token."""
    return {**os.environ, "GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BEFORE_SHA": "0" * 40,
            "CI_COMMIT_BRANCH": "main", "SYNCER_PUSH_TOKEN": token}  # fmt: skip


def _syncer_run(checkout: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syncer", "run"],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def argv_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`skopeo` and `git` shims first on PATH: each writes down its argv, then runs the real one."""
    bin_dir, log = tmp_path / "shims", tmp_path / "argv.log"
    bin_dir.mkdir()
    for program in ("skopeo", "git"):
        real = subprocess.run(
            ["which", program], capture_output=True, text=True, check=True
        ).stdout.strip()
        shim = bin_dir / program
        shim.write_text(f'#!/bin/sh\necho "{program} $*" >> {log}\nexec {real} "$@"\n')
        shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    log.touch()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return log


class CmdlineWatcher:
    """Reads /proc/<pid>/cmdline of every process, over and over, while a job runs."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.is_set():
            for entry in Path("/proc").iterdir():
                if entry.name.isdigit():
                    try:
                        raw = (entry / "cmdline").read_bytes()
                    except OSError:
                        continue
                    self.seen.add(raw.replace(b"\0", b" ").decode(errors="replace"))
            time.sleep(0.002)  # let the job under test have the CPU too

    def __enter__(self) -> CmdlineWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture
def locked_destination(tmp_path: Path, start_registry: Callable[..., Registry]) -> Registry:
    htpasswd = tmp_path / "htpasswd"
    # Few bcrypt rounds: the registry checks the hash on every request.
    htpasswd.write_text(
        f"robot:{bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()}\n"
    )
    return start_registry("locked", htpasswd=htpasswd)


@pytest.fixture
def git_server(tmp_path: Path) -> Iterator[GitHttpServer]:
    with GitHttpServer(tmp_path, PUSH_TOKEN) as server:
        yield server


def test_a_full_job_leaks_no_password_and_no_token(
    tmp_path: Path,
    upstream: Registry,
    locked_destination: Registry,
    git_server: GitHttpServer,
    argv_log: Path,
) -> None:
    for name in (ALPINE, PAUSE):
        make_upstream_image(tmp_path / "oci", upstream.host, name)
    conf = write_registries_conf(tmp_path / "r.conf", upstream.host, locked_destination.host)
    auth = tmp_path / "auth.json"
    auth.write_text(json.dumps({"auths": {locked_destination.host: {"auth": SECRETS[3]}}}))
    yaml_text = syncer_yaml(locked_destination, conf) + f"authfile: {auth}\n"
    remote = Remote(tmp_path, {"syncer.yaml": yaml_text})
    _, sha = remote.commit(
        {"source-images.list": "alpine:3.19\nregistry.k8s.io/pause:3.9\n"}, "add"
    )
    checkout = remote.checkout(tmp_path / "ci", sha)
    # As GitLab leaves it: origin carries the job's own token in its URL.
    git(checkout, "remote", "set-url", "origin",
        git_server.url("remote.git").replace("http://", f"http://gitlab-ci-token:{JOB_TOKEN}@"))  # fmt: skip
    env = _first_push_env(PUSH_TOKEN)
    argv_log.write_text("")  # from here on, only what syncer runs
    with CmdlineWatcher() as watcher:
        result = _syncer_run(checkout, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pushed" in result.stdout
    assert remote.log()[0].endswith("[skip ci]")  # the push went through, with the token
    everything = {
        "stdout": result.stdout,
        "stderr": result.stderr,
        "report": remote.show("main", "MAPPING.md"),
        "state": remote.show("main", "mapping.json"),
        "commits": git(remote.bare, "log", "-p", "--all", "--format=%an %ae %s %b"),
        "argv": argv_log.read_text(),
        "cmdlines": "\n".join(watcher.seen),
    }
    assert "skopeo" in everything["argv"]
    assert any("skopeo" in c and "copy" in c for c in watcher.seen)
    for where, text in everything.items():
        for secret in SECRETS:
            assert secret not in text, f"secret found in {where}"
    assert "--creds" not in everything["argv"]
    assert f"--dest-authfile {auth}" in everything["argv"]


def test_wrong_token_fails_the_push_without_printing_it(
    tmp_path: Path, git_server: GitHttpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = Remote(tmp_path, {"syncer.yaml": "destination: r.example.com/m\n"})
    _, sha = remote.commit({"source-images.list": ""}, "empty list")
    checkout = remote.checkout(tmp_path / "ci", sha)
    git(checkout, "remote", "set-url", "origin", git_server.url("remote.git"))
    env = _first_push_env("wrong-" + PUSH_TOKEN)
    result = _syncer_run(checkout, env)
    assert result.returncode == 1
    assert "git push" in result.stderr
    assert "Traceback" not in result.stderr
    assert PUSH_TOKEN not in result.stdout + result.stderr


@pytest.mark.parametrize("insecure", [False, True])
def test_tls_is_verified_unless_the_host_is_named_insecure(
    tmp_path: Path,
    upstream: Registry,
    start_registry: Callable[..., Registry],
    capsys: pytest.CaptureFixture[str],
    insecure: bool,
) -> None:
    make_upstream_image(tmp_path / "oci", upstream.host, ALPINE)
    tls_registry = start_registry("tls", tls=self_signed_certificate(tmp_path))
    conf = write_registries_conf(tmp_path / "r.conf", upstream.host)
    listed = f"insecure_registries: [{tls_registry.host}]\n" if insecure else ""
    (tmp_path / "syncer.yaml").write_text(
        f"destination: {tls_registry.host}/m\nregistries_conf: {conf}\nretry_times: 0\n{listed}"
    )
    from syncer.cli import main

    code = main(["sync", "-C", str(tmp_path), "alpine:3.19", "registry.k8s.io/pause:3.9"])
    out = capsys.readouterr().out
    alpine = next(line for line in out.splitlines() if "alpine" in line)
    if insecure:
        assert "copied" in alpine
        assert out.count(f"TLS verification is off for {tls_registry.host}") == 1
    else:
        assert code == 1
        assert "failed (TLS)" in alpine
        assert "TLS verification is off" not in out
