"""The markdown report (`MAPPING.md`): state in, bytes out, the same bytes for the same state."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence, Sized
from pathlib import Path
from typing import cast

from syncer.errors import SyncerError
from syncer.files import Pieces, Text
from syncer.imagelist.parse import Mapping
from syncer.record.book import Book, fits_one_page
from syncer.record.image import Content, ImageResult, Reason, State, Status
from syncer.record.pages import PAGE_ROWS, Page
from syncer.record.rows import Gone, Rows, TableLines, cell, gone, rows, shared_cells

TEMPLATE = "MAPPING.md.j2"
PAGE = "page.md.j2"


_DEFERRED, _FAILED, _UNVERIFIED = Status.DEFERRED, Status.FAILED, Reason.UNVERIFIED


def _summary(keys: Iterable[str], state: State) -> str:
    """`N images: N mirrored, N failed[, N pending, N deferred, N drifted, N unverified].`"""
    total = ok = failed = deferred = drifted = unverified = 0
    get = state.get
    for key in keys:  # once an image of the report: locals, no property calls
        known = get(key)
        total += 1
        if known is None:
            continue  # pending
        drifted += known.drift is not None
        status = known.status
        if status == _DEFERRED:
            deferred += 1
        elif status == _FAILED:
            failed += 1
            unverified += known.reason == _UNVERIFIED
        elif known.digest is not None:
            ok += 1  # else pending, as the row's status says
    pending = total - ok - failed - deferred
    text = f"{total} images: {ok} mirrored, {failed} failed"
    extra = [f"{pending} pending"] if pending else []
    extra += [f"{deferred} deferred"] if deferred else []
    extra += [f"{drifted} drifted"] if drifted else []
    extra += [f"{unverified} unverified"] if unverified else []
    return text + "".join(f", {e}" for e in extra) + "."


def _context(
    mappings: Sequence[Mapping], state: State, escape: Callable[[object], str], table: Rows,
    prune_after: int | None,
) -> dict[str, object]:  # fmt: skip
    """What the template gets besides the names of things: rows, groups, sections."""
    by_registry: dict[str, list[str]] = {}
    for key in table.keys:
        by_registry.setdefault(key.partition("/")[0], []).append(key)
    groups = {registry: Rows(keys, table.make) for registry, keys in by_registry.items()}
    charted = [k for k, s in state.items() if s.content is Content.CHART]  # few, if any
    listed = set(table.keys) if charted else set()
    charts = sorted(k for k in charted if k in listed)
    renamed = sorted(m.key for m in mappings if m.entry.rename is not None)
    images = (k for k in table.keys if (s := state.get(k)) is None or s.content is None)
    first_image = next(images, None)
    removed, pruned = gone(state, prune_after)
    return {
        "rows": table,
        "groups": sorted(groups.items()),
        "tables": {registry: TableLines(group, escape) for registry, group in groups.items()},
        "summary": _summary(table.keys, state),
        "example": str(table.make(first_image).destination) if first_image else None,
        "charts": Rows(charts, table.make),
        "renamed": Rows(renamed, table.make),
        "removed": removed,
        "pruned": pruned,
        "prune_after": prune_after,
        "pages": [],  # one file; a paged report's index has its pages here (`book`)
    }


class _Renderer:
    """The jinja2 environment a report is rendered with, and its template's errors in words."""

    def __init__(self, template: Path | None) -> None:
        import jinja2  # only commands that render pay for the import

        loader: jinja2.BaseLoader = (
            jinja2.FileSystemLoader(str(template.parent))
            if template
            else jinja2.PackageLoader("syncer.record", "templates")
        )
        self.env = jinja2.Environment(
            loader=loader,
            # Markdown, not HTML: text from outside goes through `cell`, references are valid
            # by construction (no markup characters can be in one).
            autoescape=False,  # noqa: S701
            keep_trailing_newline=True,
            trim_blocks=True,
            undefined=jinja2.StrictUndefined,
        )
        self.escape: Callable[[object], str] = shared_cells()
        self.env.filters["cell"] = self.escape
        self.template = template

    def generate(self, name: str, context: dict[str, object]) -> Iterator[str]:
        import jinja2

        try:
            yield from self.env.get_template(name).generate(**context)
        except jinja2.TemplateError as exc:
            if self.template is None:
                raise  # the built-in template: a bug, shown whole
            where = f":{exc.lineno}" if isinstance(exc, jinja2.TemplateSyntaxError) else ""
            raise SyncerError(f"{self.template}{where}: report template: {exc}") from None


