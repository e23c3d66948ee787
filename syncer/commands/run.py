"""`syncer run`: the GitOps job as a short pipeline, load -> diff -> plan -> copy -> report ->
commit. With `--shard`, one part of a re-sync that leaves its results for `report --merge`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from syncer.commands.common import (
    BaseOpt,
    NoPushOpt,
    ShardOpt,
    app,
    details_log,
    globals_of,
    in_repository,
    log,
    shard_of,
    warn,
)
from syncer.errors import UsageError

if TYPE_CHECKING:  # imported where used: `syncer check` does not pay for a run's modules
    from syncer.ci import CiContext
    from syncer.config import Config
    from syncer.copy.runner import Registries
    from syncer.git import Repository
    from syncer.imagelist.expansion import Expansion
    from syncer.imagelist.parse import Mapping
    from syncer.imagelist.selectors import Selector
    from syncer.record.image import ImageResult, State
    from syncer.record.shard import Shard
    from syncer.workspace import Workspace

Log = Callable[[str], None]


@app.command("run")
def run(
    ctx: typer.Context,
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
) -> int:
    """The CI job: copy the images that are new since the base revision (and any that failed
    before), write MAPPING.md and mapping.json, commit them with [skip ci] and push.

    Exit 1 if any image failed or the list has bad lines; the others are still copied.
    """
    given = globals_of(ctx)
    config, context, repository = in_repository(given)
    chosen = shard_of(shard, context)
    if chosen is not None and results is None:
        results = Path(f"syncer-results-{chosen.index}-of-{chosen.total}.json")
    options = RunOptions(
        base, everything, dry_run, not no_push, chosen, results, details_log(given)
    )
    return run_job(config, repository, context, options, log, warn)


@dataclass(frozen=True)
class RunOptions:
    base: str | None = None
    everything: bool = False
    dry_run: bool = False
    push: bool = True
    shard: Shard | None = None
    results_file: Path | None = None  # write results here instead of committing
    details: Log | None = None  # where failed commands' whole output goes


@dataclass(frozen=True)
class Plan:
    """What this run will sync, and the selector lines that failed before any copy."""

    mappings: list[Mapping]
    expansions: list[Expansion]
    selector_failures: list[ImageResult]


def run_job(
    config: Config, repo: Repository, ci: CiContext, options: RunOptions, log: Log, warn: Log
) -> int:
    from syncer.locks import working_tree_lock

    if options.dry_run:
        return _run_job(config, repo, ci, options, log, warn)
    if options.push and options.results_file is None and not repo.has_remote("origin"):
        raise UsageError(
            f"{repo.root}: no remote 'origin' to push the report to; add one "
            "(git remote add origin URL), or run with --no-push to commit it locally. "
            "Nothing was copied or committed."
        )
    with working_tree_lock(repo.git_dir, repo.root, log):
        return _run_job(config, repo, ci, options, log, warn)


def _run_job(
    config: Config, repo: Repository, ci: CiContext, options: RunOptions, log: Log, warn: Log
) -> int:
    from syncer.copy.prune import due_for_pruning, prune_due
    from syncer.copy.runner import registries
    from syncer.record.image import Status
    from syncer.workspace import load_workspace, render_files, show_changes

    prefix = config.require_destination()
    work = load_workspace(config, prefix)
    for problem in [*work.problems, *work.images.duplicates]:
        warn(str(problem))

    with registries(config, log) as held:
        plan = _plan(config, repo, ci, options, work, held, log, warn)
        if options.dry_run:
            for start in range(0, len(plan.mappings), 1000):  # a re-sync plans every line
                chunk = plan.mappings[start : start + 1000]
                log("\n".join([f"would sync {m.key} -> {m.destination}" for m in chunk]))
            for key in due_for_pruning(config, work):
                log(f"would delete {work.state[key].destination} (removed from the list)")
            show_changes(config, render_files(config, prefix, {}, work), log)
            return 1 if work.problems or plan.selector_failures else 0
        results = _sync(config, work, plan, held, log, options.details)
        # A shard leaves pruning to the one job that merges the shards' results.
        pruned = {} if options.results_file else prune_due(config, work, held, repo, log)
    _record(config, repo, ci, options, work, plan, results, log, pruned)
    failed = sum(r.status is Status.FAILED for r in results)
    if failed:
        warn(f"{failed} of {len(results)} images failed")
    return 1 if failed or work.problems else 0


def _plan(
    config: Config,
    repo: Repository,
    ci: CiContext,
    options: RunOptions,
    work: Workspace,
    held: Registries,
    log: Log,
    warn: Log,
) -> Plan:
    """The images to sync: the whole list with --all, else what is new since the base and
    what earlier runs left unfinished; in this shard only, with --shard."""
    from syncer.git import find_base
    from syncer.imagelist.expansion import expand, failures, selected_mappings
    from syncer.record.image import Status
    from syncer.record.state import needs_work
    from syncer.workspace import changes_since

    if options.everything:
        wanted = {m.key for m in work.mappings}
        to_expand = list(work.images.selectors)
        log(f"re-syncing the whole list: {len(wanted)} images, {len(to_expand)} tag selectors")
    else:
        base = find_base(repo, options.base, ci, log)
        diff = changes_since(repo, base, work, config)
        for entry in diff.removed:
            log(f"removed from the list (kept in the registry): {entry.key}")
        where = [(m.key, str(m.destination)) for m in work.mappings]
        pending = needs_work(work.state, where)
        for key, destination in where:
            known = work.state.get(key) if key in pending else None
            if known is not None and known.destination != destination:
                log(
                    f"{key}: now mirrored as {destination}; {known.destination} stays in the registry"
                )
        wanted = {e.key for e in diff.added} | pending
        to_expand = [*diff.added_selectors, *_unfinished(work)]
        log(f"{len(diff.added)} new since {base.why}; {len(wanted)} to sync")
    prefix = config.require_destination()
    expansions = expand(to_expand, held.client, config.check_concurrency) if to_expand else []
    chosen, problems = selected_mappings(expansions, prefix, config.list, config.allowed_sources)
    for problem in problems:
        warn(str(problem))
    wanted |= {m.key for m in chosen}
    selector_failures = failures(expansions, prefix)
    mappings = [m for m in [*work.mappings, *chosen] if m.key in wanted]
    deferred = {key for key, s in work.state.items() if s.status is Status.DEFERRED}
    if deferred:  # what waited for a pull quota goes first
        mappings = [m for m in mappings if m.key in deferred] + [
            m for m in mappings if m.key not in deferred
        ]
    if options.shard:
        mappings = [m for m in mappings if options.shard.owns(m.key)]
        selector_failures = [r for r in selector_failures if options.shard.owns(r.source)]
        log(f"shard {options.shard}: {len(mappings)} of them")
    for failure in selector_failures:
        warn(f"{failure.source}: {failure.error}")
    return Plan(mappings, expansions, selector_failures)


def _sync(
    config: Config, work: Workspace, plan: Plan, held: Registries, log: Log, details: Log | None
) -> list[ImageResult]:
    from syncer.copy.runner import run_sync
    from syncer.imagelist.expansion import stamp

    copied = run_sync(plan.mappings, config, log, work.state, held.client, details)
    return [*stamp(copied, plan.expansions), *plan.selector_failures]


def _record(
    config: Config,
    repo: Repository,
    ci: CiContext,
    options: RunOptions,
    work: Workspace,
    plan: Plan,
    results: list[ImageResult],
    log: Log,
    pruned: State,
) -> None:
    """The results into the results file (a shard), or the state and report committed."""
    from syncer.files import write_atomic
    from syncer.publish import append_summary, publish_report
    from syncer.record.report import results_summary
    from syncer.record.shard import dump_results
    from syncer.record.state import apply_results

    no_longer = _no_longer_chosen(work.state, plan.expansions) if options.everything else {}
    append_summary(ci, results_summary(results, ci.job_url))
    if options.results_file:
        write_atomic(options.results_file, dump_results(results, repo.head_sha(), options.shard))
        log(f"results: {options.results_file}")
        return
    updates = {**no_longer, **pruned, **apply_results(work.state, results, repo.head_sha())}
    publish_report(config, repo, ci, updates, results, options.push, log)


def _unfinished(work: Workspace) -> list[Selector]:
    """Selectors whose own row failed, or one of whose images needs work: expanded again."""
    keys = {s.key for s in work.images.selectors}
    pending = {
        entry.selected_by
        for entry in work.state.values()
        if entry.selected_by in keys and not entry.unselected and not entry.complete
    }
    return [s for s in work.images.selectors if s.key in pending]


def _no_longer_chosen(state: State, expansions: list[Expansion]) -> State:
    from syncer.record.state import unselected

    changes: State = {}
    for x in expansions:
        if x.error is None:
            chosen = [e.key for e in x.entries()]
            changes.update(unselected(state, x.selector.key, chosen))
    return changes
