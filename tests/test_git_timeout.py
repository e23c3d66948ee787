"""git is bounded like every other process: a remote that accepts the connection and never
answers costs `git_timeout`, says so while it waits, and the report commit is pushed later."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from syncer import process
from syncer.process import Completed, describe_failure
from testing.faults import StallingListener
from testing.gitrepo import Remote, git
from testing.scenario import ALPINE

pytestmark = pytest.mark.integration


def test_a_failed_command_is_described_whole_with_its_output_indented() -> None:
    done = Completed(
        ("git", "push", "https://bot:s3cret@git.example.com/x.git", "HEAD:main"),
        128, "", "fatal: unable to access\nhint: check the URL\n", 1.2,
    )  # fmt: skip
    assert describe_failure(done).splitlines() == [
        "command: git push https://***@git.example.com/x.git HEAD:main",
        "return code 128",
        "stderr:",
        "    fatal: unable to access",
        "    hint: check the URL",
    ]
    slow = Completed(("git", "fetch"), -9, "", "", 15.0, timed_out=True)
    assert describe_failure(slow).splitlines()[1] == "timed out after 15s"


def test_git_may_start_after_a_stop_and_one_in_flight_is_stopped() -> None:
    try:
        process.stop_all()
        assert not process.run(("true",)).ok  # others: nothing new starts
        assert process.run(("true",), starts_when_stopping=True).ok
        results: list[process.Completed] = []
        thread = threading.Thread(
            target=lambda: results.append(
                process.run(("sleep", "30"), starts_when_stopping=True, timeout=60)
            )
        )
        thread.start()
        deadline = time.monotonic() + 10
        while not process._running and time.monotonic() < deadline:
            time.sleep(0.01)
        process.stop_all()  # as the signal handler does: the one in flight is stopped too
        thread.join(timeout=10)
        [stopped] = results
        assert stopped.returncode == -signal.SIGTERM
        assert not stopped.timed_out
    finally:
        process.reset()


def test_a_push_to_a_remote_that_never_answers_ends_in_time_and_the_next_run_pushes_it(
    tmp_path: Path, remote: Remote, images: dict[str, str]
) -> None:
    before, sha = remote.commit({"source-images.list": "alpine:3.19\n"}, "alpine")
    checkout = remote.checkout(tmp_path / "ci", sha)
    env = {**os.environ, "GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "push",
           "CI_COMMIT_BEFORE_SHA": before, "CI_COMMIT_SHA": sha, "CI_COMMIT_BRANCH": "main"}  # fmt: skip
    command = [sys.executable, "-m", "syncer", "--set", "git_timeout=15", "run"]
    with StallingListener() as stalling:
        git(checkout, "remote", "set-url", "origin", f"http://{stalling.host}/team/mirror.git")
        started = time.monotonic()
        job = subprocess.run(
            command, cwd=checkout, env=env, capture_output=True, text=True, timeout=120
        )
        took = time.monotonic() - started
    said = job.stdout + job.stderr
    assert took < 60, said
    assert job.returncode == 1, said
    errors = [line for line in job.stderr.splitlines() if line.startswith("syncer: error:")]
    assert len(errors) == 1, said
    assert "git push origin: no answer within 15s" in errors[0]
    assert f"... git push {stalling.host}" not in said  # the remote is named as configured
    assert "... git push origin: waiting for the remote" in said  # the heartbeat
    assert "Update image mirror report" in git(checkout, "log", "-1", "--format=%s")
    assert remote.log()[0] == "alpine"  # nothing reached the real remote

    git(checkout, "remote", "set-url", "origin", remote.url)
    again = subprocess.run([*command[:3], "run"], cwd=checkout, env=env, capture_output=True,
                           text=True, timeout=120)  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr
    assert "pushing 1 report commit(s) that an earlier run left unpushed" in again.stdout
    assert remote.log()[0].startswith("Update image mirror report")
    assert ALPINE in remote.show("main", "mapping.json")
