"""The GitOps commands: run, report, plan, diff, sync."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from syncer.commands.common import (
    BaseOpt,
    DestOpt,
    ImagesArg,
    JsonOpt,
    ListOpt,
    NoPushOpt,
    RepoOpt,
    ShardOpt,
    _config,
    _in_repository,
    _log,
    _print_json,
    _shard,
    app,
    given_images,
    progress,
    report_problems,
    warn,
)
from syncer.errors import UsageError
from syncer.imagelist.parse import map_destinations, parse_list
from syncer.imagelist.policy import apply_policy


@app.command("run")
def run(
    base: BaseOpt = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Re-sync every image of the list, not only new ones.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan and the report change; touch nothing.")
    ] = False,
    no_push: NoPushOpt = False,
    shard: ShardOpt = None,
    results: Annotated[
        Path | None,
        typer.Option("--results", help="Write the results here (JSON) instead of committing."),
    ] = None,
    list_: ListOpt = None,
    dest: DestOpt = None,
    repo: RepoOpt = None,
) -> int:
    """The CI job: copy the images that are new since the base revision (and any that failed
    before), write MAPPING.md and mapping.json, commit them with [skip ci] and push.

    Exit 1 if any image failed or the list has bad lines; the others are still copied.
    """
    from syncer.commands.run import RunOptions, run_job

    config, context, repository = _in_repository(repo, list=list_, destination=dest)
    chosen = _shard(shard, context)
    if chosen is not None and results is None:
        results = Path(f"syncer-results-{chosen.index}-of-{chosen.total}.json")
    options = RunOptions(
        base=base,
        everything=everything,
        dry_run=dry_run,
        push=not no_push,
        shard=chosen,
        results_file=results,
    )
    return run_job(config, repository, context, options, _log, warn)


@app.command("report")
def report(
    files: Annotated[
        list[Path] | None, typer.Argument(help="Results files of the shards.", show_default=False)
    ] = None,
    merge: Annotated[
        bool, typer.Option("--merge", help="Fold the results FILES of the shards into the state.")
    ] = False,
    no_push: NoPushOpt = False,
    list_: ListOpt = None,
    dest: DestOpt = None,
    repo: RepoOpt = None,
) -> int:
    """Render MAPPING.md from mapping.json, commit and push it (once) if it changed.

    With --merge, first fold the results files that `run --shard` wrote into the state:
    `syncer report --merge results/*.json`.
    """
    from syncer.commands.report import merge_job

    if merge != bool(files):
        raise UsageError("give results files together with --merge, and --merge with files")
    config, context, repository = _in_repository(repo, list=list_, destination=dest)
    return merge_job(config, repository, context, files or [], not no_push, _log)


@app.command("plan")
def plan(
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
    list_: ListOpt = None,
    dest: DestOpt = None,
    repo: RepoOpt = None,
) -> int:
    """Validate a merge request: the list is valid and every source it adds exists.

    Prints a markdown plan (source, destination, platforms), appends it to
    $GITHUB_STEP_SUMMARY on GitHub, and posts it as an MR/PR comment. Exit 1 when anything
    added is invalid or missing.
    """
    from syncer.commands.plan import plan_job
    from syncer.commands.run import append_summary
    from syncer.review.comments import CommentError, upsert_comment
    from syncer.review.plan import plan_json, render_plan

    config, context, repository = _in_repository(repo, list=list_, destination=dest)
    rows, problems, base_why = plan_job(config, repository, context, base, warn, progress)
    text = render_plan(rows, problems, base_why)
    typer.echo(plan_json(rows, problems) if as_json else text)
    append_summary(context, text)
    if comment and context.comment_token and context.merge_request:
        try:
            _log(f"plan comment {upsert_comment(context, text)}")
        except CommentError as exc:
            warn(str(exc))
    return 1 if problems or any(r.problem for r in rows) else 0


@app.command("diff")
def diff(
    base: BaseOpt = None,
    head: Annotated[str, typer.Option("--head", help="Revision with the new list.")] = "HEAD",
    as_json: JsonOpt = False,
    list_: ListOpt = None,
    repo: RepoOpt = None,
) -> int:
    """Print the images added to and removed from the list between two revisions."""
    from syncer.commands.run import diff_lists
    from syncer.git import find_base

    config, context, repository = _in_repository(repo, list=list_)
    found = find_base(repository, base, context, warn)
    result = diff_lists(repository, repository.relative(config.list_path), found, head, config.list)
    for problem in result.problems:
        warn(str(problem))
    if as_json:
        _print_json(
            {
                "base": found.sha,
                "added": [e.key for e in result.added],
                "removed": [e.key for e in result.removed],
                "added_selectors": [x.key for x in result.added_selectors],
                "removed_selectors": [x.key for x in result.removed_selectors],
                "problems": [str(p) for p in result.problems],
            }
        )
    else:
        typer.echo(f"# base: {found.sha or 'none'} ({found.why})")
        for key in [e.key for e in result.added] + [x.key for x in result.added_selectors]:
            typer.echo(f"+ {key}")
        for key in [e.key for e in result.removed] + [x.key for x in result.removed_selectors]:
            typer.echo(f"- {key}")
    return 1 if result.problems else 0


@app.command("sync")
def sync(
    images: ImagesArg = None,
    dest: DestOpt = None,
    repo: RepoOpt = None,
) -> int:
    """Copy the named images to the destination now (no diff, no report)."""
    from syncer.copy.runner import run_sync
    from syncer.record.results import Status

    config = _config(repo, destination=dest)
    text = "\n".join(given_images(images))
    parsed = apply_policy(parse_list(text, "argument"), config.allowed_sources)
    report_problems(parsed.errors)
    mappings, problems = map_destinations(parsed.entries, config.require_destination(), "argument")
    report_problems(problems)
    results = run_sync(mappings, config, _log)
    failed = any(r.status is Status.FAILED for r in results)
    return 1 if failed or parsed.errors or problems else 0
