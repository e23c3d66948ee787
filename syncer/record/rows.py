"""The report's rows: one an image, its cells in words, escaped where the text comes from
outside (error messages). Pure."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import NamedTuple, overload

from syncer.files import line_blocks
from syncer.imagelist.parse import Mapping
from syncer.imagelist.reference import Reference
from syncer.record.image import Content, ImageState, State, Status
from syncer.trust.naming import summary


class Row(NamedTuple):  # a NamedTuple: built once an image, far cheaper than a frozen dataclass
    source: str
    target: Reference | str  # where it is mirrored (made a string when shown: see destination)
    platforms: tuple[str, ...]
    digest: str | None
    commit: str | None
    status: str
    trust: str = ""  # "signed, SBOM, 2 attestations; verified"
    drift: str | None = None
    selected_by: str | None = None  # the tag selector line that chose it
    copied_at: str | None = None  # UTC date its current digest was first recorded
    source_digest: str | None = None  # a platform subset: the source's own index digest
    left_out: tuple[str, ...] = ()  # the platforms a subset leaves out
    content: Content | None = None  # a Helm chart or another artifact (None: an image)
    renamed: bool = False  # named with as=: pulled by its mirror name only

    @property
    def helm_pull(self) -> str:
        """The command that pulls this chart from the mirror."""
        name = self.destination
        if "@" in name:
            return f"helm pull oci://{name}"
        repository, _, tag = name.rpartition(":")
        return f"helm pull oci://{repository} --version {tag}"

    @property
    def platforms_cell(self) -> str:
        """Its platforms in words: a subset says what it leaves out, an artifact what it is."""
        if self.content is Content.CHART:
            return "Helm chart (no platforms)"
        if self.content is Content.ARTIFACT:
            return "OCI artifact (no platforms)"
        text = ", ".join(self.platforms)
        return f"{text} (left out: {', '.join(self.left_out)})" if self.left_out else text

    @property
    def destination(self) -> str:
        return str(self.target)

    @property
    def registry(self) -> str:
        return self.source.partition("/")[0]

    @property
    def copied(self) -> str:
        """`2026-11-28 (c0ffee1234)`: when, and the list's commit that copied it."""
        parts = [self.copied_at[:10]] if self.copied_at else []
        if self.commit:
            parts.append(f"({self.commit[:10]})" if parts else self.commit[:10])
        return " ".join(parts)


def cell(value: object) -> str:
    """Text from outside (error messages, ...) made inert inside a markdown table cell."""
    text = " ".join(str(value).split())
    text = html.escape(text, quote=False)
    for char in "\\|`*_[]#!":
        text = text.replace(char, "\\" + char)
    return text


def shared_cells() -> Callable[[object], str]:
    """`cell`, computed once a distinct value: most cells of a large report repeat (the same
    platforms, date and status), and escaping each of them again was much of its time."""
    done: dict[object, str] = {}

    def shared(value: object) -> str:
        try:
            return done[value]
        except KeyError:
            text = done[value] = cell(value)
            return text
        except TypeError:  # unhashable: a custom template's own value
            return cell(value)

    return shared


SHORT_ERROR = 72  # characters of the error in a table row; the state keeps all of it


def short(text: str, limit: int = SHORT_ERROR) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _status(known: ImageState | None) -> str:
    if known is not None and known.status == Status.DEFERRED:
        return f"deferred ({known.reason}): {short(known.error or '')}".rstrip(": ")
    if known is None or (not known.failed and known.digest is None):
        return "pending"  # never "mirrored" without a digest the registry was seen to hold
    if known.failed:
        return f"FAILED ({known.reason}): {short(known.error or '')}".rstrip(": ")
    if known.unselected:
        return "mirrored; no longer selected"
    if known.drift:
        return f"mirrored; drift: {_short_digests(known.drift).replace(' -> ', ' → ')}"
    return "mirrored"


def _short_digests(text: str) -> str:
    """`sha256:<64 hex>` shortened to `sha256:<12 hex>…` inside a sentence."""
    return re.sub(r"(sha256:[0-9a-f]{12})[0-9a-f]{52}", r"\1…", text)


def _trust(known: ImageState) -> str:
    parts = [summary(known.companions)] if known.companions else []
    if known.verified and known.source_digest:
        parts.append("source verified; the mirror's own index is unsigned")
    elif known.verified:
        parts.append("verified")
    return "; ".join(p for p in parts if p)


def _row(
    source: str, destination: Reference | str, known: ImageState | None, renamed: bool = False
) -> Row:
    if known is None:
        return Row(source, destination, (), None, None, "pending", renamed=renamed)
    return Row(
        source,
        destination,
        known.platforms,
        known.digest,
        known.commit,
        _status(known),
        _trust(known) if known.companions or known.verified else "",
        known.drift,
        known.selected_by,
        known.history[-1].at if known.history else None,
        known.source_digest,
        known.left_out,
        known.content,
        renamed,
    )


