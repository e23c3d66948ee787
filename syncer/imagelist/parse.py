"""The image list: one reference a line, parsed with line numbers, mapped and diffed. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from syncer.imagelist.options import parse_options
from syncer.imagelist.reference import (
    NAME_TOTAL_LENGTH_MAX,
    InvalidReference,
    Reference,
    destination_under,
    parse_canonical,
    parse_normalized,
    validate_destination_prefix,
)
from syncer.imagelist.selectors import Selector, selector_of

# Longer than any valid reference can be (255 path + host + tag + digest); longer lines are
# reported without being parsed or echoed in full.
MAX_LINE_LENGTH = 1024
_SHOWN_CHARS = 80
_SPACE = re.compile(r"\s")


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class Entry(NamedTuple):  # NamedTuples: built once a line of lists that run to 100,000 lines
    """One image of the list: where it was written and what it means."""

    line: int
    text: str
    source: Reference  # normalized, with the default tag applied
    key: str  # identity of the image: two lines with the same key are the same image
    platforms: tuple[str, ...] | None = None  # platforms=: only these (None: the config's)
    rename: str | None = None  # as=PATH[:TAG]: its name under the destination prefix

    @classmethod
    def of(
        cls,
        line: int,
        text: str,
        source: Reference,
        platforms: tuple[str, ...] | None = None,
        rename: str | None = None,
    ) -> Entry:
        key = str(source)
        return cls(line, text, source, text if text == key else key, platforms, rename)


@dataclass(frozen=True)
class ImageList:
    path: str
    entries: tuple[Entry, ...]  # each image once, in list order
    errors: tuple[Problem, ...]
    duplicates: tuple[Problem, ...]
    selectors: tuple[Selector, ...] = ()  # tag selector lines, each once, in list order

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(entry.key for entry in self.entries)


class Mapping(NamedTuple):
    entry: Entry
    destination: Reference

    @property
    def source(self) -> Reference:
        return self.entry.source

    @property
    def key(self) -> str:
        """`str(source)`, made once (a re-sync of a long list asks for it many times)."""
        return self.entry.key


def shown(text: str) -> str:
    """A piece of user input made safe to print on one line: escaped and shortened."""
    short = text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "..."
    return repr(short)


def _strip_comment(raw: str) -> str:
    # '#' can never be part of a reference, so everything after it is a comment.
    if "#" in raw:
        raw = raw.split("#", 1)[0]
    return raw.strip(" \t\r\f\v")


def _why_invalid(text: str) -> str | None:
    """A friendlier reason than the grammar's for the mistakes people make."""
    if len(text) > MAX_LINE_LENGTH:
        return f"line is {len(text)} characters long; no image reference is"
    if text.startswith("-"):
        return f"{shown(text)} looks like a command-line option, not an image reference"
    if "://" in text:
        return (
            f"{shown(text)} is a URL; write the reference without a scheme, e.g. quay.io/org/app:1"
        )
    if _SPACE.search(text):
        return f"{shown(text)} holds spaces; write one image reference a line"
    return None


def parse_line(text: str) -> Reference:
    """One reference from the list, normalized, with `:latest` added to a bare name."""
    reason = _why_invalid(text)
    if reason is not None:
        raise InvalidReference(reason)
    try:
        return parse_normalized(text).with_default_tag()
    except InvalidReference as exc:
        raise InvalidReference(f"{shown(text)} is not a valid image reference: {exc}") from None


def _entry(number: int, line: str, known: dict[str, Entry]) -> Entry:
    same = known.get(line)
    if same is not None:  # the other side of a diff has this very line: the same meaning
        return Entry(number, line, same.source, same.key)
    # Most lines of a long list are already in full: the fast path, then the grammar.
    fast = parse_canonical(line) if len(line) <= MAX_LINE_LENGTH else None
    if fast is not None:
        return Entry(number, line, fast, line)
    return Entry.of(number, line, parse_line(line))


