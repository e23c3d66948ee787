"""`mapping.json` written: version 3's layout, one image a line (see statefile.py).

The lines are built field by field (a dict for json's encoder cost twice the time, and
`json.dumps(indent=2)` runs json's pure-Python encoder: seconds at 100,000 images); a property
test holds each line to `json.dumps(..., sort_keys=True)`'s own bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from syncer.record.state import ImageState, State
from syncer.record.statefile import HEAD, VERSION

_text = json.encoder.encode_basestring_ascii  # what json.dumps writes for a string


def _texts(items: Iterable[str]) -> str:
    return f"[{', '.join(map(_text, items))}]"


def _optional(value: str | None) -> str:
    return "null" if value is None else _text(value)


def _line(image: ImageState) -> str:
    """An image's JSON object, keys sorted, fields at their default and the source (its key)
    left out: the bytes
    `json.dumps(..., sort_keys=True)` gives (a test holds them to it), built field by
    field because a dict for the encoder cost twice the time."""
    parts = []
    if image.commit is not None:
        parts.append(f'"commit": {_text(image.commit)}')
    if image.companions:
        parts.append(f'"companions": {_texts(image.companions)}')
    parts.append(f'"destination": {_text(image.destination)}')
    if image.digest is not None:
        parts.append(f'"digest": {_text(image.digest)}')
    if image.drift is not None:
        parts.append(f'"drift": {_text(image.drift)}')
    if image.error is not None:
        parts.append(f'"error": {_text(image.error)}')
    if image.history:
        lines = ", ".join(
            f'{{"at": {_optional(h.at)}, "commit": {_optional(h.commit)}, '
            f'"digest": {_text(h.digest)}}}'
            for h in image.history
        )
        parts.append(f'"history": [{lines}]')
    if image.platforms:
        parts.append(f'"platforms": {_texts(image.platforms)}')
    if image.reason is not None:
        parts.append(f'"reason": {_text(image.reason)}')
    if image.selected_by is not None:
        parts.append(f'"selected_by": {_text(image.selected_by)}')
    parts.append(f'"status": {_text(image.status)}')
    if image.unselected:
        parts.append('"unselected": true')
    if image.verified is not None:
        parts.append(f'"verified": {_text(image.verified)}')
    return f"{{{', '.join(parts)}}}"


def state_lines(state: State) -> Iterator[str]:
    """The file a line at a time: version first, then one line an image, sorted by source."""
    if not state:
        yield f'{{\n  "version": {VERSION},\n  "images": {{}}\n}}\n'
        return
    yield "".join(HEAD)
    keys = sorted(state)
    for key in keys[:-1]:
        yield f"    {_text(key)}: {_line(state[key])},\n"
    yield f"    {_text(keys[-1])}: {_line(state[keys[-1]])}\n  }}\n}}\n"


def dump_state(state: State) -> str:
    return "".join(state_lines(state))
