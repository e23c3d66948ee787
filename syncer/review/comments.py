"""Post the plan as one merge-request (GitLab) or pull-request (GitHub) comment, kept up to date.

The comment carries a marker; a later run edits it instead of adding another.
"""

from __future__ import annotations

import json
from typing import Any

from syncer.ci import CiContext
from syncer.errors import SyncerError
from syncer.registry.http import Client, HTTPError, Response
from syncer.review.plan import MARKER


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
    client = Client(timeout=timeout)
    payload = json.dumps({"body": body}).encode()
    sending = {**headers, "Content-Type": "application/json"}
    try:
        listing = _ok(client.get(collection, params={"per_page": "100"}, headers=headers))
        existing = [c for c in listing.json() if MARKER in str(_body(c))]
        if existing:
            target = item.format(id=existing[0]["id"])
            _ok(client.request(update, target, headers=sending, content=payload))
            return "updated"
        _ok(client.request("POST", collection, headers=sending, content=payload))
        return "created"
    except (HTTPError, ValueError) as exc:
        raise CommentError(f"posting the plan comment: {exc.__class__.__name__}") from None
    finally:
        client.close()


def _ok(response: Response) -> Response:
    if response.status_code >= 400:
        raise CommentError(f"posting the plan comment: HTTP {response.status_code}")
    return response


def _body(comment: Any) -> object:
    return comment.get("body", "") if isinstance(comment, dict) else ""
