"""The functions that run once an image of a large state file, generated from the record's
fields as `collections.namedtuple` and `dataclasses` generate methods: the fast entry check
(with the decoding it allows, in the same pass) and the line encoder. A loop over the fields,
calling a function a field, cost the 100,000-image dry run over a second more than the same
steps written out; so the steps are written out, here, from `fields.STATE_FIELDS` (the one
declaration stays `image.Image`).
Tests hold both to their descriptive twins: `entry_problem` and `json.dumps`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from syncer.record.fields import (
    DECODED_ENUMS,
    DIGEST_PATTERN,
    KEY,
    RECORDED_STATUSES,
    STATE_FIELDS,
    Field,
    Kind,
    history_json,
    json_text,
)
from syncer.record.image import Copied, Image, Status

# What each kind writes (`v` is the value), or nothing where it is at its default.
_WRITE = {
    Kind.TEXT: "parts.append({prefix!r} + text(v))",
    Kind.STATUS: "parts.append({prefix!r} + text(v))",
    Kind.OPTIONAL_TEXT: "if v is not None: parts.append({prefix!r} + text(v))",
    Kind.DIGEST: "if v is not None: parts.append({prefix!r} + text(v))",
    Kind.CHOICE: "if v is not None: parts.append({prefix!r} + text(v))",
    Kind.TEXTS: "if v: parts.append({prefix!r} + '[' + ', '.join(map(text, v)) + ']')",
    Kind.HISTORY: "if v: parts.append({prefix!r} + history(v))",
    Kind.FLAG: "if v: parts.append({prefix!r} + 'true')",
}

# When a value read from mapping.json is right for its kind (`item` is the value).
_VALID = {
    Kind.TEXT: "type(item) is str",
    Kind.STATUS: "item in recorded",
    Kind.OPTIONAL_TEXT: "item is None or type(item) is str",
    Kind.DIGEST: "item is None or (type(item) is str and digest(item) is not None)",
    Kind.CHOICE: "item is None or (type(item) is str and item in words_{name})",
    Kind.TEXTS: "type(item) is list and set(map(type, item)) <= strings",
    Kind.HISTORY: "type(item) is list and all(type(h) is Copied for h in item)",
    Kind.FLAG: "type(item) is bool",
}


def _compiled(source: str, name: str, namespace: dict[str, Any]) -> Callable[..., Any]:
    exec(compile(source, f"<syncer.record.compiled {name}>", "exec"), namespace)  # noqa: S102
    function: Callable[..., Any] = namespace[name]
    return function


def line_encoder(fields: tuple[Field, ...] = STATE_FIELDS) -> Callable[[Image], str]:
    """An image's JSON object as `json.dumps(sort_keys=True)` writes it, fields at their
    default and the key left out."""
    body = ["def line(image):", "    parts = []"]
    for field in sorted(fields, key=lambda f: f.name):
        if field.name == KEY:
            continue
        body.append(f"    v = image[{field.position}]")
        body.append("    " + _WRITE[field.kind].format(prefix=f'"{field.name}": '))
    body.append("    return '{' + ', '.join(parts) + '}'")
    namespace = {"text": json_text, "history": history_json}
    return _compiled("\n".join(body), "line", namespace)


# Values many entries repeat (revisions, times): held once, not once an entry.
_SHARED = ("commit", "removed_commit", "pruned_commit", "removed_at", "pruned_at")

# How a right value becomes the record's (`item` read, `out[name]` written), by kind.
_DECODE = {
    Kind.STATUS: "out[{name!r}] = statuses[item]",
    Kind.CHOICE: "if item is not None: out[{name!r}] = members_{name}[item]",
    Kind.TEXTS: "t = tuple(item); out[{name!r}] = shared.setdefault(t, t) if t else empty_{name}",
}


# The fields nearly every entry has, asked first in the decoder's chain of comparisons.
_COMMON = ("destination", "status", "digest", "platforms", "history", "commit", "companions")


def _commonest_first(field: Field) -> int:
    return _COMMON.index(field.name) if field.name in _COMMON else len(_COMMON)


def entry_decoder(
    fields: tuple[Field, ...] = STATE_FIELDS,
) -> Callable[[dict[str, Any], dict[Any, Any]], bool]:
    """Check an entry as read from mapping.json (only known fields, each right for its kind,
    the required ones there: `entry_problem`'s fast twin) and, when it is right, turn its
    values into the record's (enums, tuples, shared strings) in place; False, with the entry
    untouched, when it is not (the descriptive check then reads it as it was)."""
    body = ["def decode(value, shared):", "    out = {}", "    for name, item in value.items():"]
    namespace: dict[str, Any] = {
        "recorded": RECORDED_STATUSES,
        "digest": DIGEST_PATTERN.match,
        "strings": {str},
        "Copied": Copied,
        "statuses": {s.value: s for s in Status},
    }
    keyword = "if"
    for field in sorted(fields, key=_commonest_first):
        body.append(f"        {keyword} name == {field.name!r}:")
        body.append(f"            if not ({_VALID[field.kind].format(name=field.name)}):")
        body.append("                return False")
        keyword = "elif"
        if field.kind is Kind.CHOICE:
            namespace[f"words_{field.name}"] = field.words
            namespace[f"members_{field.name}"] = DECODED_ENUMS[field.name]
        if field.kind is Kind.TEXTS:
            namespace[f"empty_{field.name}"] = field.default
        if field.kind in _DECODE:
            body.append("            " + _DECODE[field.kind].format(name=field.name))
        elif field.name in _SHARED:
            body.append(f"            out[{field.name!r}] = shared.setdefault(item, item)")
    body += ["        else:", "            return False"]
    required = [f.name for f in fields if f.required and f.name != KEY]
    body.append("    if not (" + " and ".join(f"{name!r} in value" for name in required) + "):")
    body += ["        return False", "    value.update(out)", "    return True"]
    return _compiled("\n".join(body), "decode", namespace)


line = line_encoder()
entry_decode = entry_decoder()
