"""Tag selectors: a list line that names a set of tags instead of one. Pure.

    NAME  tags=semver:RANGE [latest=N] [exclude=REGEX]
    NAME  tags=regex:PATTERN [latest=N] [exclude=REGEX]

NAME has no tag or digest. `semver:` selects the tags that read as versions inside RANGE
(`syncer.imagelist.semver`); `regex:` the tags the Python regular expression matches whole. Selected tags
are in version order where every one reads as a version (always so for `semver:`), else in the
registry's order; `exclude=` drops the tags its regular expression finds (searched, as grep
does: `-(debug|alpine)$`) before `latest=N` keeps the last N of that order. A selector line may
also carry `platforms=` and `as=PATH` (see options.py), applied to each tag it selects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from syncer.imagelist.options import Options, parse_options
from syncer.imagelist.reference import InvalidReference, Reference, parse_normalized
from syncer.imagelist.semver import Range, RangeError, parse_range, parse_version

KINDS = ("semver", "regex")


@dataclass(frozen=True)
class Selector:
    line: int
    text: str  # as written, without its comment
    name: Reference  # the repository: no tag, no digest
    kind: str  # semver | regex
    pattern: str
    latest: int | None = None
    exclude: str | None = None
    platforms: tuple[str, ...] | None = None
    rename: str | None = None  # as=PATH: each selected tag lands at PREFIX/PATH:TAG

    @property
    def key(self) -> str:
        """Identity: the same repository and options are the same selector however spaced
        (a selector without the newer options keeps the key it always had)."""
        parts = [f"{self.name.name} tags={self.kind}:{self.pattern}"]
        if self.latest is not None:
            parts.append(f"latest={self.latest}")
        if self.exclude is not None:
            parts.append(f"exclude={self.exclude}")
        if self.platforms is not None:
            parts.append(f"platforms={','.join(self.platforms)}")
        if self.rename is not None:
            parts.append(f"as={self.rename}")
        return " ".join(parts)

    def select(self, tags: list[str]) -> list[str]:
        """The tags this selector takes from a repository's tags (in the registry's order)."""
        if self.kind == "semver":
            wanted = _range(self.pattern)
            chosen = [t for t in tags if (v := parse_version(t)) is not None and wanted.contains(v)]
        else:
            regex = re.compile(self.pattern)
            chosen = [t for t in tags if regex.fullmatch(t)]
        if self.exclude is not None:
            dropped = re.compile(self.exclude)
            chosen = [t for t in chosen if not dropped.search(t)]
        chosen = _by_version(chosen)
        return chosen if self.latest is None else chosen[-self.latest :]


def _by_version(tags: list[str]) -> list[str]:
    """Tags in version order when every one reads as a version, else as the registry gave them."""
    versions = {t: parse_version(t) for t in tags}
    if any(v is None for v in versions.values()):
        return tags
    return sorted(tags, key=lambda t: versions[t])  # type: ignore[arg-type,return-value]


def _range(text: str) -> Range:
    return parse_range(text)


def parse_selector(line: int, text: str) -> Selector:
    """A selector line, or InvalidReference saying what is wrong with it."""
    name_text, *words = text.split()
    return selector_of(line, text, name_text, parse_options(words))


def selector_of(line: int, text: str, name_text: str, options: Options) -> Selector:
    """The selector a line's name and options make, or InvalidReference."""
    if options.tags is None:
        raise InvalidReference("a selector line needs tags=semver:RANGE or tags=regex:PATTERN")
    try:
        name = parse_normalized(name_text)
    except InvalidReference as exc:
        raise InvalidReference(f"{name_text!r} is not a repository name: {exc}") from None
    if name.tag is not None or name.digest is not None or "@" in name_text:
        raise InvalidReference(f"{name_text!r}: a tag selector takes a name without tag or digest")
    kind, colon, pattern = options.tags.partition(":")
    if not colon or kind not in KINDS or not pattern:
        raise InvalidReference(f"tags={options.tags!r}: expected semver:RANGE or regex:PATTERN")
    try:
        parse_range(pattern) if kind == "semver" else re.compile(pattern)
    except RangeError as exc:
        raise InvalidReference(f"tags=semver: {exc}") from None
    except re.error as exc:
        raise InvalidReference(f"tags=regex: not a valid regular expression: {exc}") from None
    latest = None
    if options.latest is not None:
        if not options.latest.isdigit() or int(options.latest) < 1:
            raise InvalidReference(f"latest={options.latest!r}: expected a whole number >= 1")
        latest = int(options.latest)
    if options.exclude is not None:
        if not options.exclude:
            raise InvalidReference("exclude=: give a regular expression, e.g. exclude=-debug$")
        try:
            re.compile(options.exclude)
        except re.error as exc:
            raise InvalidReference(f"exclude=: not a valid regular expression: {exc}") from None
    if options.rename is not None and ":" in options.rename:
        raise InvalidReference(f"as={options.rename!r}: a selector's as= takes a path without a "
                               "tag (each selected tag keeps its own)")  # fmt: skip
    return Selector(
        line, text, Reference(name.domain, name.path), kind, pattern, latest,
        options.exclude, options.platforms, options.rename,
    )  # fmt: skip
