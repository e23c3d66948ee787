"""Real git repositories in temp folders: a bare "remote", a human's clone, CI checkouts."""

from __future__ import annotations

import subprocess
from pathlib import Path

IDENTITY = {
    "GIT_AUTHOR_NAME": "Test Human",
    "GIT_AUTHOR_EMAIL": "human@example.com",
    "GIT_COMMITTER_NAME": "Test Human",
    "GIT_COMMITTER_EMAIL": "human@example.com",
}


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return result.stdout.strip()


class Remote:
    """A bare repository standing in for GitLab/GitHub, and a human who pushes to it."""

    def __init__(self, root: Path, files: dict[str, str]):
        self.bare = root / "remote.git"
        self.human = root / "human"
        git(root, "init", "--quiet", "--bare", "--initial-branch=main", str(self.bare))
        git(root, "clone", "--quiet", self.url, str(self.human))
        git(self.human, "checkout", "--quiet", "-b", "main")
        self.commit(files, "initial")

    @property
    def url(self) -> str:
        return f"file://{self.bare}"

    def commit(self, files: dict[str, str], message: str) -> tuple[str, str]:
        """Commit and push files as the human; return (before, after) SHAs of the push."""
        git(self.human, "pull", "--quiet", "--rebase", "origin", "main") if self.head() else None
        before = self.head() or "0" * 40
        for name, text in files.items():
            (self.human / name).parent.mkdir(parents=True, exist_ok=True)
            (self.human / name).write_text(text)
        git(self.human, "add", "--", *files)
        git(self.human, "commit", "--quiet", "-m", message)
        git(self.human, "push", "--quiet", "origin", "HEAD:refs/heads/main")
        return before, git(self.human, "rev-parse", "HEAD")

    def head(self) -> str | None:
        try:
            return git(self.bare, "rev-parse", "--verify", "--quiet", "refs/heads/main")
        except subprocess.CalledProcessError:
            return None

    def show(self, rev: str, path: str) -> str:
        return git(self.bare, "show", f"{rev}:{path}")

    def log(self, fmt: str = "%s") -> list[str]:
        return git(self.bare, "log", f"--format={fmt}", "main").splitlines()

    def checkout(self, dest: Path, sha: str, *, depth: int | None = None) -> Path:
        """What a CI runner does: a (shallow) clone, detached at the pushed commit."""
        args = ["clone", "--quiet", "--no-checkout"]
        if depth:
            args += [f"--depth={depth}", "--branch=main"]
        git(dest.parent, *args, self.url, str(dest))
        git(dest, "checkout", "--quiet", "--detach", sha)
        return dest
