"""The GitLab CI/CD component (`templates/mirror/template.yml`): its spec and jobs against
GitLab's schema, its rules, the README's inputs table; and this repository's pipeline, which
includes it at its own commit, run end to end by gitlab-ci-local for the push, merge-request and
scheduled flows."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from syncer import version
from testing.cijobs import (
    ROOT,
    component_documents,
    gitlab_jobs_when,
    gitlab_pipeline,
    interpolated,
    pipeline_files,
    run_gitlab_ci_local,
)
from testing.gitrepo import Remote, git
from testing.registry import Registry
from testing.scenario import ALPINE, PAUSE

BIN = Path(sys.executable).parent
COMPONENT = "templates/mirror/template.yml"


def _schema(name: str, *paths: Path | str) -> None:
    found = shutil.which("check-jsonschema", path=str(BIN)) or shutil.which("check-jsonschema")
    if found is None:
        pytest.fail("check-jsonschema is not installed (ci/setup.sh installs it)")
    result = subprocess.run(
        [found, "--builtin-schema", name, *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_component_matches_gitlabs_schema_as_written_and_as_included(tmp_path: Path) -> None:
    """The `spec:` header alone; the jobs with the inputs' defaults (a team that sets none) and
    as gitlab-ci-local includes them into this repository's pipeline (its inputs)."""
    header, body = component_documents(ROOT / COMPONENT)
    spec = header["spec"]["inputs"]
    included = gitlab_pipeline()
    files = {"header": header, "defaults": interpolated(body, spec, {}), "included": included}
    for name, data in files.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(data))
    _schema("vendor.gitlab-ci", *sorted(tmp_path.glob("*.json")))
    assert interpolated(body, spec, {})["resync"]["parallel"] == 1
    assert included["resync"]["parallel"] == 3
    assert included["validate"]["stage"] == "validate"
    assert included["sync"]["variables"]["SYNCER_INSTALL"] == "."


def test_component_keeps_global_keywords_and_secrets_out() -> None:
    """GitLab's advice for components: no `workflow:`, `default:`, `stages:` or global
    `variables:`; and a secret is a CI/CD variable of the project, never an input."""
    header, body = component_documents(ROOT / COMPONENT)
    assert not {"workflow", "default", "stages", "variables", "include"} & set(body)
    inputs = header["spec"]["inputs"]
    assert not [name for name in inputs if re.search("token|auth|password|secret", name)]
    used = set(re.findall(r"inputs\.([\w-]+)", (ROOT / COMPONENT).read_text().split("\n---\n")[1]))
    assert used == set(inputs)  # every input does something, none is left undeclared
    assert set(gitlab_pipeline()) >= {"validate", "sync", "resync", "report", "workflow"}


def _table_names(section: str) -> list[str]:
    """The first column of the README table that follows `section`'s heading."""
    text = (ROOT / "README.md").read_text().split(f"\n### {section}\n", 1)[1].split("\n### ", 1)[0]
    return re.findall(r"^\| `([\w-]+)` \|", text, re.M)


def test_readme_tables_name_every_input_of_the_component_and_the_action() -> None:
    """The catalog shows this project's README: its tables of inputs are the component's and the
    action's own, no more, no less."""
    header, _ = component_documents(ROOT / COMPONENT)
    assert _table_names("GitLab: the CI/CD component") == list(header["spec"]["inputs"])
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert _table_names("GitHub: the action and the reusable workflows") == list(action["inputs"])


@pytest.mark.parametrize(
    ("branch", "pushed", "runs"),
    [("", "main", True), ("", "release", False), ("release", "release", True), ("release", "main", False)],
)  # fmt: skip
def test_component_syncs_pushes_of_the_default_branch_or_of_the_branch_input(
    branch: str, pushed: str, runs: bool
) -> None:
    included = (
        "include:\n  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/mirror@$CI_COMMIT_SHA\n"
        f"    inputs:\n      branch: '{branch}'\n"
    )
    variables = {
        "CI_PIPELINE_SOURCE": "push",
        "CI_COMMIT_BRANCH": pushed,
        "CI_DEFAULT_BRANCH": "main",
    }
    when = gitlab_jobs_when(included, variables)
    assert when["sync"] == ("on_success" if runs else "never")
    assert when["validate"] == when["report"] == when["resync: [1/1]"] == "never"


# The whole pipeline under gitlab-ci-local: this repository's .gitlab-ci.yml, the component at the
# checkout's own commit, rules and inputs as gitlab-ci-local evaluates them, jobs in shells.
def _ran(output: str) -> list[str]:
    """The jobs gitlab-ci-local ran, from its summary lines (`PASS  sync`, `FAIL  validate`)."""
    return sorted(m.group(1) for m in re.finditer(r"^\s*(?:PASS|FAIL)\s+(.+?)\s*$", output, re.M))


