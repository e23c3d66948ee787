"""`mapping.json` written: version 3's layout, one image a line (see statefile.py).

Each line is built field by field by the encoder generated from the record's fields (a dict
for json's encoder is slower, and `json.dumps(indent=2)` runs json's pure-Python encoder); a
property test
holds each line to `json.dumps(..., sort_keys=True)`'s own bytes.
"""

from __future__ import annotations

from collections.abc import Iterator

from syncer.record.compiled import line
from syncer.record.fields import json_text
from syncer.record.image import ImageState, State
from syncer.record.statefile import HEAD, VERSION


def _line(image: ImageState) -> str:
    """An image's JSON object, keys sorted, fields at their default and the source (its key)
    left out (the encoder generated from the record's fields: record/compiled.py)."""
    return line(image)


def state_lines(state: State) -> Iterator[str]:
    """The file a line at a time: version first, then one line an image, sorted by source."""
    if not state:
        yield f'{{\n  "version": {VERSION},\n  "images": {{}}\n}}\n'
        return
    yield "".join(HEAD)
    keys = sorted(state)
    for key in keys[:-1]:
        yield f"    {json_text(key)}: {_line(state[key])},\n"
    yield f"    {json_text(keys[-1])}: {_line(state[keys[-1]])}\n  }}\n}}\n"
