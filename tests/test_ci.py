"""CI integration: our own pipeline files, their jobs run as each provider would run them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncer.ci import ZERO_SHA, detect
from testing.cijobs import ROOT, run_gitlab_job
from testing.comments import CommentsApi
from testing.gitrepo import Remote, git
from testing.registry import Registry
from testing.scenario import ALPINE, OPERATOR, PAUSE
from testing.workflows import run_github_job

BIN = Path(sys.executable).parent
WORKFLOWS = sorted(str(p) for p in (ROOT / ".github" / "workflows").glob("*.yml"))


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed (ci/setup.sh installs it)")
    return found


def _schema(name: str, *paths: Path | str) -> None:
    result = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", name, *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_gitlab_ci_yml_matches_gitlabs_schema() -> None:
    _schema("vendor.gitlab-ci", ROOT / ".gitlab-ci.yml")


def test_workflows_match_githubs_schema_and_pass_actionlint(tmp_path: Path) -> None:
    _schema("vendor.github-workflows", *WORKFLOWS)
    _schema("vendor.github-actions", ROOT / "action.yml")
    result = subprocess.run(
        [_tool("actionlint"), *WORKFLOWS], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_checks_every_use_of_the_action_against_action_yml(tmp_path: Path) -> None:
    """The reusable workflows use syncer's action from their checkout of syncer
    (`./.syncer-action`); with action.yml there, actionlint checks each `with:` against its
    inputs (and the calls of the reusable workflows against their inputs and secrets)."""
    shutil.copytree(ROOT / ".github", tmp_path / ".github")
    (tmp_path / ".syncer-action").mkdir()
    shutil.copy(ROOT / "action.yml", tmp_path / ".syncer-action" / "action.yml")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    workflows = sorted(str(p) for p in (tmp_path / ".github" / "workflows").glob("*.yml"))
    result = subprocess.run(
        [_tool("actionlint"), *workflows], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    uses = [f for f in workflows if "uses: ./.syncer-action" in Path(f).read_text()]
    assert len(uses) == 3  # every reusable workflow; a wrong input fails the same run:
    broken = Path(uses[0])
    broken.write_text(broken.read_text().replace("command:", "comand:", 1))
    result = subprocess.run(
        [_tool("actionlint"), str(broken)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert 'input "comand" is not defined in action "syncer"' in result.stdout


# The CI context ---------------------------------------------------------------------------
def test_detect_gitlab_contexts() -> None:
    push = detect({"GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BEFORE_SHA": ZERO_SHA,
                   "CI_COMMIT_BRANCH": "main", "CI_DEFAULT_BRANCH": "main", "CI_JOB_URL": "https://g/j/1"})  # fmt: skip
    assert (push.provider, push.event, push.before_sha, push.branch) == (
        "gitlab",
        "push",
        ZERO_SHA,
        "main",
    )
    assert push.job_url == "https://g/j/1"
    mr = detect({"GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "merge_request_event",
                 "CI_MERGE_REQUEST_DIFF_BASE_SHA": "abc", "CI_MERGE_REQUEST_IID": "7",
                 "CI_API_V4_URL": "https://g/api/v4", "CI_PROJECT_ID": "42", "SYNCER_COMMENT_TOKEN": "tok-s3cret"})  # fmt: skip
    assert (mr.event, mr.merge_base_sha, mr.merge_request, mr.project) == (
        "merge_request",
        "abc",
        "7",
        "42",
    )
    assert mr.comment_token == "tok-s3cret"
    assert "tok-s3cret" not in repr(mr)
    schedule = detect(
        {
            "GITLAB_CI": "true",
            "CI_PIPELINE_SOURCE": "schedule",
            "CI_NODE_INDEX": "2",
            "CI_NODE_TOTAL": "3",
        }
    )
    assert (schedule.event, schedule.shard) == ("schedule", (2, 3))
    assert detect({"GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "web"}).event == "manual"


def test_detect_github_contexts(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"before": "b" * 40, "repository": {"default_branch": "main"}}))
    env = {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": str(event),
           "GITHUB_REF_NAME": "main", "GITHUB_REPOSITORY": "o/r", "GITHUB_SERVER_URL": "https://gh",
           "GITHUB_RUN_ID": "9"}  # fmt: skip
    push = detect(env)
    assert (push.event, push.before_sha, push.branch, push.default_branch) == (
        "push",
        "b" * 40,
        "main",
        "main",
    )
    assert push.job_url == "https://gh/o/r/actions/runs/9"
    event.write_text(json.dumps({"pull_request": {"number": 5, "base": {"sha": "c" * 40}}}))
    pr = detect({**env, "GITHUB_EVENT_NAME": "pull_request", "GITHUB_HEAD_REF": "feature"})
    assert (pr.event, pr.merge_base_sha, pr.merge_request, pr.branch) == (
        "merge_request",
        "c" * 40,
        "5",
        "feature",
    )
    shard = detect(
        {
            **env,
            "GITHUB_EVENT_NAME": "schedule",
            "SYNCER_SHARD_INDEX": "2",
            "SYNCER_SHARD_TOTAL": "3",
        }
    )
    assert (shard.event, shard.shard) == ("schedule", (2, 3))
    assert detect({**env, "GITHUB_EVENT_NAME": "workflow_dispatch"}).event == "manual"
    assert detect({}).provider == "local"


# Jobs on real repositories and registries ------------------------------------------------
@pytest.mark.integration
def test_gitlab_push_job_first_push_of_a_branch(
    tmp_path: Path, remote: Remote, images: dict[str, str]
) -> None:
    _, sha = remote.commit(
        {"source-images.list": "alpine:3.19\nregistry.k8s.io/pause:3.9\n"}, "add"
    )
    checkout = remote.checkout(tmp_path / "ci", sha, depth=20)
    env = {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BEFORE_SHA": ZERO_SHA, "CI_COMMIT_SHA": sha,
           "CI_COMMIT_BRANCH": "main", "CI_DEFAULT_BRANCH": "main"}  # fmt: skip
    result = run_gitlab_job("sync", checkout, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[skip ci]" in remote.log()[0]
    assert set(json.loads(remote.show("main", "mapping.json"))["images"]) == {ALPINE, PAUSE}


@pytest.mark.integration
def test_gitlab_merge_request_with_a_missing_tag_fails_naming_it(
    tmp_path: Path, remote: Remote, images: dict[str, str]
) -> None:
    _, base = remote.commit({"source-images.list": "alpine:3.19\n"}, "main")
    git(remote.human, "checkout", "--quiet", "-b", "feature")
    (remote.human / "source-images.list").write_text(
        "alpine:3.19\nregistry.k8s.io/pause:3.9\nquay.io/nope/missing:9\n"
    )
    git(remote.human, "commit", "--quiet", "-am", "add two")
    git(remote.human, "push", "--quiet", "origin", "feature")
    head = git(remote.human, "rev-parse", "HEAD")
    checkout = remote.checkout(tmp_path / "ci", head)
    env = {"CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_DIFF_BASE_SHA": base,
           "CI_COMMIT_SHA": head, "CI_MERGE_REQUEST_IID": "3"}  # fmt: skip
    result = run_gitlab_job("validate", checkout, env)
    assert result.returncode == 1
    rows = [line for line in result.stdout.splitlines() if line.startswith("| `")]
    assert len(rows) == 2  # only what the MR adds
    assert any("quay.io/nope/missing:9" in r and "FAILED not found" in r for r in rows)
    assert any(PAUSE in r and "linux/amd64, linux/arm64" in r and "found" in r for r in rows)


@pytest.mark.integration
@pytest.mark.parametrize("source", ["schedule", "web"])
def test_gitlab_resync_in_three_shards_copies_each_image_once_and_commits_once(
    tmp_path: Path, remote: Remote, images: dict[str, str], upstream: Registry, source: str
) -> None:
    listing = "\n".join(images) + "\n"
    _, sha = remote.commit({"source-images.list": listing}, "list")
    commits = len(remote.log())
    upstream.clear_log()
    artifacts = tmp_path / "artifacts"
    for index in (1, 2, 3):
        checkout = remote.checkout(tmp_path / f"shard-{index}", sha, depth=20)
        env = {"CI_PIPELINE_SOURCE": source, "CI_COMMIT_SHA": sha, "CI_COMMIT_BRANCH": "main",
               "CI_NODE_INDEX": str(index), "CI_NODE_TOTAL": "3"}  # fmt: skip
        result = run_gitlab_job("resync", checkout, env)
        assert result.returncode == 0, result.stdout + result.stderr
        shutil.copytree(checkout / "results", artifacts, dirs_exist_ok=True)
    for name in images:
        repo, _, tag = name.rpartition(":")
        # The upstream stores each image under its full name (see testing.mirrors).
        assert upstream.count_exact("GET", f"/v2/{repo}/manifests/{tag}") == 1, name
    report_checkout = remote.checkout(tmp_path / "report", sha, depth=20)
    shutil.copytree(artifacts, report_checkout / "results")
    env = {"CI_PIPELINE_SOURCE": source, "CI_COMMIT_SHA": sha, "CI_COMMIT_BRANCH": "main"}
    result = run_gitlab_job("report", report_checkout, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(remote.log()) == commits + 1
    assert set(json.loads(remote.show("main", "mapping.json"))["images"]) == set(images)
    assert "3 images: 3 mirrored, 0 failed." in remote.show("main", "MAPPING.md")


@pytest.mark.integration
def test_github_push_job_reads_before_from_the_event_file(
    tmp_path: Path, remote: Remote, images: dict[str, str], upstream: Registry
) -> None:
    before, sha = remote.commit({"source-images.list": "alpine:3.19\n"}, "1")
    checkout = remote.checkout(tmp_path / "ci-1", sha)
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"before": ZERO_SHA, "repository": {"default_branch": "main"}}))
    env = {"GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": str(event), "GITHUB_REF_NAME": "main",
           "GITHUB_SHA": sha, "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}  # fmt: skip
    result = run_github_job("sync.yml", "sync", checkout, env, {})
    assert result.returncode == 0, result.stdout + result.stderr
    before, sha = remote.commit({"source-images.list": f"alpine:3.19\n{OPERATOR}\n"}, "2")
    event.write_text(json.dumps({"before": before, "repository": {"default_branch": "main"}}))
    upstream.clear_log()
    result = run_github_job("sync.yml", "sync", remote.checkout(tmp_path / "ci-2", sha), env, {})
    assert result.returncode == 0, result.stdout + result.stderr
    assert upstream.count("GET", "manifests", "alpine") == 0
    assert set(json.loads(remote.show("main", "mapping.json"))["images"]) == {ALPINE, OPERATOR}
    assert "1 images: 1 copied, 0 skipped, 0 failed." in (tmp_path / "summary.md").read_text()


@pytest.fixture
def github_api() -> Iterator[CommentsApi]:
    api = CommentsApi()
    yield api
    api.stop()


@pytest.mark.integration
def test_github_pull_request_plan_goes_to_summary_and_one_comment(
    tmp_path: Path, remote: Remote, images: dict[str, str], github_api: CommentsApi
) -> None:
    _, base = remote.commit({"source-images.list": "alpine:3.19\n"}, "main")
    git(remote.human, "checkout", "--quiet", "-b", "feature")
    (remote.human / "source-images.list").write_text(f"alpine:3.19\n{OPERATOR}\n")
    git(remote.human, "commit", "--quiet", "-am", "add operator")
    head = git(remote.human, "rev-parse", "HEAD")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 12, "base": {"sha": base}}}))
    summary = tmp_path / "summary.md"
    env = {"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event), "GITHUB_SHA": head,
           "GITHUB_HEAD_REF": "feature", "GITHUB_REPOSITORY": "o/r", "GITHUB_API_URL": github_api.url,
           "GITHUB_STEP_SUMMARY": str(summary)}  # fmt: skip
    expressions = {"secrets.GITHUB_TOKEN": "ghs_test_token"}
    git(remote.human, "push", "--quiet", "origin", "feature")
    for attempt in (1, 2):
        checkout = remote.checkout(tmp_path / f"ci-{attempt}", head)
        result = run_github_job("validate.yml", "plan", checkout, env, expressions)
        assert result.returncode == 0, result.stdout + result.stderr
    assert [c[0] for c in github_api.calls] == ["GET", "POST", "GET", "PATCH"]
    assert all(c[2] == "Bearer ghs_test_token" for c in github_api.calls)
    assert github_api.calls[1][1] == "/repos/o/r/issues/12/comments"
    (comment,) = github_api.comments.values()
    assert OPERATOR in comment
    assert ALPINE not in comment  # only what the PR adds
    assert summary.read_text().count("### syncer plan") == 2


def test_github_resync_shards_job_makes_the_matrix_of_the_shards_input(tmp_path: Path) -> None:
    """The reusable re-sync's first job turns `shards` (3 in resync.yml) into the matrix."""
    result = run_github_job("resync.yml", "shards", tmp_path, {}, {})
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.step_outputs["indexes"]) == [1, 2, 3]


