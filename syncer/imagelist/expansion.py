"""Tag selectors expanded against the source: the tags each selects now, read where skopeo
reads (the registries.conf mirrors first), one tag-list request per page."""

from __future__ import annotations

import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from syncer.imagelist.parse import Entry, Mapping, Problem, map_destinations
from syncer.imagelist.reference import Reference, destination_for
from syncer.imagelist.selectors import Selector
from syncer.record.image import ImageResult, Reason, Status

if TYPE_CHECKING:  # the HTTP client is imported only by commands that expand
    from syncer.registry.client import RegistryClient


@dataclass(frozen=True)
class Expansion:
    selector: Selector
    tags: tuple[str, ...] = ()
    error: str | None = None

    def entries(self) -> list[Entry]:
        selector, name = self.selector, self.selector.name
        return [
            Entry.of(
                selector.line, selector.text, Reference(name.domain, name.path, tag),
                selector.platforms, selector.rename,
            )
            for tag in self.tags
        ]  # fmt: skip


def expand(
    selectors: Sequence[Selector], client: RegistryClient, workers: int = 8
) -> list[Expansion]:
    """Each selector's tags now, from the first endpoint (in skopeo's order) that lists them;
    the tag lists are the run's (the companions read the same ones)."""

    def one(selector: Selector) -> Expansion:
        ref = Reference(selector.name.domain, selector.name.path, "latest")
        why = f"no endpoint may be read for {selector.name.name}"
        for endpoint in client.source_endpoints(ref):
            tags, why = client.tag_lists.of(endpoint)
            if tags is None:
                continue
            chosen = selector.select(tags)
            if not chosen:
                return Expansion(
                    selector, error=f"selects none of the {len(tags)} tags of {endpoint.location}"
                )
            return Expansion(selector, tuple(chosen))
        return Expansion(selector, error=why)

    if not selectors:
        return []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(one, selectors))


def selected_mappings(
    expansions: Sequence[Expansion], prefix: str, path: str, allowed: Sequence[str] = ()
) -> tuple[list[Mapping], list[Problem]]:
    """Where each selected tag lands; a tag outside `allowed_sources` is a problem instead."""
    from syncer.imagelist.policy import refusal

    patterns = [re.compile(p) for p in allowed]
    entries, refused = [], []
    for entry in (e for x in expansions for e in x.entries()):
        why = refusal(entry, patterns)
        if why is None:
            entries.append(entry)
        else:
            refused.append(Problem(path, entry.line, why))
    mappings, problems = map_destinations(entries, prefix, path)
    return mappings, [*refused, *problems]


def selector_destination(selector: Selector, prefix: str, tags: str) -> str:
    """Where a selector's tags land, `tags` standing for them (`*`, `<selected tags>`)."""
    if selector.rename is not None:
        return f"{prefix}/{selector.rename}:{tags}"
    try:
        name = Reference(selector.name.domain, selector.name.path, "latest")
        return str(destination_for(name, prefix)).rpartition(":")[0] + f":{tags}"
    except ValueError:
        return prefix


def failures(expansions: Sequence[Expansion], prefix: str) -> list[ImageResult]:
    """A selector that cannot be expanded fails as a row of its own, named by its line."""
    out = []
    for x in expansions:
        if x.error is None:
            continue
        where = selector_destination(x.selector, prefix, "*")
        out.append(
            ImageResult(
                x.selector.key,
                where,
                Status.FAILED,
                reason=Reason.SELECTOR,
                error=x.error,
                selected_by=x.selector.key,
            )
        )
    return out


def stamp(results: list[ImageResult], expansions: Sequence[Expansion]) -> list[ImageResult]:
    """Say which selector chose each image (for the state and the report)."""
    chosen_by = {e.key: x.selector.key for x in expansions for e in x.entries()}
    return [
        r._replace(selected_by=chosen_by[r.source]) if r.source in chosen_by else r for r in results
    ]
