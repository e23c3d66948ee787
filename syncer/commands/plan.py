"""`syncer plan`: what a merge request adds, every list problem, each new source inspected."""

from __future__ import annotations

from collections.abc import Callable

from syncer.ci import CiContext
from syncer.commands.run import diff_lists
from syncer.config import Config
from syncer.git import Repository, find_base
from syncer.imagelist.expansion import expand, failures, selected_mappings
from syncer.imagelist.parse import Problem
from syncer.review.plan import PlanRow, make_plan
from syncer.workspace import load_workspace

Log = Callable[[str], None]


def plan_job(
    config: Config,
    repo: Repository,
    ci: CiContext,
    base_rev: str | None,
    log: Log,
    progress: Log,
) -> tuple[list[PlanRow], list[Problem], str]:
    """What a merge request adds: every list problem, and each new source inspected."""
    prefix = config.require_destination()
    work = load_workspace(config, prefix)
    base = find_base(repo, base_rev, ci, log)
    diff = diff_lists(repo, repo.relative(config.list_path), base, "HEAD", config.list)
    added = {e.key for e in diff.added}
    mappings = [m for m in work.mappings if str(m.source) in added]
    # A new or changed tag selector: the concrete tags it would copy now.
    expansions = expand(diff.added_selectors, config)
    chosen, more = selected_mappings(expansions, prefix, config.list)
    problems = sorted([*work.problems, *work.images.duplicates, *more], key=lambda p: p.line)
    rows = make_plan([*mappings, *chosen], config, progress)
    rows += [
        PlanRow(f.source, f.destination, problem=f"{f.reason}: {f.error}")
        for f in failures(expansions, prefix)
    ]
    return rows, problems, base.why
