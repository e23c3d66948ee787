"""git, through GitPython: read the list at a revision, find the base, commit and push back.

Credentials for an https remote come from SYNCER_PUSH_TOKEN through a credential helper that
reads the variable itself, so the token is in no argv, no config file and no log line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syncer.ci import ZERO_SHA, CiContext
from syncer.errors import SyncerError
from syncer.files import WriteError, write_atomic

TOKEN_VARIABLE = "SYNCER_PUSH_TOKEN"  # noqa: S105  (the variable's name, not a secret)
Log = Callable[[str], None]
_URL_CREDENTIALS = re.compile(r"(\w+://)[^/@\s]+@")


def mask_credentials(text: str) -> str:
    """`https://user:secret@host/x` -> `https://***@host/x`."""
    return _URL_CREDENTIALS.sub(r"\1***@", text)


class GitError(SyncerError):
    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output  # everything git said, masked


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return mask_credentials(lines[-1].removeprefix("stderr: ").strip("'")) if lines else "failed"


def _git_env(push_user: str, environ: Mapping[str, str]) -> dict[str, str]:
    env = {"GIT_TERMINAL_PROMPT": "0"}  # never wait for a password that nobody will type
    if environ.get(TOKEN_VARIABLE):
        # The helper prints the token from the environment at the moment git asks.
        helper = f'!f() {{ echo username={push_user}; echo "password=${TOKEN_VARIABLE}"; }}; f'
        env.update(
            {
                "GIT_CONFIG_COUNT": "2",
                "GIT_CONFIG_KEY_0": "credential.helper",
                "GIT_CONFIG_VALUE_0": "",  # drop helpers configured elsewhere
                "GIT_CONFIG_KEY_1": "credential.helper",
                "GIT_CONFIG_VALUE_1": helper,
                TOKEN_VARIABLE: environ[TOKEN_VARIABLE],
            }
        )
    return env


class Repository:
    """The checkout syncer runs in."""

    def __init__(
        self, root: Path, *, push_user: str = "oauth2", environ: Mapping[str, str] = os.environ
    ):
        import git  # GitPython costs start-up time: only commands that use git import it

        self._git_module = git
        try:
            self.repo = git.Repo(root, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise GitError(f"{root}: not inside a git repository") from None
        if self.repo.working_tree_dir is None:
            raise GitError(f"{root}: a bare repository has no files to mirror")
        self.root = Path(self.repo.working_tree_dir)
        self._env = _git_env(push_user, environ)

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            with self.repo.git.custom_environment(**self._env):
                yield
        except self._git_module.GitCommandError as exc:
            output = str(exc.stderr or exc)
            raise GitError(f"{what}: {_last_line(output)}", mask_credentials(output)) from None

    def git(self, *args: str) -> str:
        with self._errors(f"git {args[0]}"):
            return str(self.repo.git.execute(["git", *args]))

    def relative(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            raise GitError(f"{path}: not inside the repository at {self.root}") from None

    def head_sha(self) -> str:
        return self.git("rev-parse", "HEAD")

    def has_commit(self, rev: str) -> bool:
        try:
            self.repo.git.execute(["git", "cat-file", "-e", f"{rev}^{{commit}}"])
        except self._git_module.GitCommandError:
            return False
        return True

    def resolve(self, rev: str) -> str:
        return self.git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")

    def file_at(self, rev: str, path: str) -> str | None:
        """The file's text at `rev`, or None when it did not exist there."""
        try:
            commit = self.repo.commit(rev)
        except (self._git_module.BadName, ValueError):
            raise GitError(f"{rev}: no such revision") from None
        try:
            blob = commit.tree / path
        except KeyError:
            return None
        data: bytes = blob.data_stream.read()
        return data.decode("utf-8", errors="replace")

    def is_shallow(self) -> bool:
        return self.git("rev-parse", "--is-shallow-repository") == "true"

    def has_remote(self, remote: str = "origin") -> bool:
        return remote in [r.name for r in self.repo.remotes]

    def ensure_commit(self, sha: str) -> bool:
        """Whether the commit is here, fetching it from origin when a shallow clone lacks it."""
        return self.has_commit(sha) or self.fetch_commit(sha)

    def fetch_commit(self, sha: str, remote: str = "origin") -> bool:
        """Try to get one commit that a shallow clone does not have."""
        if not self.has_remote(remote):
            return False
        # A shallow clone gets just that commit; a full one must not be made shallow by it.
        depth = ("--depth=1",) if self.is_shallow() else ()
        try:
            self.git("fetch", "--no-tags", *depth, remote, sha)
        except GitError:
            return False
        return self.has_commit(sha)

    def push_target(self) -> str:
        """`origin`, or its URL without embedded credentials when SYNCER_PUSH_TOKEN is set.

        A CI checkout's origin URL carries the job's own token (GitLab: gitlab-ci-token),
        which git would use before asking the credential helper that has ours.
        """
        if TOKEN_VARIABLE not in self._env or not self.has_remote("origin"):
            return "origin"
        url = self.repo.remotes.origin.url
        if not url.startswith(("https://", "http://")):
            return "origin"
        return _URL_CREDENTIALS.sub(r"\1", url)

    def current_branch(self) -> str | None:
        return None if self.repo.head.is_detached else str(self.repo.active_branch.name)