def report_pieces(
    mappings: Sequence[Mapping],
    state: State,
    *,
    prefix: str,
    list_file: str,
    state_file: str,
    template: Path | None = None,
    selected: Iterable[str] = (),
    prune_after: int | None = None,
) -> Iterator[str]:
    """The report as one file, a piece at a time (written or compared as it is made)."""
    names = {"prefix": prefix, "list_file": list_file, "state_file": state_file}
    renderer, _, context = _prepared(mappings, state, template, selected, prune_after, names)
    yield from renderer.generate(template.name if template else TEMPLATE, context)


def _prepared(
    mappings: Sequence[Mapping], state: State, template: Path | None, selected: Iterable[str],
    prune_after: int | None, names: dict[str, str],
) -> tuple[_Renderer, Rows, dict[str, object]]:  # fmt: skip
    renderer = _Renderer(template)
    table = rows(mappings, state, selected)
    context = {**_context(mappings, state, renderer.escape, table, prune_after), **names}
    context["example"] = context["example"] or f"{names['prefix']}/IMAGE:TAG"
    return renderer, table, context


def report_files(
    mappings: Sequence[Mapping],
    state: State,
    *,
    report: str,
    folder: str,
    prefix: str,
    list_file: str,
    state_file: str,
    template: Path | None = None,
    selected: Iterable[str] = (),
    prune_after: int | None = None,
    page_size: int = PAGE_ROWS,
) -> dict[str, Text]:
    """The report's files by path, `report` first, each made as it is read: the report alone
    when it fits one page (or a custom template renders it), else the report with what needs
    attention and links to pages in `folder` that show every image."""
    names = {"prefix": prefix, "list_file": list_file, "state_file": state_file}
    renderer, table, context = _prepared(mappings, state, template, selected, prune_after, names)
    name = template.name if template else TEMPLATE
    others = [cast(Sized, context[k]) for k in ("charts", "renamed", "removed", "pruned")]
    if template is not None or fits_one_page(table, state, others, len(prefix), page_size):
        return {report: Pieces(lambda: renderer.generate(name, context))}
    gone = (cast(list[Gone], context["removed"]), cast(list[Gone], context["pruned"]))
    registries = cast(list[tuple[str, Rows]], context["groups"])
    where = (report, folder)
    book = Book(table, state, registries, gone, where, len(prefix), page_size, renderer.escape)
    files: dict[str, Text] = {report: Pieces(lambda: renderer.generate(name, book.index(context)))}
    for page in book.pages:
        files[page.path] = _page_file(renderer, book, page, context)
    return files


def _page_file(renderer: _Renderer, book: Book, page: Page, context: dict[str, object]) -> Pieces:
    return Pieces(lambda: renderer.generate(PAGE, book.page(page, context)))


def results_summary(results: Sequence[ImageResult], job_url: str | None = None) -> str:
    """A few markdown lines for a CI job's summary page: counts and what failed."""
    counted = {s: sum(r.status is s for r in results) for s in Status}
    counts = ", ".join(
        f"{n} {s.value}" for s, n in counted.items() if n or s is not Status.DEFERRED
    )
    lines = ["### syncer", "", f"{len(results)} images: {counts}."]
    failed = [r for r in results if r.status is Status.FAILED]
    if failed:
        lines.append("")
        lines += [f"- `{r.source}`: {cell(r.reason or '')}: {cell(r.error or '')}" for r in failed]
    if job_url:
        lines += ["", f"Job: {job_url}"]
    return "\n".join(lines) + "\n"
