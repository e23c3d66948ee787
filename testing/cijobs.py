"""Run the GitLab jobs of our own `.gitlab-ci.yml` as a runner would, and the pieces that GitLab
and GitHub jobs share (see `testing.workflows` for the GitHub side).

The pipeline is the one gitlab-ci-local builds from `.gitlab-ci.yml` (the component included at
this commit, its inputs filled in, `extends:` merged); a job's lines run in bash with its
variables and the ones GitLab sets. `run_gitlab_ci_local` runs whole pipelines with
gitlab-ci-local itself.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
GITLAB_CI_LOCAL = ROOT / ".tools" / "node_modules" / ".bin" / "gitlab-ci-local"
# What gitlab-ci-local needs of this repository to build its pipeline: the file and the component.
PIPELINE_FILES = (".gitlab-ci.yml", "templates/mirror/template.yml")


def environment(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without the CI's own variables, the test venv's tools first."""
    venv_bin = str(Path(sys.executable).parent)
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("CI_", "GITLAB_", "GITHUB_"))}
    return {**keep, "PATH": f"{venv_bin}{os.pathsep}{os.environ['PATH']}", **extra}


def run_script(
    lines: list[str], cwd: Path, env: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    script = "set -eo pipefail\n" + "\n".join(lines) + "\n"
    return subprocess.run(
        ["bash", "-c", script],
        cwd=cwd,
        env=environment(env),
        capture_output=True,
        text=True,
        check=False,
    )


# GitLab ------------------------------------------------------------------------------------
def pipeline_files() -> dict[str, str]:
    """This repository's pipeline files, by path: what a repository needs to run its pipeline."""
    return {name: (ROOT / name).read_text() for name in PIPELINE_FILES}


def run_gitlab_ci_local(
    cwd: Path, variables: Mapping[str, str], *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """gitlab-ci-local in a checkout: jobs in shells (no Docker here), GitLab's variables given."""
    if not GITLAB_CI_LOCAL.exists():
        raise RuntimeError("gitlab-ci-local is not installed (ci/setup.sh --test installs it)")
    argv = [str(GITLAB_CI_LOCAL), "--shell-isolation", "--force-shell-executor"]
    for key, value in variables.items():
        argv += ["--variable", f"{key}={value}"]
    return subprocess.run(
        [*argv, *args],
        cwd=cwd,
        env=environment({}),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _gitlab_ci_local_in_commit(
    files: Mapping[str, str], variables: Mapping[str, str], *args: str
) -> str:
    """gitlab-ci-local's output for `files` committed in a repository of their own: the
    component resolves at HEAD's SHA, as GitLab resolves it in this project's pipelines."""
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        for name, text in files.items():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            (repo / name).write_text(text)
        identity = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
        for git_args in (
            ["init", "-q", "-b", "main"],
            ["add", "-A"],
            [*identity, "commit", "-qm", "ci"],
        ):
            subprocess.run(["git", *git_args], cwd=repo, check=True, capture_output=True)
        result = run_gitlab_ci_local(repo, variables, *args, "--no-evaluate-rule-changes")
    if result.returncode != 0:
        raise RuntimeError(f"gitlab-ci-local {args} failed:\n{result.stdout}{result.stderr}")
    # warnings (inputs' `regex:` is not checked by gitlab-ci-local) come first, on stdout
    lines = result.stdout.splitlines(keepends=True)
    return "".join(line for line in lines if not line.startswith(" WARN "))


@functools.cache
def gitlab_pipeline() -> dict[str, Any]:
    """`.gitlab-ci.yml` as gitlab-ci-local builds it (`--preview`): the component included at
    the same commit, its inputs filled in, `extends:` merged."""
    data = yaml.safe_load(_gitlab_ci_local_in_commit(pipeline_files(), {}, "--preview"))
    assert isinstance(data, dict)
    return data


def gitlab_jobs_when(gitlab_ci_yml: str, variables: Mapping[str, str]) -> dict[str, str]:
    """Each job's `when` as gitlab-ci-local decides it from the rules (`changes:` taken as
    changed), for a .gitlab-ci.yml that includes the component at the same commit."""
    files = {**pipeline_files(), ".gitlab-ci.yml": gitlab_ci_yml}
    listed = json.loads(_gitlab_ci_local_in_commit(files, variables, "--list-json"))
    return {str(job["name"]): str(job["when"]) for job in listed}


def gitlab_job(name: str) -> dict[str, Any]:
    job = gitlab_pipeline()[name]
    assert isinstance(job, dict), name
    return job


def run_gitlab_job(name: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    job = gitlab_job(name)
    variables = {**gitlab_pipeline().get("variables", {}), **job.get("variables", {})}
    lines = [*job.get("before_script", []), *job["script"]]
    given = {"GITLAB_CI": "true", "CI": "true", "CI_PROJECT_DIR": str(cwd), **env}
    return run_script(lines, cwd, {**{k: str(v) for k, v in variables.items()}, **given})


# Checking the files ------------------------------------------------------------------------
_INPUT = re.compile(r"\$\[\[\s*inputs\.([\w-]+)\s*\]\]")


def component_documents(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """A component's two documents: the `spec:` header and the configuration."""
    header, body = yaml.safe_load_all(path.read_text())
    assert isinstance(header, dict), path
    assert isinstance(body, dict), path
    return header, body


def interpolated(body: Any, spec: Mapping[str, Any], given: Mapping[str, Any]) -> Any:
    """The configuration with `$[[ inputs.NAME ]]` filled in from `given`, else the defaults:
    a scalar that is only the placeholder takes the input's own type (a number stays one)."""

    def value(name: str) -> Any:
        return given[name] if name in given else spec[name].get("default")

    if isinstance(body, str):
        whole = _INPUT.fullmatch(body)
        if whole:
            return value(whole.group(1))
        return _INPUT.sub(lambda m: str(value(m.group(1))), body)
    if isinstance(body, list):
        return [interpolated(item, spec, given) for item in body]
    if isinstance(body, dict):
        return {key: interpolated(item, spec, given) for key, item in body.items()}
    return body
