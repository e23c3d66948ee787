"""The markdown report (`MAPPING.md`): state in, bytes out, the same bytes for the same state."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from syncer.companions import summary
from syncer.imagelist import Mapping
from syncer.results import ImageResult, Status
from syncer.state import State

TEMPLATE = "MAPPING.md.j2"


@dataclass(frozen=True)
class Row:
    source: str
    destination: str
    platforms: tuple[str, ...]
    digest: str | None
    commit: str | None
    status: str
    trust: str = ""  # "signed, SBOM, 2 attestations; verified"
    drift: str | None = None
    selected_by: str | None = None  # the tag selector line that chose it
    copied_at: str | None = None  # UTC date its current digest was first recorded

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


SHORT_ERROR = 72  # characters of the error in a table row; the state keeps all of it


def short(text: str, limit: int = SHORT_ERROR) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _status(state: State, source: str) -> str:
    known = state.get(source)
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


def _trust(state: State, source: str) -> str:
    known = state.get(source)
    if known is None:
        return ""
    parts = [summary(known.companions)] if known.companions else []
    if known.verified:
        parts.append("verified")
    return "; ".join(p for p in parts if p)


def _row(source: str, destination: str, state: State) -> Row:
    known = state.get(source)
    return Row(
        source,
        destination,
        known.platforms if known else (),
        known.digest if known else None,
        known.commit if known else None,
        _status(state, source),
        _trust(state, source),
        known.drift if known else None,
        known.selected_by if known else None,
        known.history[-1].at if known and known.history else None,
    )


def rows(mappings: Sequence[Mapping], state: State, selected: Iterable[str] = ()) -> list[Row]:
    """One row an image of the list, and one an image a tag selector chose (from the state)."""
    table = {str(m.source): _row(str(m.source), str(m.destination), state) for m in mappings}
    for key in selected:
        if key not in table and key in state:
            table[key] = _row(key, state[key].destination, state)
    return [table[key] for key in sorted(table)]


def _summary(table: list[Row]) -> str:
    ok = sum(row.status.startswith("mirrored") for row in table)
    failed = sum(row.status.startswith("FAILED") for row in table)
    pending = len(table) - ok - failed
    text = f"{len(table)} images: {ok} mirrored, {failed} failed"
    drifted = sum(row.drift is not None for row in table)
    unverified = sum("(unverified)" in row.status for row in table)
    extra = [f"{pending} pending"] if pending else []
    extra += [f"{drifted} drifted"] if drifted else []
    extra += [f"{unverified} unverified"] if unverified else []
    return text + "".join(f", {e}" for e in extra) + "."


def render_report(
    mappings: Sequence[Mapping],
    state: State,
    *,
    prefix: str,
    list_file: str,
    state_file: str,
    template: Path | None = None,
    selected: Iterable[str] = (),
) -> str:
    import jinja2  # only commands that render pay for the import

    loader: jinja2.BaseLoader = (
        jinja2.FileSystemLoader(str(template.parent))
        if template
        else jinja2.PackageLoader("syncer", "templates")
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
    env.filters["cell"] = cell
    table = rows(mappings, state, selected)
    groups: dict[str, list[Row]] = {}
    for row in table:
        groups.setdefault(row.registry, []).append(row)
    return env.get_template(template.name if template else TEMPLATE).render(
        rows=table,
        groups=sorted(groups.items()),
        summary=_summary(table),
        prefix=prefix,
        example=table[0].destination if table else f"{prefix}/IMAGE:TAG",
        list_file=list_file,
        state_file=state_file,
    )


def results_summary(results: Sequence[ImageResult], job_url: str | None = None) -> str:
    """A few markdown lines for a CI job's summary page: counts and what failed."""
    counts = ", ".join(f"{sum(r.status is s for r in results)} {s.value}" for s in Status)
    lines = ["### syncer", "", f"{len(results)} images: {counts}."]
    failed = [r for r in results if r.status is Status.FAILED]
    if failed:
        lines.append("")
        lines += [f"- `{r.source}`: {cell(r.reason or '')}: {cell(r.error or '')}" for r in failed]
    if job_url:
        lines += ["", f"Job: {job_url}"]
    return "\n".join(lines) + "\n"
