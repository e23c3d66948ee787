"""`syncer plan`: what a merge request adds, every list problem, each new source inspected;
printed as markdown, added to the job's summary and posted as one MR/PR comment."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from syncer.commands.common import (
    BaseOpt,
    JsonOpt,
    app,
    globals_of,
    in_repository,
    log,
    progress,
    warn,
)

if TYPE_CHECKING:  # imported where used
    from syncer.ci import CiContext
    from syncer.config import Config
    from syncer.git import Repository
    from syncer.imagelist.parse import Problem
    from syncer.review.plan import PlanRow

Log = Callable[[str], None]


@app.command("plan")
def plan(
    ctx: typer.Context,
    base: BaseOpt = None,
    comment: Annotated[
        bool,
        typer.Option(
            "--comment/--no-comment",
            help="Post or update the plan as one MR/PR comment when SYNCER_COMMENT_TOKEN "
            "(or GITHUB_TOKEN on GitHub) is set.",
        ),
    ] = True,
    as_json: JsonOpt = False,
) -> int:
    """Validate a merge request: the list is valid and every source it adds exists.

    Prints a markdown plan (source, destination, platforms), appends it to
    $GITHUB_STEP_SUMMARY on GitHub, and posts it as an MR/PR comment. Exit 1 when anything
    added is invalid or missing.
    """
    from syncer.publish import append_summary
    from syncer.review.comments import CommentError, upsert_comment
    from syncer.review.plan import plan_json, render_plan

    config, context, repository = in_repository(globals_of(ctx))
    rows, problems, base_why, notes = plan_job(config, repository, context, base, warn, progress)
    text = render_plan(rows, problems, base_why, notes)
    typer.echo(plan_json(rows, problems, notes) if as_json else text)
    append_summary(context, text)
    if comment and context.comment_token and context.merge_request:
        try:
            log(f"plan comment {upsert_comment(context, text)}")
        except CommentError as exc:
            warn(str(exc))
    return 1 if problems or any(r.problem for r in rows) else 0


def plan_job(
    config: Config,
    repo: Repository,
    ci: CiContext,
    base_rev: str | None,
    log: Log,
    progress: Log,
) -> tuple[list[PlanRow], list[Problem], str, list[str]]:
    """What a merge request adds: every list problem, each new source inspected, and notes
    on what it spends (pulls of a quota, deletions to come)."""
    from datetime import datetime, timezone

    from syncer.copy.runner import registries
    from syncer.git import find_base
    from syncer.imagelist.expansion import expand, failures, selected_mappings
    from syncer.review.budget import prune_notes, quota_notes
    from syncer.review.plan import PlanRow, make_plan
    from syncer.workspace import changes_since, load_workspace

    prefix = config.require_destination()
    work = load_workspace(config, prefix)
    base = find_base(repo, base_rev, ci, log)
    diff = changes_since(repo, base, work, config)
    added = {e.key for e in diff.added}
    mappings = [m for m in work.mappings if m.key in added]
    with registries(config) as held:
        # A new or changed tag selector: the concrete tags it would copy now.
        selectors = diff.added_selectors
        expansions = expand(selectors, held.client, config.check_concurrency) if selectors else []
        chosen, more = selected_mappings(expansions, prefix, config.list)
        problems = sorted([*work.problems, *work.images.duplicates, *more], key=lambda p: p.line)
        rows = make_plan([*mappings, *chosen], config, progress, held.client)
        client = held.client
        by_source = {str(m.source): m.source for m in [*mappings, *chosen]}

        def host_of(row: PlanRow) -> str:
            found = client.serving(by_source[row.source]) if row.source in by_source else None
            return found[0].host if found else row.source.partition("/")[0]

        notes = quota_notes(rows, host_of, client.quota.seen, config.quota_reserve)
    notes += prune_notes(
        [e.key for e in diff.removed], config.prune_after, datetime.now(timezone.utc)
    )
    rows += [
        PlanRow(f.source, f.destination, problem=f"{f.reason}: {f.error}")
        for f in failures(expansions, prefix)
    ]
    return rows, problems, base.why, notes
