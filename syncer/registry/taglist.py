"""A repository's tags, all pages of them: for tag selectors and for finding companions.

Registries paginate `GET /v2/<name>/tags/list?n=N` and name the next page in a `Link` header
(Docker Hub, Harbor, quay.io do; Debian's docker-registry 2.8 sends everything at once).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlparse

from syncer.registry.once import OncePerKey

if TYPE_CHECKING:  # the HTTP client is imported by whoever makes one
    from syncer.containers.pull_sources import Endpoint
    from syncer.registry.client import RegistryClient

_PAGE = 1000  # tags a page asked for; a registry may send fewer and say so in `Link`


def _next_page(link: str | None) -> str | None:
    """The `tags/list?...` of a `Link: </v2/name/tags/list?n=..&last=..>; rel="next"` header."""
    if not link or 'rel="next"' not in link:
        return None
    target = urlparse(link.split(";")[0].strip().strip("<>"))
    return "tags/list" + (f"?{target.query}" if target.query else "")


class TagLists:
    """Tag lists through one registry client, each repository's listed once."""

    def __init__(self, client: RegistryClient):
        self.client = client
        self._lists: OncePerKey[str, tuple[list[str] | None, str]] = OncePerKey()

    def of(self, endpoint: Endpoint) -> tuple[list[str] | None, str]:
        """Every tag of the endpoint's repository, all pages (`n` and the `Link` header), or
        None and why not; remembered for the run (one tag list per repository: a list being
        asked, by a prefetch, is waited for, not asked again)."""
        answer = self._lists.get(f"{endpoint.host}/{endpoint.path}", lambda: self._list(endpoint))
        assert answer is not None  # noqa: S101  (_list always answers)
        return answer

    def _list(self, endpoint: Endpoint) -> tuple[list[str] | None, str]:
        tags: list[str] = []
        page: str | None = f"tags/list?n={_PAGE}"
        answer: tuple[list[str] | None, str] = (tags, "")
        while page:
            response = self.client.get(endpoint, page)
            if response is None or response.status_code != 200:
                status = "unreachable" if response is None else f"HTTP {response.status_code}"
                answer = (None, f"cannot list the tags of {endpoint.location}: {status}")
                break
            try:
                tags += [str(t) for t in response.json().get("tags") or []]
            except (ValueError, AttributeError):
                answer = (None, f"{endpoint.location}: the tag list is not JSON")
                break
            page = _next_page(response.headers.get("link"))
        return answer
