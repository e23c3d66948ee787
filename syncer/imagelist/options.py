"""Options after a list line's name: `NAME opt=value ...`. Pure.

    platforms=linux/amd64,linux/arm64   mirror only these platforms (os/arch[/variant])
    as=PATH[:TAG]                       the mirror's name under the destination prefix
    tags=semver:RANGE|regex:PATTERN     a tag selector (with latest=N and exclude=REGEX)

A line without options means exactly what it always meant; options only ever add.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from syncer.imagelist.reference import InvalidReference, is_domain

NAMES = ("tags", "latest", "exclude", "platforms", "as")
_SELECTOR_HINT = (
    "a selector line is NAME tags=semver:RANGE|regex:PATTERN [latest=N] [exclude=REGEX]"
)
_PLATFORM = re.compile(r"[a-z0-9_.-]+/[a-z0-9_.-]+(?:/[a-z0-9_.-]+)?")
# The repository path grammar (distribution/reference): lowercase components joined by '/'.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_PATH = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_TAG = re.compile(r"[\w][\w.-]{0,127}", re.ASCII)


class Options(NamedTuple):
    tags: str | None = None  # "semver:RANGE" or "regex:PATTERN"
    latest: str | None = None
    exclude: str | None = None
    platforms: tuple[str, ...] | None = None  # None: the configuration's (default: all)
    rename: str | None = None  # as=PATH[:TAG]

    @property
    def selects(self) -> bool:
        return self.tags is not None or self.latest is not None or self.exclude is not None


def parse_options(words: list[str]) -> Options:
    """The options of a line, or InvalidReference saying what is wrong."""
    found: dict[str, str] = {}
    for word in words:
        key, eq, value = word.partition("=")
        if not eq or key not in NAMES:
            raise InvalidReference(f"{word!r}: unknown option ({_SELECTOR_HINT}; options: "
                                   "platforms=OS/ARCH,..., as=PATH[:TAG])")  # fmt: skip
        if key in found:
            raise InvalidReference(f"{key}= is given twice")
        found[key] = value
    platforms = parse_platforms(found["platforms"]) if "platforms" in found else None
    rename = found.get("as")
    if rename is not None:
        check_rename(rename)
    return Options(found.get("tags"), found.get("latest"), found.get("exclude"), platforms, rename)


def parse_platforms(text: str, what: str = "platforms=") -> tuple[str, ...]:
    """`linux/amd64,linux/arm64` -> the platforms, sorted, each once."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise InvalidReference(f"{what}: name at least one platform, e.g. linux/amd64")
    for item in items:
        if not _PLATFORM.fullmatch(item):
            raise InvalidReference(
                f"{what}{item!r}: expected OS/ARCH or OS/ARCH/VARIANT, e.g. linux/arm64/v8"
            )
    return tuple(sorted(set(items)))


def check_rename(text: str) -> None:
    """`as=PATH[:TAG]` stays under the destination prefix: a repository path, never a host,
    an absolute path or a way up."""
    path, _, tag = text.partition(":")
    if not path or path.startswith("/") or ".." in path.split("/") or "//" in path:
        raise InvalidReference(
            f"as={text!r}: expected a path under the destination, e.g. as=team/app"
        )
    first = path.split("/")[0]
    if "/" in path and (is_domain(first) and ("." in first or first == "localhost")):
        raise InvalidReference(
            f"as={text!r}: {first!r} looks like a registry host; as= names a path under the "
            "destination prefix"
        )
    if not _PATH.fullmatch(path):
        raise InvalidReference(
            f"as={text!r}: the path must be lowercase components separated by '/'"
        )
    if ":" in text and not _TAG.fullmatch(tag):
        raise InvalidReference(f"as={text!r}: {tag!r} is not a valid tag")
