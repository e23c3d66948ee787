"""What changed between two versions of the list: the images and selector lines added and
removed. Spelling, order and comments do not count (`nginx` is `nginx:latest`). Pure."""

from __future__ import annotations

from dataclasses import dataclass

from syncer.imagelist.parse import Entry, ImageList, Problem
from syncer.imagelist.selectors import Selector


@dataclass(frozen=True)
class Diff:
    added: tuple[Entry, ...]
    removed: tuple[Entry, ...]
    problems: tuple[Problem, ...] = ()  # bad lines of the new list (left out of `added`)
    added_selectors: tuple[Selector, ...] = ()  # tag selector lines new or changed
    removed_selectors: tuple[Selector, ...] = ()


def added_images(base: ImageList | None, head: ImageList) -> tuple[Entry, ...]:
    """Images in `head` that `base` did not have."""
    if base is None:
        return head.entries
    known = base.keys
    return tuple(entry for entry in head.entries if entry.key not in known)


def removed_images(base: ImageList | None, head: ImageList) -> tuple[Entry, ...]:
    """Images that `base` had and `head` no longer lists (reported, never deleted)."""
    if base is None:
        return ()
    listed = head.keys
    return tuple(entry for entry in base.entries if entry.key not in listed)


def diff_lists(base: ImageList | None, head: ImageList) -> Diff:
    """`head` against `base` (None: no list there, every image is new)."""
    before = {x.key for x in base.selectors} if base else set()
    after = {x.key for x in head.selectors}
    new_selectors = tuple(x for x in head.selectors if x.key not in before)
    gone = tuple(x for x in (base.selectors if base else ()) if x.key not in after)
    return Diff(
        added_images(base, head),
        removed_images(base, head),
        tuple(head.errors),
        new_selectors,
        gone,
    )
