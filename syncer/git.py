"""git: read the list at a revision, find the base, commit and push back.

Every git command runs through `process.run`, bounded by `git_timeout`: the network ones
(fetch, push, ls-remote) say what they wait for while they wait, and a SIGTERM stops them with
the job. GitPython reads trees and remotes, which it does well and without a process.
Credentials for an https remote come from SYNCER_PUSH_TOKEN through a credential helper that
reads the variable itself, so the token is in no argv, no config file and no log line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from syncer import process
from syncer.ci import ZERO_SHA, CiContext
from syncer.errors import SyncerError, UsageError
from syncer.heartbeat import Heartbeat

TOKEN_VARIABLE = "SYNCER_PUSH_TOKEN"  # noqa: S105  (the variable's name, not a secret)
Log = Callable[[str], None]
_URL_CREDENTIALS = re.compile(r"(\w+://)[^/@\s]+@")


def mask_credentials(text: str) -> str:
    """`https://user:secret@host/x` -> `https://***@host/x`."""
    return _URL_CREDENTIALS.sub(r"\1***@", text)


NETWORK = frozenset(("fetch", "push", "ls-remote", "pull"))  # they wait on a remote
DEFAULT_TIMEOUT = 300.0


class GitError(SyncerError):
    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output  # the command, its end and everything git said, masked


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return mask_credentials(lines[-1].removeprefix("stderr: ").strip("'")) if lines else "failed"


def _git_env(push_user: str, environ: Mapping[str, str]) -> dict[str, str]:
    env = {
        "GIT_TERMINAL_PROMPT": "0",  # never wait for a password that nobody will type
        # English messages whatever the runner's locale: publish._remote_moved reads them.
        "LANGUAGE": "C",
        "LC_ALL": "C",
    }
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
        self,
        root: Path,
        *,
        push_user: str = "oauth2",
        environ: Mapping[str, str] = os.environ,
        timeout: float = DEFAULT_TIMEOUT,
        log: Log = lambda _: None,
    ):
        process.which("git")  # before GitPython, which fails on import without it
        import git  # GitPython costs start-up time: only commands that use git import it

        self._git_module = git
        try:
            self.repo = git.Repo(root, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise UsageError(
                f"{root}: not inside a git repository (run in a clone, or pass -C DIR)"
            ) from None
        if self.repo.working_tree_dir is None:
            raise UsageError(f"{root}: a bare repository has no files to mirror")
        self.root = Path(self.repo.working_tree_dir)
        self.git_dir = Path(self.repo.git_dir)
        self._env = {**environ, **_git_env(push_user, environ)}
        self.timeout, self.log = timeout, log

    def run(self, *args: str, env: Mapping[str, str] | None = None) -> process.Completed:
        """One git command in the working tree, within `timeout` seconds; a network command
        says what it waits for while it waits."""
        argv = ("git", *args)
        environment = {**self._env, **(env or {})}
        if args[0] not in NETWORK:
            return self._run(argv, environment)
        subject = mask_credentials(" ".join(argv[:3]))
        with Heartbeat(self.log) as heartbeat, heartbeat.waiting(subject, "waiting for the remote"):
            return self._run(argv, environment)

    def _run(self, argv: tuple[str, ...], env: Mapping[str, str]) -> process.Completed:
        return process.run(
            argv, timeout=self.timeout, env=env, cwd=self.root, starts_when_stopping=True
        )

    def git(self, *args: str, env: Mapping[str, str] | None = None) -> str:
        """git's output; a GitError naming the command and its last line when it fails."""
        done = self.run(*args, env=env)
        if done.ok:
            return done.stdout.strip()
        what = mask_credentials(" ".join(("git", *args[:2])))
        said = done.stderr or done.stdout
        if done.timed_out:
            reason = f"no answer within {self.timeout:g}s"
        elif process.stopping():
            reason = "stopped by a signal"
        else:
            reason = _last_line(said)
        raise GitError(f"{what}: {reason}", process.describe_failure(done))

    def relative(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            raise GitError(f"{path}: not inside the repository at {self.root}") from None

    def head_sha(self) -> str:
        return self.git("rev-parse", "HEAD")

    def has_commit(self, rev: str) -> bool:
        return self.run("cat-file", "-e", f"{rev}^{{commit}}").ok

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
