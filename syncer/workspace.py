"""The working tree as syncer reads it: the list, where each image goes, and the state."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from syncer.config import Config
from syncer.errors import SyncerError, UsageError
from syncer.imagelist.parse import ImageList, Mapping, Problem, map_destinations, parse_list
from syncer.imagelist.policy import apply_policy
from syncer.record.state import State
from syncer.record.statefile import load_state_lines


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
    """The state file, read a line at a time (a whole 100,000-image file, and its bytes
    beside it, would be a third of the run's memory); no file is an empty state."""
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
