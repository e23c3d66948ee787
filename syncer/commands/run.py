"""The GitOps job as a short pipeline: load -> diff -> plan -> copy -> report -> commit."""

from __future__ import annotations

import difflib
import os
import tempfile
from collections.abc import Callable
from collections.abc import Mapping as MappingT
from dataclasses import dataclass
from pathlib import Path

from syncer.ci import CiContext
from syncer.config import Config
from syncer.errors import SyncerError, UsageError
from syncer.files import Pieces, Text, holds, write_atomic
from syncer.git import Base, Repository, find_base
from syncer.imagelist.expansion import Expansion, expand, failures, selected_mappings, stamp
from syncer.imagelist.parse import (
    Entry,
    Problem,
    added_images,
    parse_list,
    removed_images,
)
from syncer.imagelist.selectors import Selector
from syncer.locks import working_tree_lock
from syncer.publish import Identity, ReportNotWritten, publish
from syncer.record.report import report_pieces, results_summary
from syncer.record.results import ImageResult, Status
from syncer.record.shard import Shard, dump_results
from syncer.record.state import (
    State,
    apply_results,
    merge,
    needs_work,
    selected_keys,
    unselected,
)
from syncer.record.statedump import state_lines
from syncer.workspace import Workspace, load_workspace, read_text

Log = Callable[[str], None]


@dataclass(frozen=True)
class RunOptions:
    base: str | None = None
    everything: bool = False
    dry_run: bool = False
    push: bool = True
    shard: Shard | None = None
    results_file: Path | None = None  # write results here instead of committing


@dataclass(frozen=True)
class Diff:
    base: Base
    added: tuple[Entry, ...]
    removed: tuple[Entry, ...]
    problems: tuple[Problem, ...] = ()  # bad lines of the new list (left out of `added`)
    added_selectors: tuple[Selector, ...] = ()  # tag selector lines new or changed
    removed_selectors: tuple[Selector, ...] = ()


def diff_lists(repo: Repository, list_path: str, base: Base, head: str, display: str) -> Diff:
    head_text = repo.file_at(head, list_path)
    if head_text is None:
        raise SyncerError(f"{display}: not in the repository at {head}")
    head_list = parse_list(head_text, display)
    base_text = repo.file_at(base.sha, list_path) if base.sha else None
    base_list = parse_list(base_text, display, head_list) if base_text is not None else None
    added, removed = added_images(base_list, head_list), removed_images(base_list, head_list)
    before = {x.key for x in base_list.selectors} if base_list else set()
    after = {x.key for x in head_list.selectors}
    new_selectors = tuple(x for x in head_list.selectors if x.key not in before)
    gone = tuple(x for x in (base_list.selectors if base_list else ()) if x.key not in after)
    return Diff(base, added, removed, tuple(head_list.errors), new_selectors, gone)


def render_files(
    config: Config, prefix: str, updates: State, work: Workspace | None = None
) -> dict[str, Text]:
    """Report and state for the working tree as it is now, with `updates` merged in."""
    work = work or load_workspace(config, prefix)
    # Images the list's tag selectors chose stay, even when no longer chosen (never deleted).
    selected = selected_keys(work.state, (s.key for s in work.images.selectors), updates)
    state = merge(work.state, updates, {*(m.key for m in work.mappings), *selected})
    template = config.path(config.report_template) if config.report_template else None
    report = Pieces(
        lambda: report_pieces(
            work.mappings,
            state,
            prefix=prefix,
            list_file=config.list,
            state_file=config.state,
            template=template,
            selected=selected,
        )
    )
    # The state first: written alone it is still the truth; a report alone would not be.
    return {config.state: Pieces(lambda: state_lines(state)), config.report: report}


def _commit_message(results: list[ImageResult], job_url: str | None) -> str:
    counts = {s: sum(r.status is s for r in results) for s in Status}
    parts = [f"{n} {s.value}" for s, n in counts.items() if n]
    subject = f"Update image mirror report: {', '.join(parts) or 'no copies'} [skip ci]"
    # The job URL goes into the message, not the report: the report changes only with the state.
    return f"{subject}\n\nJob: {job_url}\n" if job_url else subject


SHOWN_CHANGES = 400  # lines; more would make the dry run slow (difflib) and unreadable


def _show_changes(config: Config, files: MappingT[str, Text], log: Log) -> None:
    for name, content in files.items():
        if holds(config.path(name), content):  # compared a piece at a time, nothing to diff
            log(f"{name}: unchanged")
            continue
        old = read_text(config.path(name))
        if old is None:  # a new file: count its lines without holding it
            count = sum(piece.count("\n") for piece in content)
            if count > SHOWN_CHANGES:
                log(f"{name}: about {count} lines change (too many to show)")
                continue
        text = content if isinstance(content, str) else "".join(content)
        before = (old or "").splitlines(keepends=True)
        after = text.splitlines(keepends=True)
        changed = len(set(before).symmetric_difference(after))
        if changed > SHOWN_CHANGES:
            log(f"{name}: about {changed} lines change (too many to show)")
            continue
        diff = "".join(difflib.unified_diff(before, after, name, name))
        log(diff.rstrip("\n") if diff else f"{name}: unchanged")


