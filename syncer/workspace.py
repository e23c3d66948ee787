"""The working tree as syncer reads and writes it: the list, where each image goes, the state,
and the report and state rendered for it."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from collections.abc import Mapping as MappingT
from dataclasses import dataclass
from pathlib import Path

from syncer.config import Config
from syncer.errors import SyncerError, UsageError
from syncer.files import Pieces, Text, holds
from syncer.git import Base, Repository
from syncer.imagelist.diff import Diff, diff_lists
from syncer.imagelist.parse import ImageList, Mapping, Problem, map_destinations, parse_list
from syncer.imagelist.policy import apply_policy
from syncer.record.image import State
from syncer.record.pages import PAGE_HEADING
from syncer.record.report import report_files
from syncer.record.state import Removal, merge, now, selected_keys
from syncer.record.statedump import state_lines
from syncer.record.statefile import load_state_lines

Log = Callable[[str], None]


@dataclass(frozen=True)
class Workspace:
    """The list, its problems and the state, as they are in the working tree now."""

    images: ImageList
    mappings: list[Mapping]
    problems: list[Problem]
    state: State


def read_text(path: Path) -> str | None:
    """A file's text, or None when it does not exist."""
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SyncerError(f"{path}: cannot read: {exc.strerror}") from None


def read_list(config: Config) -> ImageList:
    """The image list of the working tree; undecodable bytes become U+FFFD, which no
    reference can hold, so such a line is reported, not guessed at."""
    text = read_text(config.list_path)
    if text is None:
        raise UsageError(
            f"{config.list_path}: no such file (set 'list' in syncer.yaml or pass --list)"
        )
    return apply_policy(parse_list(text, config.list), config.allowed_sources)


def load_state_file(path: Path, origin: str) -> State:
    """The state file, read a line at a time (a whole large file, and its bytes beside it,
    would be much of the run's memory); no file is an empty state."""
    try:
        with path.open(encoding="utf-8", errors="replace", newline="") as lines:
            return load_state_lines(lines, origin, whole=lambda: read_text(path))
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise SyncerError(f"{path}: cannot read: {exc.strerror}") from None


def load_workspace(config: Config, prefix: str, *, read_state: bool = True) -> Workspace:
    images = read_list(config)
    mappings, problems = map_destinations(images.entries, prefix, config.list)
    state = load_state_file(config.path(config.state), config.state) if read_state else {}
    return Workspace(images, mappings, [*images.errors, *problems], state)


def list_at(
    repo: Repository, rev: str, config: Config, known: ImageList | None = None
) -> ImageList | None:
    """The list as committed at `rev` (None: not there); the lines `known` has are not
    parsed again."""
    text = repo.file_at(rev, repo.relative(config.list_path))
    return None if text is None else parse_list(text, config.list, known)


def changes_since(repo: Repository, base: Base, work: Workspace, config: Config) -> Diff:
    """The working tree's list against the one at `base`, read under the same policy."""
    before = list_at(repo, base.sha, config, work.images) if base.sha else None
    if before is not None:
        before = apply_policy(before, config.allowed_sources)
    return diff_lists(before, work.images)


def render_files(
    config: Config,
    prefix: str,
    updates: State,
    work: Workspace | None = None,
    removal: Removal | None = None,
) -> dict[str, Text]:
    """Report and state for the working tree as it is now, with `updates` merged in; images
    no longer listed are kept, marked removed by `removal` (default: now, no commit known)."""
    work = work or load_workspace(config, prefix)
    # Images the list's tag selectors chose stay, even when no longer chosen (never deleted).
    selected = selected_keys(work.state, (s.key for s in work.images.selectors), updates)
    listed = {*(m.key for m in work.mappings), *selected}
    removal = removal or Removal(now(), None)
    state = merge(work.state, updates, listed, removal, hold=bool(work.problems))
    template = config.path(config.report_template) if config.report_template else None
    report = report_files(
        work.mappings,
        state,
        report=config.report,
        folder=config.pages,
        prefix=prefix,
        list_file=config.list,
        state_file=config.state,
        template=template,
        selected=selected,
        prune_after=config.prune_after,
        page_size=config.report_page_size,
    )
    # The state first: written alone it is still the truth; a report alone would not be.
    return {config.state: Pieces(lambda: state_lines(state)), **report}


@dataclass(frozen=True)
class PageFolder:
    """The folder of the report's pages (`Config.pages`): syncer's own, so a page it no
    longer needs is removed, and a commit that touches nothing but its pages (even one that
    removed a page) is a report commit."""

    folder: str  # relative to the repository root

    def owns(self, name: str) -> bool:
        """`name` is where syncer writes a page (whether or not it is there)."""
        parent, _, base = name.rpartition("/")
        return parent == self.folder and base.endswith(".md")

    def stale(self, root: Path, files: Iterable[str]) -> list[str]:
        """The pages in the folder that `files` does not have; a file of someone else's
        (another name, or not starting as a page does) is left alone."""
        try:
            entries = sorted(os.scandir(root / self.folder), key=lambda entry: entry.name)
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:
            raise SyncerError(f"{root / self.folder}: cannot read: {exc.strerror}") from None
        keep = set(files)
        names = (f"{self.folder}/{entry.name}" for entry in entries if entry.is_file())
        return [n for n in names if n not in keep and self.owns(n) and _a_page(root / n)]


def _a_page(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8", errors="replace") as text:
            return text.readline().startswith(PAGE_HEADING)
    except OSError:
        return False


SHOWN_CHANGES = 400  # lines; more would make the dry run slow (difflib) and unreadable


def show_changes(config: Config, files: MappingT[str, Text], log: Log) -> None:
    """What a dry run would change in each file: unchanged, a diff, or how many lines; the
    report's pages that would not change are counted, the ones no longer needed named. All
    diffs together show SHOWN_CHANGES lines at most."""
    pages = PageFolder(config.pages)
    budget, unchanged = SHOWN_CHANGES, 0
    for name, content in files.items():
        change, shown = _change(config, name, content, budget)
        budget -= shown
        if change is not None:
            log(change)
        elif pages.owns(name):
            unchanged += 1
        else:
            log(f"{name}: unchanged")
    if unchanged:
        log(f"{pages.folder}/: {unchanged} pages unchanged")
    for name in pages.stale(config.root, files):
        log(f"{name}: removed (no longer needed)")


def _change(config: Config, name: str, content: Text, budget: int) -> tuple[str | None, int]:
    """What would change in one file (None: nothing), and how many diff lines that shows."""
    if holds(config.path(name), content):  # compared a piece at a time, nothing to diff
        return None, 0
    old = read_text(config.path(name))
    if old is None:  # a new file: count its lines without holding it
        count = sum(piece.count("\n") for piece in content)
        if count > min(budget, SHOWN_CHANGES):
            return f"{name}: about {count} lines change (a new file, too many to show)", 0
    text = content if isinstance(content, str) else "".join(content)
    before = (old or "").splitlines(keepends=True)
    after = text.splitlines(keepends=True)
    changed = len(set(before).symmetric_difference(after))
    if changed > min(budget, SHOWN_CHANGES):
        return f"{name}: about {changed} lines change (too many to show)", 0
    import difflib

    diff = "".join(difflib.unified_diff(before, after, name, name))
    return (diff.rstrip("\n"), changed) if diff else (None, 0)
