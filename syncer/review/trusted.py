"""The keys of syncer.yaml that decide what the mirror trusts, and the words for a change to
each, written for a reviewer who has not read syncer's README. Pure.

`TRUSTED` is the one table of those keys: a key another release adds is one line here, and a
key this release does not know is absent on both sides, so it never shows as a change.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from syncer.config import Config
from syncer.review.words import code, codes, shown

Line = tuple[object, object, str]  # old, new, words


@dataclass(frozen=True)
class PolicyChange:
    key: str
    old: object  # JSON-able; None: not there
    new: object
    words: str


@dataclass(frozen=True)
class Policy:
    """One revision's trust keys as in force from its syncer.yaml (written, else the default),
    and the text of the registries.conf it names when that file lives in the repository."""

    values: Mapping[str, object]
    conf: str | None = None


class Words(NamedTuple):
    changed: Callable[[str, Any, Any], list[Line]]  # a change, old -> new
    listed: Callable[[str, Any], list[Line]]  # a new mirror's setting (not its default)


def _sources_changed(key: str, old: list[str], new: list[str]) -> list[Line]:
    if not new:
        return [(old, new, f"{code(key)} removed: any source may enter the mirror now "
                           f"(only {codes(old)} could)")]  # fmt: skip
    if not old:
        return [(old, new, f"{code(key)} set: only sources matching {codes(new)} may enter "
                           "(any source could)")]  # fmt: skip
    added, removed = [p for p in new if p not in old], [p for p in old if p not in new]
    lines: list[Line] = []
    if added:
        lines.append((old, new, f"{code(key)} widened: {codes(added)} added"))
    if removed:
        lines.append((old, new, f"{code(key)} narrowed: {codes(removed)} removed"))
    return lines


def _sources_listed(key: str, new: list[str]) -> list[Line]:
    return [(None, new, f"{code(key)}: only sources matching {codes(new)} may enter")]


def _insecure_changed(key: str, old: list[str], new: list[str]) -> list[Line]:
    before, after = {h.lower() for h in old}, {h.lower() for h in new}
    added = [h for h in new if h.lower() not in before]
    removed = [h for h in old if h.lower() not in after]
    lines: list[Line] = []
    if added:
        lines.append((old, new, f"TLS verification turned off for {codes(added)} ({code(key)})"))
    if removed:
        lines.append(
            (old, new, f"TLS verification turned back on for {codes(removed)} ({code(key)})")
        )
    return lines


def _insecure_listed(key: str, new: list[str]) -> list[Line]:
    return [(None, new, f"TLS verification off for {codes(new)} ({code(key)})")]


def by_match(rules: Sequence[object]) -> dict[str, dict[str, object]]:
    """`verify` rules by their `match`, each as written; the first of a pattern is the one
    that applies (the first rule whose pattern matches an image decides)."""
    found: dict[str, dict[str, object]] = {}
    for rule in rules:
        if isinstance(rule, dict):
            found.setdefault(str(rule.get("match")), rule)
    return found


def _how(rule: Mapping[str, object]) -> str:
    return ", ".join(f"{k}: {code(v)}" for k, v in rule.items() if k != "match") or "nothing"


VERIFIED = "those images are mirrored only when a signature verifies"


def _rules_changed(key: str, old: list[object], new: list[object]) -> list[Line]:
    before, after = by_match(old), by_match(new)
    lines: list[Line] = []
    for match, rule in before.items():
        if match not in after:
            gone = "those images will be mirrored without a signature check"
            lines.append((rule, None, f"{code(key)} rule for {code(match)} removed: {gone}"))
        elif after[match] != rule:
            lines.append((rule, after[match], f"{code(key)} rule for {code(match)} changed: "
                                              f"{_how(rule)} -> {_how(after[match])}"))  # fmt: skip
    for match, rule in after.items():
        if match not in before:
            lines.append((None, rule, f"{code(key)} rule for {code(match)} added: {VERIFIED} "
                                      f"({_how(rule)})"))  # fmt: skip
    return lines


def _rules_listed(key: str, new: list[object]) -> list[Line]:
    return [
        (None, rule, f"{code(key)} rule for {code(match)}: {VERIFIED} ({_how(rule)})")
        for match, rule in by_match(new).items()
    ]


COMPANIONS = "signatures, attestations and SBOMs"


def _signatures_changed(key: str, old: bool, new: bool) -> list[Line]:
    if new:
        return [(old, new, f"{code(key)} turned on: {COMPANIONS} are mirrored with the images")]
    return [(old, new, f"{code(key)} turned off: {COMPANIONS} will no longer be mirrored with "
                       "the images")]  # fmt: skip


def _signatures_listed(key: str, new: bool) -> list[Line]:
    return [(None, new, f"{code(key)} off: {COMPANIONS} are not mirrored with the images")]


DRIFT = {
    "update": "when upstream moves a tag, the mirror takes the new image",
    "keep": "when upstream moves a tag, the mirror keeps the image it has and reports the move",
    "backup": "when upstream moves a tag, the old image is kept as `TAG-<digest>` and the new "
    "one copied",
}


def _drift_changed(key: str, old: str, new: str) -> list[Line]:
    return [(old, new, f"{code(key)}: {old} -> {new}: {DRIFT.get(new, 'see the README')}")]


def _drift_listed(key: str, new: str) -> list[Line]:
    return [(None, new, f"{code(key)}: {new}: {DRIFT.get(new, 'see the README')}")]


def _setting(meaning: str, show: Callable[[Any], str] = shown) -> Words:
    """A key shown as its values, with what it decides."""

    def changed(key: str, old: object, new: object) -> list[Line]:
        return [(old, new, f"{code(key)}: {show(old)} -> {show(new)}: {meaning}")]

    def listed(key: str, new: object) -> list[Line]:
        return [(None, new, f"{code(key)}: {show(new)}: {meaning}")]

    return Words(changed, listed)


def _platforms(value: object) -> str:
    return shown(value) if value else "all"


UNITS = (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60))


def _duration(value: object) -> str:
    """Seconds as syncer.yaml would write them: `30d` rather than `2592000`."""
    if not isinstance(value, int) or isinstance(value, bool):
        return "not set (removed images stay)" if value is None else shown(value)
    unit = next((u for u, size in UNITS if value and value % size == 0), "s")
    return code(f"{value // dict(UNITS).get(unit, 1)}{unit}")


TRUSTED: dict[str, Words] = {
    "allowed_sources": Words(_sources_changed, _sources_listed),
    "insecure_registries": Words(_insecure_changed, _insecure_listed),
    "verify": Words(_rules_changed, _rules_listed),
    "signatures": Words(_signatures_changed, _signatures_listed),
    "on_drift": Words(_drift_changed, _drift_listed),
    "immutable_tags": _setting(
        "a mirrored tag that matches it is never checked at its source again (a moved tag "
        "goes unnoticed)"
    ),
    "destination": _setting("where the images are pushed"),
    "registries_conf": _setting(
        "the file that says where images are read from (mirrors) and which hosts skip TLS "
        "verification"
    ),
    "authfile": _setting("where the job's registry credentials come from"),
    "platforms": _setting("which platforms of each image are mirrored", _platforms),
    "prune_after": _setting(
        "how long an image removed from the list stays before it is deleted from the mirror",
        _duration,
    ),
    "quota_reserve": _setting(
        "the pulls a copy must leave at a registry that counts them (one that would leave "
        "fewer waits for a later run)"
    ),
}
AS_WRITTEN = {"verify"}  # compared as syncer.yaml writes them: every form of rule diffs alike
CONF = "registries_conf content"  # the file `registries_conf` names, when in the repository
PIPELINE = "pipeline files"


def plain(value: object) -> object:
    """A checked value as JSON has it."""
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def policy_of(
    written: Mapping[str, object], checked: Mapping[str, Any], conf: str | None = None
) -> Policy:
    """A revision's policy from its syncer.yaml: the keys as written and as checked."""
    defaults = Config()
    values = {}
    for key in TRUSTED:
        if key in checked:
            values[key] = plain(written[key] if key in AS_WRITTEN else checked[key])
        elif any(f.name == key for f in dataclasses.fields(Config)):
            values[key] = plain(getattr(defaults, key))
    return Policy(values, conf)


DEFAULTS = policy_of({}, {})
