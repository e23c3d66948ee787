"""Post the plan as one merge-request (GitLab) or pull-request (GitHub) comment, kept up to date.

The comment carries a marker; a later run edits it instead of adding another.
"""

from __future__ import annotations

from typing import Any

import httpx

from syncer.ci import CiContext
from syncer.errors import SyncerError
from syncer.plan import MARKER


class CommentError(SyncerError):
    pass


def _gitlab(ci: CiContext, token: str) -> tuple[dict[str, str], str, str]:
    base = f"{ci.api_url}/projects/{ci.project}/merge_requests/{ci.merge_request}/notes"
    return {"PRIVATE-TOKEN": token}, base, base + "/{id}"


def _github(ci: CiContext, token: str) -> tuple[dict[str, str], str, str]:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"}
    repo = f"{ci.api_url}/repos/{ci.project}"
    return headers, f"{repo}/issues/{ci.merge_request}/comments", repo + "/issues/comments/{id}"


def upsert_comment(ci: CiContext, body: str, *, timeout: float = 30.0) -> str:
    """Create or update the plan comment; returns "created" or "updated"."""
    if not (ci.comment_token and ci.api_url and ci.project and ci.merge_request):
        raise CommentError("no token, API URL, project or merge request number in this job")
    endpoints = _gitlab if ci.provider == "gitlab" else _github
    headers, collection, item = endpoints(ci, ci.comment_token)
    update = "PUT" if ci.provider == "gitlab" else "PATCH"
    try:
        with httpx.Client(headers=headers, timeout=timeout) as client:
            listing = client.get(collection, params={"per_page": 100})
            listing.raise_for_status()
            existing = [c for c in listing.json() if MARKER in str(_body(c))]
            if existing:
                client.request(
                    update, item.format(id=existing[0]["id"]), json={"body": body}
                ).raise_for_status()
                return "updated"
            client.post(collection, json={"body": body}).raise_for_status()
            return "created"
    except httpx.HTTPStatusError as exc:
        raise CommentError(f"posting the plan comment: HTTP {exc.response.status_code}") from None
    except (httpx.HTTPError, ValueError) as exc:
        raise CommentError(f"posting the plan comment: {exc.__class__.__name__}") from None


def _body(comment: Any) -> object:
    return comment.get("body", "") if isinstance(comment, dict) else ""