def run_job(
    config: Config, repo: Repository, ci: CiContext, options: RunOptions, log: Log, warn: Log
) -> int:
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
    prefix = config.require_destination()
    work = load_workspace(config, prefix)
    for problem in work.problems:
        warn(str(problem))
    for duplicate in work.images.duplicates:
        warn(str(duplicate))
    list_path = repo.relative(config.list_path)
    if options.everything:
        wanted = {m.key for m in work.mappings}
        to_expand = list(work.images.selectors)
        log(f"re-syncing the whole list: {len(wanted)} images, {len(to_expand)} tag selectors")
    else:
        base = find_base(repo, options.base, ci, log)
        diff = diff_lists(repo, list_path, base, "HEAD", config.list)
        for entry in diff.removed:
            log(f"removed from the list (kept in the registry): {entry.key}")
        pending = needs_work(work.state, [(m.key, str(m.destination)) for m in work.mappings])
        wanted = {e.key for e in diff.added} | pending
        to_expand = [*diff.added_selectors, *_unfinished(work)]
        log(f"{len(diff.added)} new since {base.why}; {len(wanted)} to sync")
    expansions = expand(to_expand, config)
    chosen, problems = selected_mappings(expansions, prefix, config.list)
    for problem in problems:
        warn(str(problem))
    wanted |= {m.key for m in chosen}
    selector_failures = failures(expansions, prefix)
    plan = [m for m in [*work.mappings, *chosen] if m.key in wanted]
    if options.shard:
        plan = [m for m in plan if options.shard.owns(m.key)]
        selector_failures = [r for r in selector_failures if options.shard.owns(r.source)]
        log(f"shard {options.shard}: {len(plan)} of them")
    for failure in selector_failures:
        warn(f"{failure.source}: {failure.error}")
    if options.dry_run:
        for start in range(0, len(plan), 1000):  # a re-sync of a long list plans every line
            chunk = plan[start : start + 1000]
            log("\n".join([f"would sync {m.key} -> {m.destination}" for m in chunk]))
        _show_changes(config, render_files(config, prefix, {}, work), log)
        return 1 if work.problems or selector_failures else 0
    from syncer.copy.runner import run_sync  # the HTTP client: not for a dry run

    known = {s.digest: s.platforms for s in work.state.values() if s.digest and s.platforms}
    last = {key: s.digest for key, s in work.state.items() if s.digest}
    results = [*stamp(run_sync(plan, config, log, known, last), expansions), *selector_failures]
    no_longer = _no_longer_chosen(work.state, expansions) if options.everything else {}
    append_summary(ci, results_summary(results, ci.job_url))
    if options.results_file:
        write_atomic(options.results_file, dump_results(results, repo.head_sha(), options.shard))
        log(f"results: {options.results_file}")
    else:
        publish_report(
            config,
            repo,
            ci,
            {**no_longer, **apply_results(work.state, results, repo.head_sha())},
            results,
            options.push,
            log,
        )
    failed = sum(r.status is Status.FAILED for r in results)
    if failed:
        warn(f"{failed} of {len(results)} images failed")
    return 1 if failed or work.problems else 0


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
    changes: State = {}
    for x in expansions:
        if x.error is None:
            chosen = [e.key for e in x.entries()]
            changes.update(unselected(state, x.selector.key, chosen))
    return changes


def append_summary(ci: CiContext, text: str) -> None:
    """Add to the CI job's summary page where the provider has one (GitHub)."""
    if ci.summary_file:
        try:
            with open(ci.summary_file, "a", encoding="utf-8") as summary:
                summary.write(text)
        except OSError as exc:
            raise SyncerError(f"{ci.summary_file}: cannot write: {exc.strerror}") from None


def publish_report(
    config: Config,
    repo: Repository,
    ci: CiContext,
    updates: State,
    results: list[ImageResult],
    push: bool,
    log: Log,
) -> None:
    prefix = config.require_destination()
    try:
        publish(
            repo,
            render=lambda: render_files(config, prefix, updates),
            message=_commit_message(results, ci.job_url),
            author=Identity(config.git_author_name, config.git_author_email),
            branch=ci.branch or repo.current_branch(),
            push=push,
            tries=config.push_tries,
            log=log,
        )
    except ReportNotWritten:
        raise
    except SyncerError as exc:
        exc.args = (f"{exc}; {_save_results(results, repo)}",)
        raise
    log(f"report: {config.path(config.report)}")


def _save_results(results: list[ImageResult], repo: Repository) -> str:
    """Where this run's results went when the state could not be recorded: never nowhere."""
    try:
        commit = repo.head_sha()
    except SyncerError:
        commit = "unknown"
    text = dump_results(results, commit, None)
    try:
        fd, name = tempfile.mkstemp(prefix="syncer-results-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
    except OSError as exc:
        return f"this run's results could not be saved either ({exc.strerror}): see the log above"
    return (
        f"this run's results are saved in {name}: record them with 'syncer report --merge {name}'"
    )
