"""The two sides of a policy review, read: syncer.yaml, and the registries.conf it names when
that file lives in the repository, at the base revision (from git) and at the head (the
working tree the job runs on); and the pipeline files changed between them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from syncer.config import CONFIG_FILE, values_from_text, written_values
from syncer.errors import UsageError
from syncer.git import GitError, Repository
from syncer.review.policy import pipeline_files
from syncer.review.trusted import DEFAULTS, Policy, policy_of
from syncer.workspace import read_text


@dataclass(frozen=True)
class Sides:
    """The policies compared; `base` None: nothing to compare with, and `new` says why."""

    base: Policy | None
    head: Policy
    new: str = ""


def _text(repo: Repository, rev: str | None, path: str) -> str | None:
    """A file's text at `rev`, or in the working tree for None; None when it is not there."""
    return repo.file_at(rev, path) if rev else read_text(repo.root / path)


def _in_repository(repo: Repository, path: Path) -> str | None:
    try:
        return repo.relative(path)
    except GitError:
        return None


def policy_at(repo: Repository, rev: str | None, root: Path) -> Policy | None:
    """The policy syncer.yaml sets at `rev` (None: the working tree); None when there is no
    syncer.yaml there, a `UsageError` when it is not a configuration this syncer reads."""
    name = repo.relative(root / CONFIG_FILE)
    text = _text(repo, rev, name)
    if text is None:
        return None
    origin = f"{name} at {rev[:10]}" if rev else name
    checked = values_from_text(text, origin)
    conf_name = checked.get("registries_conf")
    conf_path = _in_repository(repo, root / conf_name) if conf_name else None
    conf = _text(repo, rev, conf_path) if conf_path else None
    return policy_of(written_values(text, origin), checked, conf)


def read_sides(repo: Repository, base: str | None, root: Path) -> Sides:
    """The head's policy, and the base's when there is one to compare it with."""
    head = policy_at(repo, None, root) or DEFAULTS
    if base is None:
        return Sides(None, head, "there is no base revision to compare with")
    try:
        before = policy_at(repo, base, root)
    except UsageError as exc:
        return Sides(None, head, f"the base's syncer.yaml cannot be read ({exc})")
    if before is None:
        return Sides(None, head, "the base revision has no syncer.yaml")
    return Sides(before, head)


def changed_pipeline(repo: Repository, base: str) -> list[str]:
    """The pipeline files that differ between `base` and the working tree; a renamed file
    counts under both names (one moved out of `.github/workflows/` stops running)."""
    names = repo.git("diff", "--name-only", "--no-renames", "-z", base, "--")
    return pipeline_files(name for name in names.split("\0") if name)
