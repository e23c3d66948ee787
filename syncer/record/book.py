"""A report too large for one file, as a book: `MAPPING.md` keeps the summary, what needs
attention, how to use the mirror and what was removed, and links to pages that show every
image once (`pages` says which image goes where). This module says what each file's template
gets; rows are made as the templates read them. Pure."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence, Sized
from functools import cached_property
from typing import NamedTuple, cast

from syncer.files import line_blocks
from syncer.record.image import State, Status
from syncer.record.pages import (
    ATTENTION_SHOWN,
    GONE_SHOWN,
    LISTED_SHOWN,
    PAGE_BYTES,
    Group,
    Page,
    file_names,
    line_size,
    link,
    page_of,
    plan_pages,
)
from syncer.record.rows import Gone, Rows, TableLines

REMOVED, PRUNED = "Removed from the list", "Pruned"


class Link(NamedTuple):
    """A page as another file links to it."""

    title: str
    link: str  # relative to the file that links to it
    images: int
    first: str  # its first and last repository
    last: str


def _gone_size(entry: Gone, prefix: int) -> int:
    return 2 * len(entry.source) + prefix + len(entry.note) + 120


def fits_one_page(
    table: Rows, state: State, others: Iterable[Sized], prefix: int, rows: int
) -> bool:
    """The whole report, its table and the lists `others` (charts, removed...), is within
    one page's lines and bytes."""
    lines = len(table) + sum(len(other) for other in others)
    if lines > rows:
        return False
    size = sum(line_size(key, state.get(key), prefix) for key in table.keys)
    return size + 400 * (lines - len(table)) <= PAGE_BYTES


def _attention(table: Rows, state: State) -> list[str]:
    """What needs someone to look: failed (unverified among them), deferred, then drifted."""
    copied, get = Status.COPIED, state.get
    # Most images are mirrored and never drifted: the one test they need, first.
    keys = [k for k in table.keys if (s := get(k)) and (s.status != copied or s.drift)]
    failed = [k for k in keys if state[k].status == Status.FAILED]
    deferred = [k for k in keys if state[k].status == Status.DEFERRED]
    drifted = [k for k in keys if state[k].status == copied]
    return [*failed, *deferred, *drifted]


class Book:
    """A paged report: its pages, and what the report and each page show."""

    def __init__(
        self,
        table: Rows,
        state: State,
        registries: Sequence[tuple[str, Rows]],  # the images by source registry, sorted
        gone: tuple[list[Gone], list[Gone]],
        where: tuple[str, str],  # the report's path and the pages' folder
        prefix: int,
        rows: int,
        escape: Callable[[object], str],
    ) -> None:
        self.table, self.state, self.escape = table, state, escape
        self.report, self.folder = where
        names = file_names(["removed", "pruned", *(registry for registry, _ in registries)])
        groups = [Group(registry, names[registry], group.keys) for registry, group in registries]
        self.images = plan_pages(
            groups, lambda key: line_size(key, state.get(key), prefix), self.folder, rows
        )
        self.gone = {entry.source: entry for entries in gone for entry in entries}
        self.removed_pages = self._gone_pages(
            Group(REMOVED, names["removed"], [g.source for g in gone[0]], "removed"), prefix, rows
        )
        self.pruned_pages = self._gone_pages(
            Group(PRUNED, names["pruned"], [g.source for g in gone[1]], "pruned"), prefix, rows
        )
        self.pages = [*self.images, *self.removed_pages, *self.pruned_pages]

    def _gone_pages(self, group: Group, prefix: int, rows: int) -> list[Page]:
        """Pages of their own for the removed (or pruned) images, when there are many."""
        if len(group.keys) <= GONE_SHOWN:
            return []
        size = lambda key: _gone_size(self.gone[key], prefix)  # noqa: E731
        return plan_pages([group], size, self.folder, rows)

    @cached_property
    def attention(self) -> list[str]:
        return _attention(self.table, self.state)

    def _link(self, page: Page, start: str) -> Link:
        return Link(page.title, link(page.path, start), len(page.keys), page.first, page.last)

    def index(self, context: dict[str, object]) -> dict[str, object]:
        """The report's context: `context` (what one file would show) with the pages."""
        attention = self.attention
        charts, renamed = cast(Rows, context["charts"]), cast(Rows, context["renamed"])
        return {
            **context,
            "pages": [self._link(page, self.report) for page in self.images],
            "pages_folder": self.folder,
            "attention": [self._attention_line(key) for key in attention[:ATTENTION_SHOWN]],
            "attention_more": max(0, len(attention) - ATTENTION_SHOWN),
            "charts": charts[:LISTED_SHOWN],
            "charts_more": max(0, len(charts) - LISTED_SHOWN),
            "renamed": renamed[:LISTED_SHOWN],
            "renamed_more": max(0, len(renamed) - LISTED_SHOWN),
            "removed_pages": [self._link(page, self.report) for page in self.removed_pages],
            "pruned_pages": [self._link(page, self.report) for page in self.pruned_pages],
        }

    def _attention_line(self, key: str) -> str:
        row, page = self.table.make(key), page_of(self.images, key)
        where = f"[{page.title}]({link(page.path, self.report)})" if page else ""
        return f"| `{row.source}` | {self.escape(row.status)} | {where} |"

    def page(self, page: Page, context: dict[str, object]) -> dict[str, object]:
        """A page's context: the names of things from `context`, its title, its lines."""
        siblings = [p for p in self.pages if (p.kind, p.label) == (page.kind, page.label)]
        at = page.number - 1
        return {
            **{k: context[k] for k in ("prefix", "list_file", "state_file", "prune_after")},
            "title": page.title,
            "kind": page.kind,
            "count": len(page.keys),
            "first": page.first,
            "last": page.last,
            "report": link(self.report, page.path),
            "report_name": self.report.rpartition("/")[2],
            "previous": self._link(siblings[at - 1], page.path) if at > 0 else None,
            "next": self._link(siblings[at + 1], page.path) if at + 1 < len(siblings) else None,
            "lines": self._lines(page),
        }

    def _lines(self, page: Page) -> Iterator[str]:
        """The page's table lines in blocks (`files.line_blocks`)."""
        if page.kind == "images":
            return TableLines(Rows(list(page.keys), self.table.make), self.escape).blocks()
        return line_blocks(self.gone[key].line(self.escape) for key in page.keys)
