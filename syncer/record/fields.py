"""The image record's fields, read from its one declaration (`record.image.Image`), and what
every file format needs of them: the state file's checks (the one that says why and its fast
twin), how each field is decoded, encoded and left out at its default. Pure.

A field's kind follows from its type (`str | None` is optional text, `tuple[str, ...]` a list of
strings, ...) and its `Mark`; `statefile`, `statedump` and `shard` loop over `FIELDS` instead of
naming fields.
"""

from __future__ import annotations

import enum
import json
import re
import typing
from typing import Any, NamedTuple

from syncer.record.image import Copied, Image, Mark, Status

KEY = "source"  # the state's key: version 3 leaves it out of the entry
RECORDED_STATUSES = (Status.COPIED.value, Status.FAILED.value, Status.DEFERRED.value)
DIGEST_PATTERN = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$")


class Kind(enum.Enum):
    TEXT = "a string"
    OPTIONAL_TEXT = "a string or null"
    DIGEST = "a digest or null"
    TEXTS = "a list of strings"
    FLAG = "true or false"
    STATUS = "a status"
    CHOICE = "one of an enum's words, or null"
    HISTORY = "a digest history"
    NUMBER = "a number"


_BY_TYPE: dict[object, Kind] = {
    str: Kind.TEXT,
    str | None: Kind.OPTIONAL_TEXT,
    tuple[str, ...]: Kind.TEXTS,
    tuple[str, ...] | None: Kind.TEXTS,
    bool: Kind.FLAG,
    Status: Kind.STATUS,
    tuple[Copied, ...]: Kind.HISTORY,
    float: Kind.NUMBER,
}


class Field(NamedTuple):
    name: str
    position: int  # its index in an Image
    kind: Kind
    default: object
    in_state: bool
    in_results: bool
    required: bool  # no default: every entry has it
    choices: type[enum.Enum] | None = None  # a CHOICE's enum

    @property
    def words(self) -> frozenset[str]:
        return frozenset(str(c.value) for c in self.choices) if self.choices else frozenset()


def _field(position: int, name: str, hint: Any) -> Field:
    marks: tuple[object, ...] = ()
    if typing.get_origin(hint) is typing.Annotated:
        hint, *rest = typing.get_args(hint)
        marks = tuple(rest)
    choices = _optional_enum(hint)
    kind = Kind.DIGEST if Mark.DIGEST in marks else Kind.CHOICE if choices else _BY_TYPE[hint]
    defaults = Image._field_defaults
    return Field(
        name,
        position,
        kind,
        defaults.get(name),
        in_state=Mark.RESULTS_ONLY not in marks,
        in_results=Mark.STATE_ONLY not in marks,
        required=name not in defaults,
        choices=choices,
    )


def _optional_enum(hint: Any) -> type[enum.Enum] | None:
    """`SomeEnum | None` -> SomeEnum (a field holding one of its words, or nothing)."""
    args = typing.get_args(hint)
    if len(args) != 2 or type(None) not in args:
        return None
    other = next(a for a in args if a is not type(None))
    return other if isinstance(other, type) and issubclass(other, enum.Enum) else None


_HINTS = typing.get_type_hints(Image, include_extras=True)
FIELDS = tuple(_field(i, name, _HINTS[name]) for i, name in enumerate(Image._fields))
STATE_FIELDS = tuple(f for f in FIELDS if f.in_state)
RESULTS_FIELDS = tuple(f for f in FIELDS if f.in_results)
STATE_NAMES = frozenset(f.name for f in STATE_FIELDS)


# The state file's checks ------------------------------------------------------------------
def _strings(items: object) -> bool:
    return isinstance(items, list) and all(isinstance(item, str) for item in items)


def _digest(value: object) -> bool:
    return isinstance(value, str) and DIGEST_PATTERN.match(value) is not None


