"""Merge-request validation: what the MR adds, whether each source exists, where it will land."""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from syncer import process
from syncer.config import Config
from syncer.imagelist import Mapping, Problem
from syncer.report import cell
from syncer.results import platforms_of
from syncer.skopeo import SkopeoOptions, classify_failure, inspect_command

MARKER = "<!-- syncer-plan -->"


@dataclass(frozen=True)
class PlanRow:
    source: str
    destination: str
    platforms: tuple[str, ...] = ()
    problem: str | None = None


def inspect_source(mapping: Mapping, options: SkopeoOptions, timeout: float) -> PlanRow:
    """`skopeo inspect --raw` of the source manifest: does it exist, which platforms."""
    source, destination = str(mapping.source), str(mapping.destination)
    done = process.run(inspect_command(mapping.source, options), timeout=timeout)
    if not done.ok:
        reason, error = classify_failure(done.stderr, timed_out=done.timed_out)
        return PlanRow(source, destination, problem=f"{reason.value}: {error}")
    try:
        platforms = platforms_of(done.stdout)
    except ValueError:
        platforms = None
    return PlanRow(source, destination, platforms or ("single platform",))


def make_plan(mappings: Sequence[Mapping], config: Config) -> list[PlanRow]:
    options = SkopeoOptions.from_config(config)
    with ThreadPoolExecutor(max_workers=max(1, config.check_concurrency)) as pool:
        return list(pool.map(lambda m: inspect_source(m, options, config.timeout), mappings))


def render_plan(rows: Sequence[PlanRow], problems: Sequence[Problem], base: str) -> str:
    """The plan as markdown: for the job log, the step summary and the MR comment."""
    lines = [MARKER, "### syncer plan", ""]
    bad = [r for r in rows if r.problem]
    if problems or bad:
        lines.append(
            f"**{len(problems) + len(bad)} problem(s): this change cannot be mirrored as is.**"
        )
    lines.append(f"{len(rows)} image(s) added since {cell(base)}.")
    lines.append("")
    for problem in problems:
        lines.append(f"- {cell(str(problem))}")
    if problems:
        lines.append("")
    if rows:
        lines += ["| Source | Destination | Platforms | Check |", "|---|---|---|---|"]
        for row in rows:
            check = f"FAILED {cell(row.problem)}" if row.problem else "found"
            lines.append(
                f"| `{row.source}` | `{row.destination}` | {cell(', '.join(row.platforms))} | {check} |"
            )
    return "\n".join(lines) + "\n"


def plan_json(rows: Sequence[PlanRow], problems: Sequence[Problem]) -> str:
    return json.dumps(
        {
            "ok": not problems and not any(r.problem for r in rows),
            "problems": [str(p) for p in problems],
            "images": [
                {"source": r.source, "destination": r.destination, "platforms": list(r.platforms),
                 "problem": r.problem}
                for r in rows
            ],
        },
        indent=2,
        sort_keys=True,
    )  # fmt: skip
