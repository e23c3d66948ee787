"""A large report's pages: which images go on which page, so that `MAPPING.md` and each page
stay well under what the web views render (GitHub formats a markdown file of "generally less
than 2 MB", sooner for a complex table; GitLab's rendering breaks around 2.5 MB or 11,000
lines). Pure: keys and sizes in, pages out.

A report is paged when its lines would not fit one page. Each source registry then has a page
of its own; a registry too large for one is split at repository boundaries into numbered pages
(a repository too large for one page alone is split in the middle). Page names depend only on
the registries and on where the pages break, so an unchanged state gives the same names.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import pairwise
from typing import NamedTuple
from urllib.parse import quote

from syncer.record.image import ImageState, Status

PAGE_ROWS = 2000  # table lines a page holds at most (`report_page_size`)
PAGE_BYTES = 500_000  # estimated bytes a page holds at most (a quarter of GitHub's limit)
ATTENTION_SHOWN = 1000  # images MAPPING.md names under "Needs attention", failed ones first
LISTED_SHOWN = 100  # charts and renamed images MAPPING.md names under "Use the mirror"
_COPIED = Status.COPIED
PAGE_HEADING = "# Mirrored images: "  # how every page starts (page.md.j2)
GONE_SHOWN = 500  # removed (or pruned) images MAPPING.md lists itself; more go on pages


class Group(NamedTuple):
    """Images shown together: a source registry's, or the removed or pruned ones."""

    label: str  # `docker.io`, `Removed from the list`
    name: str  # its pages' file name, without number and `.md`
    keys: Sequence[str]  # sorted
    kind: str = "images"  # or `removed`, `pruned`: which table its pages have


class Page(NamedTuple):
    """One page: its path in the repository, and the keys of the images on it, in order."""

    path: str  # like `mapping/docker.io-2.md`
    label: str
    number: int  # 1, 2... within its group
    of: int  # how many pages its group has
    keys: Sequence[str]
    kind: str = "images"

    @property
    def title(self) -> str:
        return self.label if self.of == 1 else f"{self.label} ({self.number} of {self.of})"

    @property
    def first(self) -> str:
        return repository(self.keys[0]) if self.keys else ""

    @property
    def last(self) -> str:
        return repository(self.keys[-1]) if self.keys else ""


def repository(key: str) -> str:
    """The repository of a source, without its registry, tag or digest: `library/alpine`."""
    name = key.partition("@")[0].partition("/")[2]
    path, colon, tag = name.rpartition(":")
    return path if colon and "/" not in tag else name


def line_size(key: str, known: ImageState | None, prefix: int) -> int:
    """About how many bytes an image's table line takes, at most for what the list and the
    state hold now: source and destination (the prefix and the source), then the other cells
    (an error message is shown cut short)."""
    size = 2 * len(key) + prefix + 150
    if known is None:
        return size
    size += 16 * (len(known.platforms) + len(known.left_out))  # `linux/arm64/v8, `
    if known.selected_by:
        size += len(known.selected_by) + 8
    # `is not`: cheaper than comparing words, and a status that is not the member counts more
    if known.status is not _COPIED or known.drift or known.source_digest:
        size += 200
    return size


def link(path: str, start: str) -> str:
    """A relative markdown link target from the file `start` to the file `path`."""
    relative = posixpath.relpath(path, posixpath.dirname(start) or ".")
    return quote(relative)


_UNSAFE = re.compile(r"[^a-z0-9._-]")


def file_names(groups: Iterable[str]) -> dict[str, str]:
    """A file name (without `.md`) for each group: lower case, `:` and anything unusual made
    `_`, and different in case-insensitive file systems too (`Quay.io` and `quay.io`)."""
    names: dict[str, str] = {}
    used: set[str] = set()
    for group in groups:
        base = _UNSAFE.sub("_", group.lower()).strip(".") or "_"
        name, n = base, 1
        while name in used:
            n += 1
            name = f"{base}_{n}"
        used.add(name)
        names[group] = name
    return names


def _first_of_repository(keys: Sequence[str], index: int, start: int) -> int:
    """Where the repository of `keys[index]` starts, looking back no further than `start`
    (only where a page is full: a repository a key would cost a large list its time)."""
    name = repository(keys[index])
    first = index
    while first > start and repository(keys[first - 1]) == name:
        first -= 1
    return first


def _breaks(
    keys: Sequence[str], size: Callable[[str], int], rows: int, budget: int
) -> Iterator[int]:
    """Where the pages of one group start, after the first: before a repository's first
    image, unless the repository fills the page alone."""
    start = used = 0
    weights: list[int] = []  # of this page's keys
    for index, key in enumerate(keys):
        weight = size(key)
        if index > start and (index - start >= rows or used + weight > budget):
            first = _first_of_repository(keys, index, start)
            cut = first if first > start else index  # the repository moves on whole
            weights, start = weights[cut - start :], cut
            yield start
            used = sum(weights)
            if index > start and used + weight > budget:
                weights, start, used = [], index, 0
                yield start
        used += weight
        weights.append(weight)


def plan_pages(
    groups: Iterable[Group],
    size: Callable[[str], int],
    folder: str,
    rows: int = PAGE_ROWS,
    budget: int = PAGE_BYTES,
) -> list[Page]:
    """The pages of `groups`, in order: `rows` lines at most and about `budget` bytes."""
    pages: list[Page] = []
    for group in groups:
        keys = group.keys
        starts = [0, *_breaks(keys, size, max(1, rows), budget), len(keys)]
        of = len(starts) - 1
        for number, (start, end) in enumerate(pairwise(starts), 1):
            name = group.name if of == 1 else f"{group.name}-{number}"
            path = posixpath.join(folder, f"{name}.md")
            pages.append(Page(path, group.label, number, of, keys[start:end], group.kind))
    return pages


def page_of(pages: Sequence[Page], key: str) -> Page | None:
    """The page an image is on (its group's pages hold consecutive ranges of sorted keys)."""
    from bisect import bisect_left

    for page in pages:
        if page.keys and page.keys[0] <= key <= page.keys[-1]:
            index = bisect_left(page.keys, key)
            if index < len(page.keys) and page.keys[index] == key:
                return page
    return None
