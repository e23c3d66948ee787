"""`syncer report --merge`: fold the results files of a sharded re-sync into one report commit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from syncer.ci import CiContext
from syncer.commands.run import append_summary, publish_report
from syncer.config import Config
from syncer.errors import SyncerError
from syncer.git import Repository
from syncer.locks import working_tree_lock
from syncer.record.report import results_summary
from syncer.record.results import ImageResult, Status
from syncer.record.shard import load_results
from syncer.record.state import State, apply_results
from syncer.workspace import load_workspace, read_text

Log = Callable[[str], None]


def merge_job(
    config: Config, repo: Repository, ci: CiContext, files: list[Path], push: bool, log: Log
) -> int:
    """Fold the results files of several shards into the state, render, commit once."""
    with working_tree_lock(repo.git_dir, repo.root, log):
        return _merge_job(config, repo, ci, files, push, log)


def _merge_job(
    config: Config, repo: Repository, ci: CiContext, files: list[Path], push: bool, log: Log
) -> int:
    prefix = config.require_destination()
    work = load_workspace(config, prefix)
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
    append_summary(ci, results_summary(everything, ci.job_url))
    publish_report(config, repo, ci, updates, everything, push, log)
    return 1 if any(r.status is Status.FAILED for r in everything) else 0
