"""Run the jobs of our own GitHub workflows, as the runner would.

A job is found in the workflow or in the reusable workflow one of its jobs calls
(`uses: ./.github/workflows/...`, with the caller's `with:` and `secrets:`); a step that uses
syncer's action runs the action's steps (`action.yml`, this checkout's); each `run:` step runs
in bash of its own, with `GITHUB_ENV`, `GITHUB_PATH` and `GITHUB_OUTPUT` files as the runner
keeps them. Other `uses:` steps are what the test does by hand (checkout, artifacts).
`${{ ... }}` expressions are names looked up in a dict, string literals and `||`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from testing.cijobs import ROOT, environment, run_script

WORKFLOWS = ROOT / ".github" / "workflows"
# The checkout that the reusable workflows make of syncer itself; its action is this checkout's.
SYNCER_ACTION = "./.syncer-action"
_EXPRESSION = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")
_NAME = re.compile(r"[A-Za-z_][\w-]*(\.[\w-]+)*")


def resolve(text: str, expressions: Mapping[str, str]) -> str:
    return _EXPRESSION.sub(lambda m: evaluate(m.group(1), expressions), text)


def evaluate(expression: str, expressions: Mapping[str, str]) -> str:
    """`a || b || 'literal'`: the first operand that is not empty; a name missing from
    `expressions` is empty (an unset variable or secret). Anything else is refused."""
    for operand in (part.strip() for part in expression.split("||")):
        if len(operand) >= 2 and operand[0] == operand[-1] == "'":
            value = operand[1:-1].replace("''", "'")
        elif _NAME.fullmatch(operand):
            value = expressions.get(operand, "")
        else:
            raise ValueError(f"${{{{ {expression} }}}}: the test harness cannot evaluate this")
        if value:
            return value
    return ""


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), path
    return data


def _reusable(uses: str, released: str | None) -> Path:
    """This checkout's file of a reusable workflow: `./.github/workflows/X.yml`, or
    `RELEASED/.github/workflows/X.yml@REF` standing for a release of syncer (as `syncer init`
    writes it), when `released` names syncer's repository."""
    if uses.startswith("./"):
        return ROOT / uses
    repository, sep, rest = uses.partition("/.github/workflows/")
    if released and sep and repository == released:
        return WORKFLOWS / rest.partition("@")[0]
    raise ValueError(f"{uses}: only syncer's own reusable workflows run here")


def _called(
    caller: dict[str, Any], expressions: Mapping[str, str], released: str | None
) -> tuple[dict[str, Any], dict[str, str]]:
    """The reusable workflow a job calls, and the expressions inside it: its inputs (the
    caller's `with:` over the defaults), the secrets passed, `github.*` and `matrix.*` as given."""
    workflow = _load(_reusable(str(caller["uses"]), released))
    triggers: dict[Any, Any] = workflow
    declared = triggers[True]["workflow_call"]  # PyYAML reads the key `on` as True
    inputs = {
        f"inputs.{key}": str(spec.get("default", ""))
        for key, spec in (declared.get("inputs") or {}).items()
    }
    given = {
        f"inputs.{k}": resolve(str(v), expressions) for k, v in (caller.get("with") or {}).items()
    }
    secrets = {
        f"secrets.{k}": resolve(str(v), expressions)
        for k, v in (caller.get("secrets") or {}).items()
    }
    passed = {
        k: v for k, v in expressions.items() if k.startswith(("github.", "matrix.", "runner."))
    }
    token = {"secrets.GITHUB_TOKEN": expressions.get("secrets.GITHUB_TOKEN", "")}
    return workflow, {**passed, **token, **inputs, **given, **secrets}