def parse_list(text: str, path: str, known: ImageList | None = None) -> ImageList:
    """Read a whole list; every bad line is a Problem, every good one an Entry (once).
    Lines that `known` (the other side of a diff) has are not parsed again."""
    known_lines = {entry.text: entry for entry in known.entries} if known else {}
    entries: list[Entry] = []
    errors: list[Problem] = []
    duplicates: list[Problem] = []
    first_seen: dict[str, Entry] = {}
    selectors: list[Selector] = []
    first_selector: dict[str, Selector] = {}
    for number, raw in enumerate(text.removeprefix("\ufeff").split("\n"), start=1):
        line = _strip_comment(raw)
        if not line:
            continue
        try:
            parsed = _with_options(number, line) if _has_options(line) else None
            if isinstance(parsed, Selector):
                seen = first_selector.setdefault(parsed.key, parsed)
                if seen is parsed:
                    selectors.append(parsed)
                else:
                    duplicates.append(
                        Problem(path, number, f"the same selector as line {seen.line}")
                    )
                continue
            entry = parsed or _entry(number, line, known_lines)
        except InvalidReference as exc:
            errors.append(Problem(path, number, str(exc)))
            continue
        earlier = first_seen.setdefault(entry.key, entry)
        if earlier is entry:
            entries.append(entry)
        else:
            duplicates.append(
                Problem(
                    path, number, f"{line} is the same image as line {earlier.line} ({entry.key})"
                )
            )
    return ImageList(path, tuple(entries), tuple(errors), tuple(duplicates), tuple(selectors))


def _with_options(number: int, line: str) -> Entry | Selector:
    """A line with options: a tag selector (tags=) or one image with platforms= / as=."""
    name_text, *words = line.split()
    options = parse_options(words)
    if options.selects:
        return selector_of(number, line, name_text, options)
    return Entry.of(number, line, parse_line(name_text), options.platforms, options.rename)


def _has_options(line: str) -> bool:
    """A line with options after the name (`NAME tags=...`); other lines with spaces, options
    or URLs stay errors of their own kind."""
    return (
        "=" in line
        and _SPACE.search(line) is not None
        and len(line) <= MAX_LINE_LENGTH
        and not line.startswith("-")
        and "://" not in line
    )


def map_destinations(
    entries: Iterable[Entry], prefix: str, path: str
) -> tuple[list[Mapping], list[Problem]]:
    """Each entry's destination under `prefix`; entries that cannot be mirrored, or that would
    land where an earlier line's image does, are Problems."""
    mappings: list[Mapping] = []
    problems: list[Problem] = []
    host, _, prefix_path = validate_destination_prefix(prefix).partition("/")
    landed: dict[str, Entry] = {}
    for entry in entries:
        try:
            destination = (
                renamed_under(entry.source, entry.rename, host, prefix_path)
                if entry.rename
                else destination_under(entry.source, host, prefix_path)
            )
        except InvalidReference as exc:
            problems.append(Problem(path, entry.line, str(exc)))
            continue
        if entry.rename is not None:  # only a chosen name can meet another line's
            earlier = landed.setdefault(str(destination), entry)
            if earlier is not entry:
                problems.append(Problem(path, entry.line, _collision(entry, earlier, destination)))
                continue
        mappings.append(Mapping(entry, destination))
    return mappings, _with_scoped_collisions(mappings, landed, problems, path)


def _collision(entry: Entry, earlier: Entry, destination: Reference) -> str:
    return f"{entry.key} would land on {destination}, as line {earlier.line} ({earlier.key}) does"


def _with_scoped_collisions(
    mappings: list[Mapping], renamed: dict[str, Entry], problems: list[Problem], path: str
) -> list[Problem]:
    """A line without `as=` whose scoped name another line chose with `as=`: both name the
    same destination; the later line of the two is the problem."""
    if not renamed:
        return problems
    for mapping in list(mappings):
        other = renamed.get(str(mapping.destination))
        if other is None or other is mapping.entry:
            continue
        later, earlier = (
            (mapping.entry, other) if mapping.entry.line > other.line else (other, mapping.entry)
        )
        problems.append(Problem(path, later.line, _collision(later, earlier, mapping.destination)))
        mappings[:] = [m for m in mappings if m.entry is not later]
    return problems


def renamed_under(source: Reference, rename: str, host: str, prefix_path: str) -> Reference:
    """`as=PATH[:TAG]`: PREFIX/PATH, with the source's tag unless one is given."""
    name, _, tag = rename.partition(":")
    path = f"{prefix_path}/{name}" if prefix_path else name
    if len(path) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidReference(
            f"{source}: destination path {path!r} is {len(path)} characters, "
            f"over the registry limit of {NAME_TOTAL_LENGTH_MAX}"
        )
    source = source.with_default_tag()
    return Reference(host, path, tag or source.tag, None if tag else source.digest)
