"""Versions and ranges for tag selectors (`tags=semver:RANGE`). Pure.

A tag is a version when it reads `[v]MAJOR[.MINOR[.PATCH]][-PRERELEASE][+BUILD]` (missing parts
are 0, so `3.9` is 3.9.0). Ranges are comparators joined by `,` (all must hold): `>=1.25`,
`<1.27`, `=1.2.3` or `1.2.3`, `~1.25` (>=1.25.0 <1.26.0), `^3.9` (>=3.9.0 <4.0.0; `^0.4`:
<0.5.0), `1.26.x` / `1.x` (that line). Pre-releases (`1.26.2-rc.1`) satisfy a range only when
one of its comparators names a pre-release of the same MAJOR.MINOR.PATCH, as in npm's semver.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

_VERSION = re.compile(
    r"^v?(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?(?:\.(0|[1-9]\d*))?"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)
_COMPARATOR = re.compile(
    r"^(>=|<=|>|<|=|~|\^)?\s*v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-([0-9A-Za-z.-]+))?$"
)


class RangeError(ValueError):
    """A range that cannot be read; the message says why."""


@total_ordering
@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    pre: tuple[int | str, ...] = ()

    @property
    def core(self) -> tuple[int, int, int]:
        return self.major, self.minor, self.patch

    def _key(self) -> tuple[object, ...]:
        # A release sorts after its pre-releases; numeric identifiers before alphanumeric ones.
        pre = tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in self.pre)
        return (*self.core, 0 if self.pre else 1, pre)

    def __lt__(self, other: Version) -> bool:
        return self._key() < other._key()


def _pre(text: str | None) -> tuple[int | str, ...]:
    if not text:
        return ()
    return tuple(int(p) if p.isdigit() else p for p in text.split("."))


def parse_version(tag: str) -> Version | None:
    """The version a tag reads as, or None for a tag that is not one (`latest`, `alpine`)."""
    match = _VERSION.match(tag)
    if match is None:
        return None
    major, minor, patch, pre = match.groups()
    return Version(int(major), int(minor or 0), int(patch or 0), _pre(pre))


@dataclass(frozen=True)
class Comparator:
    op: str  # one of < <= > >= =
    version: Version

    def holds(self, v: Version) -> bool:
        return {
            "<": v < self.version,
            "<=": v <= self.version,
            ">": v > self.version,
            ">=": v >= self.version,
            "=": v == self.version,
        }[self.op]


def _bounds(op: str, parts: list[str | None], pre: str | None) -> list[Comparator]:
    """One written comparator as plain ones (`~1.25` is `>=1.25.0` and `<1.26.0`)."""
    wild = [p is None or p in "xX*" for p in parts]
    nums = [0 if w or p is None else int(p) for p, w in zip(parts, wild, strict=True)]
    low = Version(nums[0], nums[1], nums[2], _pre(pre))
    fixed = wild.index(True) if True in wild else 3  # how many leading parts are given
    if op == "^":
        first = next((i for i, n in enumerate(nums[:fixed]) if n != 0), max(fixed - 1, 0))
        return [Comparator(">=", low), Comparator("<", _bump(nums, first))]
    if op == "~":
        return [Comparator(">=", low), Comparator("<", _bump(nums, 1 if fixed >= 2 else 0))]
    if fixed == 0:
        return [] if op in ("", "=", ">=", "<=") else [Comparator("<", Version(0, 0, 0))]
    if fixed < 3 and op in ("", "="):  # 1.26.x, 1.x, 1.26: that whole line
        return [Comparator(">=", low), Comparator("<", _bump(nums, fixed - 1))]
    if fixed < 3 and op == ">":  # >1.25 is past the whole 1.25 line
        return [Comparator(">=", _bump(nums, fixed - 1))]
    if fixed < 3 and op == "<=":  # <=1.25 takes the whole 1.25 line
        return [Comparator("<", _bump(nums, fixed - 1))]
    return [Comparator(op or "=", low)]


def _bump(nums: list[int], index: int) -> Version:
    bumped = [*nums[:index], nums[index] + 1, *[0] * (2 - index)]
    return Version(bumped[0], bumped[1], bumped[2])


@dataclass(frozen=True)
class Range:
    text: str
    comparators: tuple[Comparator, ...]

    def allows_pre(self, v: Version) -> bool:
        return any(c.version.pre and c.version.core == v.core for c in self.comparators)

    def contains(self, v: Version) -> bool:
        if v.pre and not self.allows_pre(v):
            return False
        return all(c.holds(v) for c in self.comparators)


def parse_range(text: str) -> Range:
    comparators: list[Comparator] = []
    for part in text.split(","):
        match = _COMPARATOR.match(part.strip())
        if match is None:
            raise RangeError(
                f"{part.strip()!r} is not a version comparator (e.g. >=1.25, ~1.25, ^3.9, 1.26.x)"
            )
        op, major, minor, patch, pre = match.groups()
        comparators += _bounds(op or "", [major, minor, patch], pre)
    return Range(text, tuple(comparators))