def github_job(
    workflow: str | Path, job_name: str, expressions: Mapping[str, str], released: str | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """A job of the workflow (a name in this repository's workflows, or a path), or of a
    reusable workflow that one of its jobs calls."""
    jobs: dict[str, Any] = _load(WORKFLOWS / workflow)["jobs"]
    job = jobs.get(job_name)
    if job is not None and "uses" not in job:
        return job, dict(expressions)
    callers = [job] if job is not None else [j for j in jobs.values() if "uses" in j]
    for caller in callers:
        called, inner = _called(caller, expressions, released)
        called_jobs: dict[str, Any] = called["jobs"]
        if job_name in called_jobs:
            return called_jobs[job_name], inner
        if job is not None and len(called_jobs) == 1:
            return next(iter(called_jobs.values())), inner
    raise KeyError(f"{workflow}: no job {job_name!r}")


@dataclass
class StepRun:
    """One job's run: the runner's files, and the output of every step."""

    cwd: Path
    env: dict[str, str]
    files: Path
    outputs: list[subprocess.CompletedProcess[str]] = field(default_factory=list)
    step_outputs: dict[str, str] = field(default_factory=dict)  # what GITHUB_OUTPUT received

    @property
    def returncode(self) -> int:
        return self.outputs[-1].returncode if self.outputs else 0

    @property
    def stdout(self) -> str:
        return "".join(o.stdout for o in self.outputs)

    @property
    def stderr(self) -> str:
        return "".join(o.stderr for o in self.outputs)

    def _runner_env(self) -> tuple[dict[str, str], str]:
        """GITHUB_ENV's assignments and PATH with GITHUB_PATH's folders first, as the runner
        applies them to the steps that follow."""
        added: dict[str, str] = {}
        for line in (self.files / "env").read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep:
                added[key] = value
        folders = (self.files / "path").read_text().split()
        return added, os.pathsep.join([*reversed(folders), environment({})["PATH"]])

    def step(self, script: str, env: Mapping[str, str]) -> bool:
        files = {f"GITHUB_{n.upper()}": str(self.files / n) for n in ("env", "path", "output")}
        added, path = self._runner_env()
        merged = {**self.env, **files, **added, **env, "PATH": path}
        result = run_script([script], self.cwd, merged)
        self.outputs.append(result)
        return result.returncode == 0


def _action_steps(
    step: dict[str, Any], expressions: Mapping[str, str], runner_temp: Path
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The steps of syncer's composite action and the expressions inside it."""
    action = _load(ROOT / "action.yml")
    declared: dict[str, Any] = action.get("inputs") or {}
    inputs = {f"inputs.{k}": str(spec.get("default", "")) for k, spec in declared.items()}
    given = {
        f"inputs.{k}": resolve(str(v), expressions) for k, v in (step.get("with") or {}).items()
    }
    unknown = set(given) - set(inputs)
    if unknown:
        raise KeyError(f"action.yml has no input {sorted(unknown)}")
    inner = {
        **expressions,
        **inputs,
        **given,
        "github.action_path": str(ROOT),
        "runner.temp": str(runner_temp),
    }
    steps: list[dict[str, Any]] = action["runs"]["steps"]
    return steps, inner


def _run_steps(
    steps: list[dict[str, Any]],
    expressions: Mapping[str, str],
    run: StepRun,
    action_env: dict[str, str],
) -> bool:
    for step in steps:
        if step.get("uses") == SYNCER_ACTION:
            inner_steps, inner = _action_steps(step, expressions, run.files / "temp")
            if not _run_steps(inner_steps, inner, run, {"GITHUB_ACTION_PATH": str(ROOT)}):
                return False
        elif "run" in step:
            env = {k: resolve(str(v), expressions) for k, v in (step.get("env") or {}).items()}
            if not run.step(resolve(step["run"], expressions), {**action_env, **env}):
                return False
    return True


def run_github_job(
    workflow: str | Path,
    job_name: str,
    cwd: Path,
    env: dict[str, str],
    expressions: dict[str, str],
    *,
    released: str | None = None,
) -> StepRun:
    """The steps of one job, in order, each in its own shell, until one fails. With `released`
    (syncer's repository, OWNER/REPO), a call of its reusable workflows runs this checkout's."""
    job, inner = github_job(workflow, job_name, expressions, released)
    job_env = {k: resolve(str(v), inner) for k, v in (job.get("env") or {}).items()}
    files = Path(tempfile.mkdtemp(prefix="runner-"))
    for name in ("env", "path", "output"):
        (files / name).touch()
    (files / "temp").mkdir()
    base = {"GITHUB_ACTIONS": "true", "CI": "true", "RUNNER_TEMP": str(files / "temp"), **env}
    run = StepRun(cwd, {**base, **job_env}, files)
    try:
        _run_steps(job["steps"], inner, run, {})
        for line in (files / "output").read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep:
                run.step_outputs[key] = value
    finally:
        shutil.rmtree(files, ignore_errors=True)
    return run