@pytest.mark.integration
@pytest.mark.parametrize("event", ["schedule", "workflow_dispatch"])
def test_github_resync_matrix_and_merge_job(
    tmp_path: Path, remote: Remote, images: dict[str, str], upstream: Registry, event: str
) -> None:
    _, sha = remote.commit({"source-images.list": "\n".join(images) + "\n"}, "list")
    commits = len(remote.log())
    upstream.clear_log()
    artifacts = tmp_path / "artifacts"
    env = {"GITHUB_EVENT_NAME": event, "GITHUB_REF_NAME": "main", "GITHUB_SHA": sha}
    for shard in ("1", "2", "3"):
        checkout = remote.checkout(tmp_path / f"shard-{shard}", sha)
        result = run_github_job("resync.yml", "shard", checkout, env, {"matrix.shard": shard})
        assert result.returncode == 0, result.stdout + result.stderr
        shutil.copytree(checkout / "results", artifacts, dirs_exist_ok=True)  # upload/download
    for name in images:
        repo, _, tag = name.rpartition(":")
        assert upstream.count_exact("GET", f"/v2/{repo}/manifests/{tag}") == 1, name
    report_checkout = remote.checkout(tmp_path / "report", sha)
    shutil.copytree(artifacts, report_checkout / "results")
    result = run_github_job("resync.yml", "report", report_checkout, env, {})
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(remote.log()) == commits + 1
    assert set(json.loads(remote.show("main", "mapping.json"))["images"]) == set(images)
