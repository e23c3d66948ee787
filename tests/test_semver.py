"""Versions and ranges of tag selectors (npm semver's rules where they apply to tags)."""

from __future__ import annotations

import pytest

from syncer.imagelist.semver import RangeError, Version, parse_range, parse_version

TAGS = [
    "1.24.9",
    "v1.25.0",
    "1.25.3",
    "1.26.0",
    "1.26.2-rc.1",
    "1.26.2",
    "1.27.0",
    "latest",
    "alpine",
    "1.26",
]


def _version(tag: str) -> Version:
    """A tag that is a version, parsed (narrowed for the type checker: never None here)."""
    version = parse_version(tag)
    assert version is not None, tag
    return version


@pytest.mark.parametrize(
    ("tag", "parsed"),
    [("1.2.3", (1, 2, 3, ())), ("v1.2.3", (1, 2, 3, ())), ("3.9", (3, 9, 0, ())), ("7", (7, 0, 0, ())),
     ("1.26.2-rc.1", (1, 26, 2, ("rc", 1))), ("1.0.0+build.5", (1, 0, 0, ())),
     ("latest", None), ("1.2.3.4", None), ("01.2.3", None), ("v", None), ("3.19-alpine", (3, 19, 0, ("alpine",)))],
)  # fmt: skip
def test_parse_version(tag: str, parsed: tuple[object, ...] | None) -> None:
    v = parse_version(tag)
    assert (None if v is None else (v.major, v.minor, v.patch, v.pre)) == parsed


def test_precedence() -> None:
    order = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
             "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.10.0", "2.0.0"]  # fmt: skip
    versions = [_version(t) for t in order]
    assert versions == sorted(versions)


@pytest.mark.parametrize(
    ("text", "selected"),
    [
        (">=1.25,<1.27", ["v1.25.0", "1.25.3", "1.26.0", "1.26.2", "1.26"]),
        ("~1.25", ["v1.25.0", "1.25.3"]),
        ("^1.26", ["1.26.0", "1.26.2", "1.27.0", "1.26"]),
        ("1.26.x", ["1.26.0", "1.26.2", "1.26"]),
        ("1.x", ["1.24.9", "v1.25.0", "1.25.3", "1.26.0", "1.26.2", "1.27.0", "1.26"]),
        ("=1.25.3", ["1.25.3"]),
        ("1.25.3", ["1.25.3"]),
        (">1.25", ["1.26.0", "1.26.2", "1.27.0", "1.26"]),
        ("<=1.25", ["1.24.9", "v1.25.0", "1.25.3"]),
        (">=1.26.2-rc.0,<1.27", ["1.26.2-rc.1", "1.26.2"]),  # a pre-release named: its line allowed
        ("^0.4", []),
    ],
)
def test_ranges(text: str, selected: list[str]) -> None:
    r = parse_range(text)
    assert [t for t in TAGS if (v := parse_version(t)) and r.contains(v)] == selected


def test_caret_on_zero_versions() -> None:
    r = parse_range("^0.4")
    assert r.contains(_version("0.4.7"))
    assert not r.contains(_version("0.5.0"))
    r = parse_range("^3.9")
    assert r.contains(_version("3.10"))
    assert not r.contains(_version("4.0"))


@pytest.mark.parametrize("text", [">=1.25,", "~", "banana", ">=1.2.3.4", "1.2.3 - 2.0.0"])
def test_bad_ranges(text: str) -> None:
    with pytest.raises(RangeError):
        parse_range(text)