@pytest.mark.integration
def test_gitlab_push_pipeline_runs_under_gitlab_ci_local(
    tmp_path: Path, remote: Remote, images: dict[str, str]
) -> None:
    remote.commit(pipeline_files(), "pipeline")
    before, sha = remote.commit({"source-images.list": "alpine:3.19\n"}, "add alpine")
    checkout = remote.checkout(tmp_path / "ci", sha)
    variables = {"GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BEFORE_SHA": before,
                 "CI_COMMIT_BRANCH": "main", "CI_DEFAULT_BRANCH": "main"}  # fmt: skip
    # gitlab-ci-local reads `changes:` against origin/main, which is this very commit: GitLab
    # compares a push with its before SHA, so the rule's paths are taken as changed here
    result = run_gitlab_ci_local(checkout, variables, "--no-evaluate-rule-changes")
    assert result.returncode == 0, result.stdout + result.stderr
    assert _ran(result.stdout) == ["sync"]  # not the MR, schedule or release jobs
    assert f"> syncer {version()}" in result.stdout  # the component's set-up ran, syncer found
    assert remote.log()[0].endswith("[skip ci]")
    assert set(json.loads(remote.show("main", "mapping.json"))["images"]) == {ALPINE}


@pytest.mark.integration
def test_gitlab_merge_request_pipeline_runs_under_gitlab_ci_local(
    tmp_path: Path, remote: Remote, images: dict[str, str]
) -> None:
    remote.commit({**pipeline_files(), "source-images.list": "alpine:3.19\n"}, "main")
    base = git(remote.human, "rev-parse", "HEAD")
    git(remote.human, "checkout", "--quiet", "-b", "feature")
    (remote.human / "source-images.list").write_text(
        "alpine:3.19\nregistry.k8s.io/pause:3.9\nquay.io/nope/missing:9\n"
    )
    git(remote.human, "commit", "--quiet", "-am", "add two")
    git(remote.human, "push", "--quiet", "origin", "feature")
    head = git(remote.human, "rev-parse", "HEAD")
    checkout = remote.checkout(tmp_path / "ci", head)
    variables = {"GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "merge_request_event",
                 "CI_MERGE_REQUEST_DIFF_BASE_SHA": base, "CI_MERGE_REQUEST_IID": "3",
                 "CI_COMMIT_BRANCH": "", "CI_DEFAULT_BRANCH": "main"}  # fmt: skip
    result = run_gitlab_ci_local(checkout, variables)  # `changes:` against main: the MR's diff
    assert result.returncode == 1, result.stdout + result.stderr
    assert _ran(result.stdout) == ["validate"]
    rows = [line for line in result.stdout.splitlines() if "| `" in line]
    assert any("quay.io/nope/missing:9" in r and "FAILED not found" in r for r in rows)
    assert any(PAUSE in r and "found" in r for r in rows)
    assert not any(ALPINE in r for r in rows)  # only what the MR adds


@pytest.mark.integration
def test_gitlab_scheduled_pipeline_runs_three_shards_and_one_report_under_gitlab_ci_local(
    tmp_path: Path, remote: Remote, images: dict[str, str], upstream: Registry
) -> None:
    _, sha = remote.commit(
        {**pipeline_files(), "source-images.list": "\n".join(images) + "\n"}, "list"
    )
    commits = len(remote.log())
    upstream.clear_log()
    checkout = remote.checkout(tmp_path / "ci", sha)
    variables = {"GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "schedule", "CI_COMMIT_BRANCH": "main",
                 "CI_DEFAULT_BRANCH": "main"}  # fmt: skip
    result = run_gitlab_ci_local(checkout, variables, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _ran(result.stdout) == ["report", "resync: [1/3]", "resync: [2/3]", "resync: [3/3]"]
    for name in images:
        repo, _, tag = name.rpartition(":")
        assert upstream.count_exact("GET", f"/v2/{repo}/manifests/{tag}") == 1, name
    assert len(remote.log()) == commits + 1
    assert set(json.loads(remote.show("main", "mapping.json"))["images"]) == set(images)
    assert "3 images: 3 mirrored, 0 failed." in remote.show("main", "MAPPING.md")


@pytest.mark.parametrize(
    ("variables", "running"),
    [
        # GitLab sets CI_REGISTRY_IMAGE only where the registry is enabled; gitlab-ci-local always
        ({"CI_COMMIT_TAG": "0.2.0", "CI_COMMIT_BRANCH": "", "CI_REGISTRY_IMAGE": ""},
         ["release", "release-wheel"]),
        ({"CI_COMMIT_TAG": "0.2.0", "CI_COMMIT_BRANCH": "", "CI_REGISTRY_IMAGE": "r.example.com/t/s"},
         ["release", "release-image", "release-wheel"]),
        ({"CI_COMMIT_BRANCH": "main"}, ["sync"]),
    ],
    ids=["tag", "tag-with-registry", "branch"],
)  # fmt: skip
def test_a_version_tag_runs_the_release_jobs_alone(
    variables: dict[str, str], running: list[str]
) -> None:
    """This repository's pipeline on a tag push: the release, none of the mirror's jobs; the job
    image only where a container registry is enabled. A branch push runs no release job."""
    pushed = {"CI_PIPELINE_SOURCE": "push", "CI_DEFAULT_BRANCH": "main", **variables}
    when = gitlab_jobs_when((ROOT / ".gitlab-ci.yml").read_text(), pushed)
    assert sorted(name for name, decided in when.items() if decided != "never") == running
