"""`syncer plan`: what a merge request adds, every list problem, each new source inspected;
printed as markdown, added to the job's summary and posted as one MR/PR comment."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Annotated, NamedTuple

import typer

from syncer.commands.common import (
    BaseOpt,
    Globals,
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
    from syncer.imagelist.parse import Mapping, Problem
    from syncer.review.plan import PlanRow
    from syncer.review.policy import PolicyReview

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
    from syncer.config import environment_keys
    from syncer.publish import append_summary
    from syncer.review.comments import CommentError, upsert_comment
    from syncer.review.plan import plan_json, render_plan

    given = globals_of(ctx)
    config, context, repository = in_repository(given)
    environment, command_line = environment_keys(os.environ), _set_here(given)
    done = plan_job(config, repository, context, base, warn, progress,
                    environment=environment, command_line=command_line)  # fmt: skip
    text = render_plan(done.rows, done.problems, done.base, done.notes, policy=done.policy)
    typer.echo(
        plan_json(done.rows, done.problems, done.notes, policy=done.policy) if as_json else text
    )
    append_summary(context, text)
    if comment and context.comment_token and context.merge_request:
        try:
            log(f"plan comment {upsert_comment(context, text)}")
        except CommentError as exc:
            warn(str(exc))
    # A policy change is legitimate work: the section says it, the exit code does not.
    return 1 if done.problems or any(r.problem for r in done.rows) else 0


def _set_here(given: Globals) -> list[str]:
    """The keys this command line sets (--set, --list, --dest), by name."""
    flags = {"list": given.list, "destination": given.destination}
    return [*given.settings, *(key for key, value in flags.items() if value is not None)]


class Plan(NamedTuple):
    rows: list[PlanRow]
    problems: list[Problem]
    base: str  # what the list was compared with
    notes: list[str]  # what it spends: pulls of a quota, deletions to come
    policy: PolicyReview


def plan_job(
    config: Config,
    repo: Repository,
    ci: CiContext,
    base_rev: str | None,
    log: Log,
    progress: Log,
    *,
    environment: Sequence[str] = (),
    command_line: Sequence[str] = (),
) -> Plan:
    """What a merge request adds: every list problem, each new source inspected, notes on what
    it spends (pulls of a quota, deletions to come), and what it changes in the policy
    (`environment`, `command_line`: the keys this job sets itself)."""
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
        chosen, more = selected_mappings(expansions, prefix, config.list, config.allowed_sources)
        problems = sorted([*work.problems, *work.images.duplicates, *more], key=lambda p: p.line)
        inspected = [*mappings, *chosen]
        rows = make_plan(inspected, config, progress, held.client)
        client = held.client
        by_source = {str(m.source): m.source for m in inspected}

        def host_of(row: PlanRow) -> str:
            found = client.serving(by_source[row.source]) if row.source in by_source else None
            return found[0].host if found else row.source.partition("/")[0]

        notes = quota_notes(rows, host_of, client.quota.seen, config.quota_reserve)
    notes += prune_notes(
        [e.key for e in diff.removed], config.prune_after, datetime.now(timezone.utc)
    )
    policy, noted = policy_of_plan(repo, base.sha, config, environment, command_line)
    rows = [replace(row, policy_notes=noted(m)) for m, row in zip(inspected, rows, strict=True)]
    rows += [
        PlanRow(f.source, f.destination, problem=f"{f.reason}: {f.error}")
        for f in failures(expansions, prefix)
    ]
    return Plan(rows, problems, base.why, notes, policy)


def policy_of_plan(
    repo: Repository,
    base: str | None,
    config: Config,
    environment: Sequence[str],
    command_line: Sequence[str],
) -> tuple[PolicyReview, Callable[[Mapping], tuple[str, ...]]]:
    """The policy section, and what only the MR's policy change does to each image added."""
    from syncer.review.policy import notes, review
    from syncer.review.revisions import changed_pipeline, read_sides

    sides = read_sides(repo, base, config.root)
    pipeline = changed_pipeline(repo, base) if base else []
    policy = review(sides.base, sides.head, pipeline, new=sides.new,
                    environment=environment, command_line=command_line)  # fmt: skip
    fixed = {*(n.removeprefix("SYNCER_").lower() for n in environment), *command_line}

    def noted(mapping: Mapping) -> tuple[str, ...]:
        if sides.base is None:  # a new mirror: all of its policy is this MR's
            return ()
        return tuple(notes(mapping.entry, sides.base, sides.head, fixed))

    return policy, noted
