"""The CI context: GitLab CI, GitHub Actions or a local run, read from the environment here only.

The rest of syncer gets one `CiContext` and never reads CI variables itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ZERO_SHA = "0" * 40


@dataclass(frozen=True)
class CiContext:
    provider: str = "local"  # "gitlab", "github" or "local"
    event: str = "local"  # "push", "merge_request", "schedule", "manual" or "local"
    before_sha: str | None = None  # None: unknown; ZERO_SHA: first push of a branch
    sha: str | None = None
    branch: str | None = None
    default_branch: str | None = None
    merge_base_sha: str | None = None  # MR/PR target's base
    job_url: str | None = None
    push_user: str = "oauth2"  # user name that goes with a token on an https remote
    shard: tuple[int, int] | None = None  # (index, total), 1-based
    api_url: str | None = None
    project: str | None = None  # GitLab project id, GitHub owner/name
    merge_request: str | None = None  # GitLab MR iid, GitHub PR number
    summary_file: str | None = None  # GitHub's $GITHUB_STEP_SUMMARY
    comment_token: str | None = field(default=None, repr=False)  # to post the MR/PR comment


_GITLAB_EVENTS = {
    "push": "push",
    "merge_request_event": "merge_request",
    "schedule": "schedule",
    "web": "manual",
    "api": "manual",
    "trigger": "manual",
    "pipeline": "manual",
}
_GITHUB_EVENTS = {
    "push": "push",
    "pull_request": "merge_request",
    "pull_request_target": "merge_request",
    "schedule": "schedule",
    "workflow_dispatch": "manual",
    "repository_dispatch": "manual",
}


def _shard(index: str | None, total: str | None) -> tuple[int, int] | None:
    if index and total and index.isdigit() and total.isdigit() and 1 <= int(index) <= int(total):
        return int(index), int(total)
    return None


def _gitlab(env: Mapping[str, str]) -> CiContext:
    return CiContext(
        provider="gitlab",
        event=_GITLAB_EVENTS.get(env.get("CI_PIPELINE_SOURCE", ""), "manual"),
        before_sha=env.get("CI_COMMIT_BEFORE_SHA") or None,
        sha=env.get("CI_COMMIT_SHA") or None,
        branch=env.get("CI_COMMIT_BRANCH")
        or env.get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME")
        or None,
        default_branch=env.get("CI_DEFAULT_BRANCH") or None,
        merge_base_sha=env.get("CI_MERGE_REQUEST_DIFF_BASE_SHA") or None,
        job_url=env.get("CI_JOB_URL") or None,
        push_user="oauth2",
        shard=_shard(env.get("CI_NODE_INDEX"), env.get("CI_NODE_TOTAL")),
        api_url=env.get("CI_API_V4_URL") or None,
        project=env.get("CI_PROJECT_ID") or None,
        merge_request=env.get("CI_MERGE_REQUEST_IID") or None,
        comment_token=env.get("SYNCER_COMMENT_TOKEN") or None,
    )


def _github_event(env: Mapping[str, str]) -> dict[str, Any]:
    path = env.get("GITHUB_EVENT_PATH")
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _github(env: Mapping[str, str]) -> CiContext:
    event = _github_event(env)
    pull = event.get("pull_request") or {}
    repo = event.get("repository") or {}
    server, name, run = (
        env.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    )
    kind = _GITHUB_EVENTS.get(env.get("GITHUB_EVENT_NAME", ""), "manual")
    return CiContext(
        provider="github",
        event=kind,
        before_sha=event.get("before") if kind == "push" else None,
        sha=env.get("GITHUB_SHA") or None,
        branch=env.get("GITHUB_HEAD_REF") or env.get("GITHUB_REF_NAME") or None,
        default_branch=repo.get("default_branch") if isinstance(repo, dict) else None,
        merge_base_sha=(pull.get("base") or {}).get("sha") if isinstance(pull, dict) else None,
        job_url=f"{server}/{name}/actions/runs/{run}" if server and name and run else None,
        push_user="x-access-token",
        # A workflow's matrix passes its shard in these two variables (see .github/workflows).
        shard=_shard(env.get("SYNCER_SHARD_INDEX"), env.get("SYNCER_SHARD_TOTAL")),
        api_url=env.get("GITHUB_API_URL") or None,
        project=name or None,
        merge_request=str(pull["number"]) if isinstance(pull, dict) and "number" in pull else None,
        summary_file=env.get("GITHUB_STEP_SUMMARY") or None,
        comment_token=env.get("SYNCER_COMMENT_TOKEN") or env.get("GITHUB_TOKEN") or None,
    )


def detect(env: Mapping[str, str]) -> CiContext:
    if env.get("GITLAB_CI") == "true":
        return _gitlab(env)
    if env.get("GITHUB_ACTIONS") == "true":
        return _github(env)
    return CiContext()
