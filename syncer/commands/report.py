"""`syncer report`: render MAPPING.md from mapping.json, and with `--merge` fold the results
files of a sharded re-sync into the state first; one report commit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from syncer.commands.common import NoPushOpt, app, globals_of, in_repository, log
from syncer.errors import SyncerError, UsageError

if TYPE_CHECKING:
    from syncer.ci import CiContext
    from syncer.config import Config
    from syncer.git import Repository

Log = Callable[[str], None]


@app.command("report")
def report(
    ctx: typer.Context,
    files: Annotated[
        list[Path] | None, typer.Argument(help="Results files of the shards.", show_default=False)
    ] = None,
    merge: Annotated[
        bool, typer.Option("--merge", help="Fold the results FILES of the shards into the state.")
    ] = False,
    no_push: NoPushOpt = False,
) -> int:
    """Render MAPPING.md from mapping.json, commit and push it (once) if it changed.

    With --merge, first fold the results files that `run --shard` wrote into the state:
    `syncer report --merge results/*.json`.
    """
    if merge != bool(files):
        raise UsageError("give results files together with --merge, and --merge with files")
    config, context, repository = in_repository(globals_of(ctx))
    return merge_job(config, repository, context, files or [], not no_push, log)


def merge_job(
    config: Config, repo: Repository, ci: CiContext, files: list[Path], push: bool, log: Log
) -> int:
    """Fold the results files of several shards into the state, render, commit once."""
    from syncer.locks import working_tree_lock

    with working_tree_lock(repo.git_dir, repo.root, log):
        return _merge_job(config, repo, ci, files, push, log)


def _merge_job(
    config: Config, repo: Repository, ci: CiContext, files: list[Path], push: bool, log: Log
) -> int:
    from syncer.publish import append_summary, publish_report
    from syncer.record.image import ImageResult, State, Status
    from syncer.record.report import results_summary
    from syncer.record.shard import load_results
    from syncer.record.state import apply_results
    from syncer.workspace import load_workspace, read_text

    work = load_workspace(config, config.require_destination())
    updates: State = {}
    everything: list[ImageResult] = []
    for path in files:
        text = read_text(path)
        if text is None:
            raise SyncerError(f"{path}: no such results file")
        commit, results = load_results(text, str(path))
        updates.update(apply_results(work.state, results, commit))
        everything += results
    log(f"merging {len(everything)} results from {len(files)} files")
    from syncer.copy.prune import prune_due
    from syncer.copy.runner import registries

    with registries(config, log) as held:  # the shards left pruning to this one job
        updates.update(prune_due(config, work, held, repo, log))
    append_summary(ci, results_summary(everything, ci.job_url))
    publish_report(config, repo, ci, updates, everything, push, log)
    return 1 if any(r.status is Status.FAILED for r in everything) else 0
