"""Commit the report back and push it: never a half file, never a force-push, never lost.

The state and the report are written atomically, state first; what was written is committed
with syncer's identity and pushed to the branch the job runs for. A push that lost a race is
re-applied on the remote's new head; report commits that an earlier run left unpushed are
pushed by the next one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from syncer.ci import CiContext
from syncer.config import Config
from syncer.errors import SyncerError
from syncer.files import Text, WriteError, holds, write_atomic
from syncer.git import GitError, Repository
from syncer.record.image import ImageResult, State, Status
from syncer.record.shard import dump_results
from syncer.record.state import Removal, now
from syncer.workspace import PageFolder, render_files

Log = Callable[[str], None]


class ReportNotWritten(SyncerError):
    """The state is recorded (committed), the report beside it could not be written."""


@dataclass(frozen=True)
class Identity:
    name: str
    email: str


def _remote_moved(error: GitError) -> bool:
    """The push lost a race (worth re-applying), unlike "[remote rejected]" by a hook or a
    protected branch, which no retry can fix."""
    return any(word in error.output for word in ("(fetch first)", "(non-fast-forward)"))


def publish(
    repo: Repository,
    *,
    render: Callable[[], Mapping[str, Text]],
    message: str,
    author: Identity,
    branch: str | None,
    push: bool,
    tries: int,
    log: Log,
    pages: PageFolder | None = None,
) -> str | None:
    """Commit what `render` writes and push it to `branch`; return the new commit, if any.
    The report's `pages` that `render` no longer writes are removed in the same commit.

    `render` reads the repository as it is when called (list and state at HEAD), so after a
    rejected push the report is rebuilt on top of the remote's new head: nothing anybody else
    pushed is lost, and nothing is ever force-pushed.
    """
    for attempt in range(1, max(1, tries) + 1):
        files = render()
        stale = pages.stale(repo.root, files) if pages else []
        written, failure = write_files(repo.root, files, stale)
        if not written and failure:
            raise failure
        sha, own = _commit(repo, written, message, author), 1
        if sha is None and push:
            own = _pending_push(repo, branch, set(files), pages, log)
            sha = repo.head_sha() if own else None
        if sha is None:
            log("report unchanged, nothing to commit")
        elif not push:
            pass
        elif branch is None:
            log("HEAD is detached and no branch is known: committed, not pushed")
        else:
            try:
                repo.git("push", repo.push_target(), f"HEAD:refs/heads/{branch}")
                log(f"pushed {sha[:10]} to {branch}")
            except GitError as error:
                if not _remote_moved(error) or attempt == tries:
                    raise
                log(f"{branch} moved on the remote; re-applying the report (try {attempt + 1})")
                _rebase_onto_remote(repo, branch, own)
                continue
        if failure:  # what could be written is committed; now say what could not
            raise ReportNotWritten(f"{failure} ({', '.join(written)} written and committed)")
        return sha
    return None


def write_files(
    root: Path, files: Mapping[str, Text], stale: Sequence[str] = ()
) -> tuple[list[str], WriteError | None]:
    """Write the files in order, each whole or not at all, then remove the `stale` ones; stop
    at the first that fails (the state comes first: a report is never committed without the
    state it shows, nor a page removed before the report that no longer links to it)."""
    written: list[str] = []
    for path, text in files.items():
        try:
            # A file that holds these bytes already is left alone: no fsync, no new mtime for
            # git to look at (the usual case of a scheduled re-sync).
            if not _holds(root / path, text):
                write_atomic(root / path, text)
        except WriteError as failure:
            return written, failure
        written.append(path)
    for path in stale:
        try:
            (root / path).unlink(missing_ok=True)
        except OSError as exc:
            return written, WriteError(root / path, exc.strerror or str(exc))
        written.append(path)
    return written, None


def _holds(path: Path, text: Text) -> bool:
    try:
        return holds(path, text)
    except SyncerError:  # unreadable (a directory in its place...): writing it says why
        return False


def _pending_push(
    repo: Repository, branch: str | None, files: set[str], pages: PageFolder | None, log: Log
) -> int:
    """How many report commits that an earlier run made and never pushed (killed
    during `git push`, or `--no-push`): commits ahead of the remote branch that touch
    nothing but syncer's own files (these `files`, and the report's `pages`, removed ones
    too). 0 when there are none, or others' commits among them."""
    if branch is None or not repo.has_commit(f"refs/remotes/origin/{branch}"):
        return 0
    ahead = repo.git("rev-list", f"refs/remotes/origin/{branch}..HEAD").split()
    if not ahead:
        return 0
    for sha in ahead:
        touched = repo.git("diff-tree", "--no-commit-id", "--name-only", "-r", sha).split()
        own = (n in files or (pages is not None and pages.owns(n)) for n in touched)
        if not touched or not all(own):
            log(
                f"HEAD has {len(ahead)} commits not on origin/{branch}, not all syncer's: not pushed"
            )
            return 0
    log(f"pushing {len(ahead)} report commit(s) that an earlier run left unpushed")
    return len(ahead)


def _commit(repo: Repository, files: list[str], message: str, author: Identity) -> str | None:
    """Commit `files` as they are in the working tree (a removed one: its removal)."""
    there = [name for name in files if (repo.root / name).exists()]
    if there:
        repo.git("add", "--", *there)
    if len(there) < len(files):
        gone = [name for name in files if name not in there]
        repo.git("rm", "--cached", "--quiet", "--ignore-unmatch", "--", *gone)
    changed = repo.git("diff", "--cached", "--name-only", "-z", "--", *files).split("\0")
    files = [name for name in changed if name]  # a page removed before it was committed: none
    if not files:
        return None
    identity = {
        "GIT_AUTHOR_NAME": author.name,
        "GIT_AUTHOR_EMAIL": author.email,
        "GIT_COMMITTER_NAME": author.name,
        "GIT_COMMITTER_EMAIL": author.email,
    }
    repo.git("commit", "--quiet", "--no-verify", "-m", message, "--", *files, env=identity)
    return repo.head_sha()


def _rebase_onto_remote(repo: Repository, branch: str, own: int) -> None:
    """Drop our `own` report commits, bring in the remote's new commits; the caller re-renders
    (the results of this run; an image whose earlier unpushed result is dropped here is
    missing from the state, so the next run checks it again)."""
    repo.git("reset", "--hard", f"HEAD~{own}")
    repo.git("fetch", "--no-tags", "origin", branch)
    try:
        repo.git("rebase", "FETCH_HEAD")
    except GitError:
        repo.git("rebase", "--abort")
        raise GitError(
            f"local commits do not rebase onto origin/{branch}; resolve by hand and run again"
        ) from None


def _commit_message(results: list[ImageResult], job_url: str | None) -> str:
    counts = {s: sum(r.status is s for r in results) for s in Status}
    parts = [f"{n} {s.value}" for s, n in counts.items() if n]
    subject = f"Update image mirror report: {', '.join(parts) or 'no copies'} [skip ci]"
    # The job URL goes into the message, not the report: the report changes only with the state.
    return f"{subject}\n\nJob: {job_url}\n" if job_url else subject


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
    removal = Removal(now(), repo.head_sha())  # lines gone from the list: gone since now
    try:
        publish(
            repo,
            render=lambda: render_files(config, prefix, updates, removal=removal),
            message=_commit_message(results, ci.job_url),
            author=Identity(config.git_author_name, config.git_author_email),
            branch=ci.branch or repo.current_branch(),
            push=push,
            tries=config.push_tries,
            log=log,
            pages=PageFolder(config.pages),
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
