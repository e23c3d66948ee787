"""Tag selectors: a list line that names a set of tags instead of one. Pure.

    NAME  tags=semver:RANGE [latest=N]
    NAME  tags=regex:PATTERN [latest=N]

NAME has no tag or digest. `semver:` selects the tags that read as versions inside RANGE
(`syncer.imagelist.semver`); `regex:` the tags the Python regular expression matches whole. Selected tags
are in version order where every one reads as a version (always so for `semver:`), else in the
registry's order; `latest=N` keeps the last N of that order: the N highest versions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from syncer.imagelist.reference import InvalidReference, Reference, parse_normalized
from syncer.imagelist.semver import Range, RangeError, parse_range, parse_version

KINDS = ("semver", "regex")
OPTIONS = ("tags", "latest")


@dataclass(frozen=True)
class Selector:
    line: int
    text: str  # as written, without its comment
    name: Reference  # the repository: no tag, no digest
    kind: str  # semver | regex
    pattern: str
    latest: int | None = None

    @property
    def key(self) -> str:
        """Identity: the same repository and options are the same selector however spaced."""
        latest = f" latest={self.latest}" if self.latest is not None else ""
        return f"{self.name.name} tags={self.kind}:{self.pattern}{latest}"

    def select(self, tags: list[str]) -> list[str]:
        """The tags this selector takes from a repository's tags (in the registry's order)."""
        if self.kind == "semver":
            wanted = _range(self.pattern)
            chosen = [t for t in tags if (v := parse_version(t)) is not None and wanted.contains(v)]
        else:
            regex = re.compile(self.pattern)
            chosen = [t for t in tags if regex.fullmatch(t)]
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
    try:
        name = parse_normalized(name_text)
    except InvalidReference as exc:
        raise InvalidReference(f"{name_text!r} is not a repository name: {exc}") from None
    if name.tag is not None or name.digest is not None or "@" in name_text:
        raise InvalidReference(f"{name_text!r}: a tag selector takes a name without tag or digest")
    options: dict[str, str] = {}
    for word in words:
        key, eq, value = word.partition("=")
        if not eq or key not in OPTIONS:
            raise InvalidReference(
                f"{word!r}: unknown option (a selector line is NAME tags=semver:RANGE|regex:PATTERN [latest=N])"
            )
        if key in options:
            raise InvalidReference(f"{key}= is given twice")
        options[key] = value
    if "tags" not in options:
        raise InvalidReference("a selector line needs tags=semver:RANGE or tags=regex:PATTERN")
    kind, colon, pattern = options["tags"].partition(":")
    if not colon or kind not in KINDS or not pattern:
        raise InvalidReference(f"tags={options['tags']!r}: expected semver:RANGE or regex:PATTERN")
    try:
        parse_range(pattern) if kind == "semver" else re.compile(pattern)
    except RangeError as exc:
        raise InvalidReference(f"tags=semver: {exc}") from None
    except re.error as exc:
        raise InvalidReference(f"tags=regex: not a valid regular expression: {exc}") from None
    latest = None
    if "latest" in options:
        if not options["latest"].isdigit() or int(options["latest"]) < 1:
            raise InvalidReference(f"latest={options['latest']!r}: expected a whole number >= 1")
        latest = int(options["latest"])
    return Selector(line, text, Reference(name.domain, name.path), kind, pattern, latest)
