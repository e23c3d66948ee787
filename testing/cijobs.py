"""Run the jobs of our own `.gitlab-ci.yml` and GitHub workflows, as their runners would.

The script lines come from the CI files themselves (not copies), run in bash with the
environment the provider sets. `uses:` steps of a workflow are what the test harness does by
hand (checkout, artifacts); `${{ ... }}` expressions are resolved from a dict.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
_EXPRESSION = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")


def _environment(extra: dict[str, str]) -> dict[str, str]:
    venv_bin = str(Path(sys.executable).parent)
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("CI_", "GITLAB_", "GITHUB_"))}
    return {**keep, "PATH": f"{venv_bin}{os.pathsep}{os.environ['PATH']}", **extra}


def run_script(
    lines: list[str], cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    script = "set -eo pipefail\n" + "\n".join(lines) + "\n"
    return subprocess.run(
        ["bash", "-c", script],
        cwd=cwd,
        env=_environment(env),
        capture_output=True,
        text=True,
        check=False,
    )


def gitlab_job(name: str) -> dict[str, Any]:
    data = yaml.safe_load((ROOT / ".gitlab-ci.yml").read_text())
    job = dict(data[name])
    for parent in (
        (job.get("extends") or []) if isinstance(job.get("extends"), list) else [job.get("extends")]
    ):
        if parent:
            job = {**data[parent], **job}
    return job


def run_gitlab_job(name: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    job = gitlab_job(name)
    lines = [*job.get("before_script", []), *job["script"]]
    return run_script(lines, cwd, {"GITLAB_CI": "true", "CI": "true", **env})


def resolve(text: str, expressions: dict[str, str]) -> str:
    return _EXPRESSION.sub(lambda m: expressions.get(m.group(1), ""), text)


def run_github_job(
    workflow: str, job_name: str, cwd: Path, env: dict[str, str], expressions: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """The `run:` steps of one job, in order, with job-level `env:` resolved."""
    data = yaml.safe_load((ROOT / ".github" / "workflows" / workflow).read_text())
    job = data["jobs"][job_name]
    job_env = {k: resolve(str(v), expressions) for k, v in (job.get("env") or {}).items()}
    lines = [resolve(step["run"], expressions) for step in job["steps"] if "run" in step]
    return run_script(lines, cwd, {"GITHUB_ACTIONS": "true", "CI": "true", **env, **job_env})
