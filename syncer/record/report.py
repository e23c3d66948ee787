"""The markdown report (`MAPPING.md`): state in, bytes out, the same bytes for the same state."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from syncer.errors import SyncerError
from syncer.imagelist.parse import Mapping
from syncer.record.image import Content, ImageResult, Reason, State, Status
from syncer.record.rows import Row, Rows, cell, gone, rows, shared_cells, table_line

TEMPLATE = "MAPPING.md.j2"


def _summary(keys: Iterable[str], state: State) -> str:
    """`N images: N mirrored, N failed[, N pending, N deferred, N drifted, N unverified].`"""
    total = ok = failed = deferred = drifted = unverified = 0
    for key in keys:
        known = state.get(key)
        total += 1
        if known is None:
            continue  # pending
        drifted += known.drift is not None
        if known.status == Status.DEFERRED:
            deferred += 1
            continue
        if not known.failed and known.digest is None:
            continue  # pending, as _status says
        if known.failed:
            failed += 1
            unverified += known.reason == Reason.UNVERIFIED
        else:
            ok += 1
    pending = total - ok - failed - deferred
    text = f"{total} images: {ok} mirrored, {failed} failed"
    extra = [f"{pending} pending"] if pending else []
    extra += [f"{deferred} deferred"] if deferred else []
    extra += [f"{drifted} drifted"] if drifted else []
    extra += [f"{unverified} unverified"] if unverified else []
    return text + "".join(f", {e}" for e in extra) + "."


class TableLines:
    """A group's table lines as the built-in template shows them, made in Python (a jinja2
    row with its cells is much slower, at 100,000 images) one at a time as the template asks (never the whole table as one string); as a string, all of them."""

    def __init__(self, group: Iterable[Row], escape: Callable[[object], str]) -> None:
        self.group, self.escape = group, escape

    def __iter__(self) -> Iterator[str]:
        return (table_line(row, self.escape) for row in self.group)

    def __str__(self) -> str:
        return "\n".join(self)


def _context(
    mappings: Sequence[Mapping],
    state: State,
    escape: Callable[[object], str],
    selected: Iterable[str],
    prune_after: int | None,
) -> dict[str, object]:
    """What the template gets besides the names of things: rows, groups, sections."""
    table = rows(mappings, state, selected)
    by_registry: dict[str, list[str]] = {}
    for key in table.keys:
        by_registry.setdefault(key.partition("/")[0], []).append(key)
    groups = {registry: Rows(keys, table.make) for registry, keys in by_registry.items()}
    charts = [k for k in table.keys if (s := state.get(k)) and s.content is Content.CHART]
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
    }


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
    """The report, a piece at a time (written or compared as it is made)."""
    import jinja2  # only commands that render pay for the import

    loader: jinja2.BaseLoader = (
        jinja2.FileSystemLoader(str(template.parent))
        if template
        else jinja2.PackageLoader("syncer.record", "templates")
    )
    env = jinja2.Environment(
        loader=loader,
        # Markdown, not HTML: text from outside goes through `cell`, references are valid
        # by construction (no markup characters can be in one).
        autoescape=False,  # noqa: S701
        keep_trailing_newline=True,
        trim_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    escape = env.filters["cell"] = shared_cells()
    context = _context(mappings, state, escape, selected, prune_after)
    context["example"] = context["example"] or f"{prefix}/IMAGE:TAG"
    try:
        yield from env.get_template(template.name if template else TEMPLATE).generate(
            prefix=prefix, list_file=list_file, state_file=state_file, **context
        )
    except jinja2.TemplateError as exc:
        if template is None:
            raise  # the built-in template: a bug, shown whole
        where = f":{exc.lineno}" if isinstance(exc, jinja2.TemplateSyntaxError) else ""
        raise SyncerError(f"{template}{where}: report template: {exc}") from None


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
