"""What may enter the mirror: `allowed_sources` patterns, and never a link-local host. Pure.

Link-local addresses (169.254.0.0/16, fe80::/10) are cloud metadata services, never registries:
a merge request must not make the runner ask them and post the answer in its comment.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from functools import lru_cache
from typing import TypeVar

from syncer.imagelist.parse import Entry, ImageList, Problem
from syncer.imagelist.selectors import Selector

T = TypeVar("T", Entry, Selector)


def _host(domain: str) -> str:
    if domain.startswith("["):
        return domain[1:].partition("]")[0]
    return domain.rpartition(":")[0] if domain.count(":") == 1 else domain


@lru_cache(maxsize=1024)  # a list names few registries, each many times
def is_link_local(domain: str) -> bool:
    try:
        return ipaddress.ip_address(_host(domain)).is_link_local
    except ValueError:
        return False


def refusal(entry: Entry, allowed: Sequence[re.Pattern[str]]) -> str | None:
    """Why this source may not enter the mirror, or None."""
    if is_link_local(entry.source.domain):
        return f"{entry.key}: a link-local host is never a registry (refused)"
    if allowed and not any(p.fullmatch(entry.key) for p in allowed):
        return f"{entry.key} is outside allowed_sources"
    return None


def selector_refusal(selector: Selector, allowed: Sequence[re.Pattern[str]]) -> str | None:
    """Why a tag selector's repository may not be asked for its tags, or None. Its tags are
    held to `allowed_sources` again once expanded; here, before any request, a pattern must
    take the repository with some tag (`NAME:latest`) or the bare name."""
    name = selector.name.name
    if is_link_local(selector.name.domain):
        return f"{selector.key}: a link-local host is never a registry (refused)"
    if allowed and not any(p.fullmatch(f"{name}:latest") or p.fullmatch(name) for p in allowed):
        return f"{selector.key}: {name} is outside allowed_sources"
    return None


def apply_policy(images: ImageList, allowed: Sequence[str]) -> ImageList:
    """The list without the sources (and tag selectors) that may not enter; each of them is
    an error line."""
    patterns = [re.compile(p) for p in allowed]
    refused: list[Problem] = []

    def admitted(items: Iterable[T], why_not: Callable[[T], str | None]) -> tuple[T, ...]:
        kept = []
        for item in items:
            why = why_not(item)
            if why is None:
                kept.append(item)
            else:
                refused.append(Problem(images.path, item.line, why))
        return tuple(kept)

    entries = admitted(images.entries, lambda e: refusal(e, patterns))
    selectors = admitted(images.selectors, lambda s: selector_refusal(s, patterns))
    if not refused:
        return images
    errors = tuple(sorted([*images.errors, *refused], key=lambda p: p.line))
    return replace(images, entries=entries, errors=errors, selectors=selectors)