def _problem(field: Field, value: object) -> str | None:
    """What is wrong with one field's value as read from mapping.json, in words, or None."""
    kind, name = field.kind, field.name
    if kind is Kind.TEXT and not isinstance(value, str):
        return f"{name}: expected a string, got {value!r}"
    if kind is Kind.STATUS and value not in RECORDED_STATUSES:
        return f"{name}: expected 'copied', 'failed' or 'deferred', got {value!r}"
    if kind is Kind.DIGEST and value is not None and not _digest(value):
        return f"{name}: expected a digest like 'sha256:<hex>', got {value!r}"
    if kind is Kind.TEXTS and not _strings(value):
        return f"{name}: expected a list of strings, got {value!r}"
    if kind is Kind.HISTORY and not (
        isinstance(value, list) and all(type(h) is Copied for h in value)
    ):
        return f"{name}: expected a list of {{digest, at, commit}}"
    if kind is Kind.FLAG and not isinstance(value, bool):
        return f"{name}: expected true or false, got {value!r}"
    if kind in (Kind.OPTIONAL_TEXT, Kind.CHOICE) and value is not None:
        if not isinstance(value, str):
            return f"{name}: expected a string or null, got {value!r}"
        if kind is Kind.CHOICE and value not in field.words:
            known = ", ".join(repr(word) for word in sorted(field.words))
            return f"{name}: expected one of {known} or null, got {value!r}"
    return None


def entry_problem(value: object) -> str | None:
    """What is wrong with one image's entry of mapping.json, or None. History lines are
    already Copied where they were right (the decoder makes them); a missing source is the
    entry's key (version 3 leaves it out)."""
    if not isinstance(value, dict):
        return f"expected an object, got {type(value).__name__}"
    if not STATE_NAMES.issuperset(value):
        return f"unknown key {sorted(set(value) - STATE_NAMES)[0]!r}"
    for field in STATE_FIELDS:
        if field.name in value:
            problem = _problem(field, value[field.name])
        elif field.name == KEY or not field.required:
            continue  # the entry's key, or at its default
        else:
            problem = _problem(field, None)
        if problem:
            return problem
    return None


# Decoding and encoding ---------------------------------------------------------------------
def _enum_of(field: Field) -> type[enum.Enum] | None:
    return Status if field.kind is Kind.STATUS else field.choices


# By field: each word of its enum and the member it stands for.
DECODED_ENUMS = {
    f.name: {str(m.value): m for m in members}
    for f in STATE_FIELDS
    if (members := _enum_of(f)) is not None
}

json_text = json.encoder.encode_basestring_ascii  # what json.dumps writes for a string
_text = json_text


def history_json(history: tuple[Copied, ...]) -> str:
    """A digest history as json.dumps writes it, keys sorted."""
    lines = ", ".join(
        f'{{"at": {_json_optional(h.at)}, "commit": {_json_optional(h.commit)}, '
        f'"digest": {_text(h.digest)}}}'
        for h in history
    )
    return f"[{lines}]"


def _json_optional(value: str | None) -> str:
    return "null" if value is None else _text(value)


def result_json(image: Image) -> dict[str, object]:
    """A run's result as a results file holds it: every results field, enums by value."""
    out: dict[str, object] = {}
    for field in RESULTS_FIELDS:
        value: Any = image[field.position]
        if isinstance(value, enum.Enum):
            value = value.value
        elif isinstance(value, tuple):
            value = list(value)
        out[field.name] = value
    return out


def result_from_json(item: dict[str, Any]) -> Image:
    """The result a results file holds; KeyError, TypeError or ValueError when it is not one."""
    by_name = {f.name: f for f in RESULTS_FIELDS}
    values: dict[str, Any] = {}
    for name, value in item.items():
        field = by_name[name]
        members = _enum_of(field)
        if members is not None and value is not None:
            value = members(value)
        elif field.kind is Kind.TEXTS and value is not None:
            value = tuple(value)
        values[name] = value
    return Image(**values)