@dataclass(frozen=True)
class Base:
    """What the list is compared with: a commit, or None (every image is new) and why."""

    sha: str | None
    why: str


def find_base(repo: Repository, explicit: str | None, ci: CiContext, log: Log) -> Base:
    """What the list is compared with: --base, the MR's base, the push's before SHA, HEAD~1."""
    if explicit:
        if not repo.ensure_commit(explicit):
            raise GitError(f"--base {explicit}: no such commit")
        return Base(repo.resolve(explicit), f"--base {explicit}")
    if ci.event == "merge_request" and ci.merge_base_sha:
        sha = ci.merge_base_sha
        if repo.ensure_commit(sha):
            return Base(sha, f"the merge request's base ({sha[:10]})")
        log(f"merge request base {sha[:10]} cannot be fetched: every image is checked")
        return Base(None, "merge request base missing: whole list")
    before = ci.before_sha
    if ci.event == "push" and before is not None:
        if before == ZERO_SHA:
            return Base(None, "first push of the branch: every image is new")
        if repo.ensure_commit(before):
            return Base(before, f"before this push ({before[:10]})")
        log(
            f"base commit {before[:10]} cannot be fetched (history rewritten?): "
            "syncing the whole list"
        )
        return Base(None, "base commit missing: whole list")
    if repo.has_commit("HEAD~1"):
        return Base(repo.resolve("HEAD~1"), "previous commit (HEAD~1)")
    return Base(None, "no previous commit: every image is new")


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
    render: Callable[[], Mapping[str, str]],
    message: str,
    author: Identity,
    branch: str | None,
    push: bool,
    tries: int,
    log: Log,
) -> str | None:
    """Commit what `render` writes and push it to `branch`; return the new commit, if any.

    `render` reads the repository as it is when called (list and state at HEAD), so after a
    rejected push the report is rebuilt on top of the remote's new head: nothing anybody else
    pushed is lost, and nothing is ever force-pushed.
    """
    for attempt in range(1, max(1, tries) + 1):
        files = render()
        written, failure = _write_files(repo.root, files)
        if not written and failure:
            raise failure
        sha, own = _commit(repo, written, message, author), 1
        if sha is None and push:
            own = _pending_push(repo, branch, list(files), log)
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
            raise failure
        return sha
    return None


def _write_files(root: Path, files: Mapping[str, str]) -> tuple[list[str], WriteError | None]:
    """Write the files in order, each whole or not at all; stop at the first that fails (the
    state comes first: a report is never committed without the state it shows)."""
    written: list[str] = []
    for path, text in files.items():
        try:
            write_atomic(root / path, text)
        except WriteError as failure:
            return written, failure
        written.append(path)
    return written, None


def _pending_push(repo: Repository, branch: str | None, files: list[str], log: Log) -> int:
    """How many report commits that an earlier run made and never pushed (killed
    during `git push`, or `--no-push`): commits ahead of the remote branch that touch
    nothing but syncer's own files. 0 when there are none, or others' commits among them."""
    if branch is None or not repo.has_commit(f"refs/remotes/origin/{branch}"):
        return 0
    ahead = repo.git("rev-list", f"refs/remotes/origin/{branch}..HEAD").split()
    if not ahead:
        return 0
    for sha in ahead:
        touched = repo.git("diff-tree", "--no-commit-id", "--name-only", "-r", sha).split()
        if not touched or not set(touched) <= set(files):
            log(
                f"HEAD has {len(ahead)} commits not on origin/{branch}, not all syncer's: not pushed"
            )
            return 0
    log(f"pushing {len(ahead)} report commit(s) that an earlier run left unpushed")
    return len(ahead)


def _commit(repo: Repository, files: list[str], message: str, author: Identity) -> str | None:
    repo.git("add", "--", *files)
    if not repo.git("diff", "--cached", "--name-only", "--", *files):
        return None
    identity: dict[str, Any] = {
        "GIT_AUTHOR_NAME": author.name,
        "GIT_AUTHOR_EMAIL": author.email,
        "GIT_COMMITTER_NAME": author.name,
        "GIT_COMMITTER_EMAIL": author.email,
    }
    with repo.repo.git.custom_environment(**identity):
        repo.git("commit", "--quiet", "--no-verify", "-m", message, "--", *files)
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