class Rows(Sequence[Row]):
    """Rows made when asked, in the order of `keys`: a 100,000-image report never holds all
    its rows at once (they were a tenth of its memory)."""

    def __init__(self, keys: list[str], make: Callable[[str], Row]) -> None:
        self.keys, self.make = keys, make

    def __len__(self) -> int:
        return len(self.keys)

    @overload
    def __getitem__(self, index: int) -> Row: ...

    @overload
    def __getitem__(self, index: slice) -> Rows: ...

    def __getitem__(self, index: int | slice) -> Row | Rows:
        if isinstance(index, slice):
            return Rows(self.keys[index], self.make)
        return self.make(self.keys[index])

    def __iter__(self) -> Iterator[Row]:
        return map(self.make, self.keys)


def rows(mappings: Sequence[Mapping], state: State, selected: Iterable[str] = ()) -> Rows:
    """One row an image of the list, and one an image a tag selector chose (from the state),
    sorted by source."""
    where: dict[str, Reference | str] = {m.key: m.destination for m in mappings}
    renamed = {m.key for m in mappings if m.entry.rename is not None}
    for key in selected:
        if key not in where and key in state:
            where[key] = state[key].destination
    get = state.get
    return Rows(sorted(where), lambda key: _row(key, where[key], get(key), key in renamed))


def table_line(row: Row, escape: Callable[[object], str] = cell) -> str:
    """One image's line in the built-in template's tables."""
    by = f" (by `{row.selected_by}`)" if row.selected_by else ""
    digest = f"`{row.digest[:19]}…`" if row.digest else ""
    if row.digest and row.source_digest:  # a subset: the mirror's index is its own
        digest += f" (own index; source `{row.source_digest[:19]}…`)"
    return (
        f"| `{row.source}`{by} | `{row.destination}` | {escape(row.platforms_cell)} | "
        f"{digest} | {escape(row.copied)} | {escape(row.trust)} | {escape(row.status)} |"
    )


class TableLines:
    """A group's table lines as the built-in template shows them, made in Python (a jinja2
    row with its cells is much slower, at 100,000 images) one at a time as the template asks
    (never the whole table as one string); as a string, all of them; `blocks()`, in blocks
    of lines (`files.line_blocks`), as the built-in templates print them."""

    def __init__(self, group: Iterable[Row], escape: Callable[[object], str]) -> None:
        self.group, self.escape = group, escape

    def __iter__(self) -> Iterator[str]:
        return (table_line(row, self.escape) for row in self.group)

    def __str__(self) -> str:
        return "\n".join(self)

    def blocks(self) -> Iterator[str]:
        return line_blocks(self)


class Gone(NamedTuple):
    """An image no longer in the list, as the report's "Removed" and "Pruned" sections show it."""

    source: str
    destination: str
    digest: str | None
    removed: str  # `2026-11-28 (c0ffee1234)`
    deleted: str  # when it will be (removed) or was (pruned) deleted from the registry
    note: str  # why it was not deleted, in words from outside (escaped when shown)

    def line(self, escape: Callable[[object], str] = cell) -> str:
        digest = f"`{self.digest[:19]}…`" if self.digest else ""
        return (
            f"| `{self.source}` | `{self.destination}` | {digest} | {self.removed} | "
            f"{self.deleted} | {escape(self.note)} |"
        )


def _when(at: str | None, commit: str | None) -> str:
    parts = [at[:10]] if at else []
    if commit:
        parts.append(f"({commit[:10]})" if parts else commit[:10])
    return " ".join(parts)


def gone(state: State, prune_after: int | None) -> tuple[list[Gone], list[Gone]]:
    """The removed images (still in the registry) and the pruned ones, sorted by source."""
    from datetime import datetime, timedelta

    removed, pruned = [], []
    for key in sorted(k for k, s in state.items() if s.removed_at is not None):
        entry = state[key]
        when = _when(entry.removed_at, entry.removed_commit)
        if entry.pruned_at is not None:
            done = _when(entry.pruned_at, entry.pruned_commit)
            pruned.append(
                Gone(key, entry.destination, entry.digest, when, done, entry.prune_note or "")
            )
            continue
        after = "kept (no `prune_after`)"
        if prune_after is not None and entry.removed_at:
            start = datetime.strptime(entry.removed_at[:19], "%Y-%m-%dT%H:%M:%S")
            after = (
                f"after {(start + timedelta(seconds=prune_after)).strftime('%Y-%m-%d %H:%M')} UTC"
            )
        removed.append(
            Gone(key, entry.destination, entry.digest, when, after, entry.prune_note or "")
        )
    return removed, pruned
