"""A newcomer's first hour: no silent waits, errors that name the cause, a CLI that works from
anywhere in the repository. Real processes throughout: the CLI, git, skopeo, registries."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import bcrypt
import pytest

from syncer.copy.skopeo import SkopeoOptions
from syncer.imagelist.parse import Problem
from syncer.imagelist.reference import parse_normalized
from syncer.review.plan import PlanRow, inspect_source, render_plan
from testing.faults import StallingListener
from testing.gitrepo import Remote, git
from testing.registry import Registry
from testing.scenario import syncer_yaml

ROOT = Path(__file__).parent.parent


def _syncer(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syncer", *args],
        cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True, check=False,
    )  # fmt: skip


def _one_error(result: subprocess.CompletedProcess[str], code: int, text: str) -> None:
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("syncer: error:")]
    assert len(errors) == 1, result.stderr
    assert text in errors[0], errors[0]


@pytest.mark.integration
def test_a_hung_registry_is_named_while_waiting_and_timeout_bounds_the_whole_image(
    tmp_path: Path, destination: Registry
) -> None:
    with StallingListener() as stall:
        hung = tmp_path / "hung.conf"
        hung.write_text(
            f'[[registry]]\nprefix = "ghcr.io"\nlocation = "ghcr.io"\n'
            f'[[registry.mirror]]\nlocation = "{stall.host}/ghcr.io"\ninsecure = true\n\n'
            f'[[registry]]\nlocation = "{destination.host}"\ninsecure = true\n'
        )
        yaml = syncer_yaml(destination, hung).replace("timeout: 60", "timeout: 10")
        remote = Remote(tmp_path, {"syncer.yaml": yaml})
        _, sha = remote.commit({"source-images.list": "ghcr.io/stuck/tool:1\n"}, "one hung image")
        checkout = remote.checkout(tmp_path / "ci", sha)
        env = {**os.environ, "GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "push",
               "CI_COMMIT_BEFORE_SHA": "0" * 40, "CI_COMMIT_BRANCH": "main"}  # fmt: skip
        started = time.monotonic()
        job = subprocess.Popen(
            [sys.executable, "-m", "syncer", "run"], cwd=checkout, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert job.stdout is not None
        named_at = None
        for line in job.stdout:
            if named_at is None and line.startswith("... ghcr.io/stuck/tool:1"):
                named_at = time.monotonic() - started
        job.communicate(timeout=60)
        elapsed = time.monotonic() - started
    assert job.returncode == 1
    assert named_at is not None
    assert named_at < 12, named_at
    assert elapsed < 20, elapsed  # timeout=10 for the whole image, plus start-up and the commit


def test_git_missing_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "source-images.list").write_text("alpine:3\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()  # no git in it
    result = _syncer(
        "run", cwd=tmp_path, env={"PATH": str(bin_dir), "SYNCER_DESTINATION": "r.example.com/m"}
    )
    _one_error(result, 2, "git: not found on PATH")


@pytest.mark.integration
def test_run_without_a_remote_says_so_before_copying(tmp_path: Path, destination: Registry) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "source-images.list").write_text("alpine:3.19\n")
    (work / "syncer.yaml").write_text(f"destination: {destination.host}/m\n")
    git(work, "init", "--quiet", "--initial-branch=main")
    git(work, "add", ".")
    git(work, "commit", "--quiet", "-m", "list")
    destination.clear_log()
    result = _syncer("run", cwd=work)
    _one_error(result, 2, "no remote 'origin' to push the report to")
    assert "Nothing was copied or committed" in result.stderr
    assert destination.requests() == []
    assert git(work, "rev-list", "--count", "HEAD") == "1"


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    work = tmp_path / "repo"
    (work / "deep" / "er").mkdir(parents=True)
    (work / "source-images.list").write_text("alpine:3\nquay.io/a/b:1\n")
    (work / "syncer.yaml").write_text("destination: r.example.com/m\n")
    git(work, "init", "--quiet", "--initial-branch=main")
    return work


@pytest.mark.parametrize(
    "argv",
    [
        ["-C", "{repo}", "show-images"],
        ["show-images", "-C", "{repo}"],
        ["show-images"],  # from a subfolder
        ["--list", "source-images.list", "show-images"],
    ],
)
def test_global_options_before_or_after_and_the_root_from_a_subfolder(
    repository: Path, argv: list[str]
) -> None:
    result = _syncer(*(a.format(repo=repository) for a in argv), cwd=repository / "deep" / "er")
    assert result.returncode == 0, result.stderr
    assert "alpine:3 -> r.example.com/m/docker.io/library/alpine:3" in result.stdout


def test_dest_before_the_command_and_after_it_wins(repository: Path) -> None:
    result = _syncer(
        "--dest", "a.example.com/x", "show-images", "--dest", "b.example.com/y", cwd=repository
    )
    assert "-> b.example.com/y/" in result.stdout
    result = _syncer("--dest", "a.example.com/x", "show-images", cwd=repository)
    assert "-> a.example.com/x/" in result.stdout


@pytest.mark.parametrize(
    ("setup", "argv", "message"),
    [
        ("no-list", ["check"], "source-images.list: no such file (set 'list' in syncer.yaml or pass --list)"),
        ("wrong-list", ["check", "--list", "nope.list"], "nope.list: no such file"),
        ("no-repo", ["diff"], "not inside a git repository"),
        ("scheme", ["--dest", "https://harbor.example.com/third", "show-images"], "has a URL scheme (https://); write it without: 'harbor.example.com/third'"),
        ("yaml", ["check"], "syncer.yaml:1: not valid YAML"),
        ("typo", ["check"], "unknown key 'concurency' (did you mean 'concurrency'?"),
        ("none", ["sync"], "give at least one IMAGE"),
    ],
)  # fmt: skip
def test_configuration_errors_are_one_line_and_exit_2(
    tmp_path: Path, setup: str, argv: list[str], message: str
) -> None:
    (tmp_path / "source-images.list").write_text("alpine:3\n")
    if setup == "no-list":
        (tmp_path / "source-images.list").unlink()
    elif setup == "yaml":
        (tmp_path / "syncer.yaml").write_text("destination: [oops\n")
    elif setup == "typo":
        (tmp_path / "syncer.yaml").write_text("concurency: 2\n")
    _one_error(_syncer(*argv, cwd=tmp_path), 2, message)


def test_sync_help_shows_the_images_plainly() -> None:
    result = _syncer("sync", "--help", cwd=ROOT)
    assert "[OPTIONS] [IMAGE...]" in result.stdout
    assert "{IMAGE" not in result.stdout


def test_diff_reports_bad_lines(repository: Path) -> None:
    git(repository, "add", ".")
    git(repository, "commit", "--quiet", "-m", "two")
    (repository / "source-images.list").write_text(
        "alpine:3\nquay.io/a/b:1\nNOT VALID\nbusybox:1\n"
    )
    git(repository, "commit", "--quiet", "-am", "a bad line")
    result = _syncer("diff", cwd=repository)
    assert result.returncode == 1
    assert "syncer: warning: source-images.list:3:" in result.stderr
    assert "+ docker.io/library/busybox:1" in result.stdout


def test_bad_lines_are_warnings_in_show_images(repository: Path) -> None:
    (repository / "source-images.list").write_text("alpine:3\n$(touch x)\n")
    result = _syncer("show-images", cwd=repository)
    assert result.returncode == 1
    assert result.stderr.startswith("syncer: warning: source-images.list:2:")


def test_the_plan_counts_bad_lines_and_unreadable_sources_apart() -> None:
    rows = [PlanRow("a", "d/a", problem="not found: x"), PlanRow("b", "d/b", ("linux/amd64",))]
    problems = [Problem("l", 3, "invalid reference format")]
    text = render_plan(rows, problems, "no previous commit: every image is new")
    assert "1 invalid line(s) in the list and 1 added image(s) that cannot be read" in text
    assert "2 image(s) added. Compared with: no previous commit: every image is new." in text


@pytest.mark.integration
def test_the_plan_says_when_the_job_has_no_credentials(
    tmp_path: Path, start_registry: Callable[..., Registry]
) -> None:
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(f"robot:{bcrypt.hashpw(b'pw', bcrypt.gensalt(rounds=4)).decode()}\n")
    locked = start_registry("locked", htpasswd=htpasswd)
    empty_auth = tmp_path / "auth.json"
    empty_auth.write_text("{}")
    source = parse_normalized(f"{locked.host}/private/app:1")
    mapping = type(
        "M", (), {"source": source, "destination": parse_normalized("d.example.com/x:1")}
    )()
    options = SkopeoOptions(
        authfile=str(empty_auth), retry_times=0, insecure_registries=(locked.host,)
    )
    from syncer.containers.auth import AuthFile, DockerAuth

    row = inspect_source(mapping, options, 60, DockerAuth([AuthFile(empty_auth)]))
    assert row.problem is not None
    assert row.problem.startswith("unauthorized:")
    assert f"this job has no credentials for {locked.host}" in row.problem
    assert "protected variables" in row.problem


@pytest.mark.integration
def test_job_setup_installs_into_a_venv_where_pip_may_not_touch_the_system(tmp_path: Path) -> None:
    """A shell runner: skopeo present, syncer not, system pip off limits (PEP 668)."""
    project = tmp_path / "project"
    for name in ("pyproject.toml", "README.md", "ci/job-setup.sh"):
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, project / name)
    shutil.copytree(
        ROOT / "syncer", project / "syncer", ignore=shutil.ignore_patterns("__pycache__")
    )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("skopeo", "git"):
        (bin_dir / tool).symlink_to(shutil.which(tool) or f"/usr/bin/{tool}")
    (bin_dir / "python3").symlink_to(Path(sys.base_prefix) / "bin" / "python3")
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PIP_BREAK_SYSTEM_PACKAGES": "",
    }
    result = subprocess.run(
        ["sh", "-c", ". ci/job-setup.sh && command -v syncer && syncer --version"],
        cwd=project, env=env, capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{project}/.syncer-venv/bin/syncer" in result.stdout
