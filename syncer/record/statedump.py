"""`mapping.json` written: version 3's layout, one image a line (see statefile.py).

Each line is built field by field by the encoder generated from the record's fields
(record/compiled.py: a dict for json's encoder is slower, and `json.dumps(indent=2)` runs
json's pure-Python encoder); a property test holds each line to
`json.dumps(..., sort_keys=True)`'s own bytes. The lines are handed on in blocks: a piece a
line cost comparing and writing 100,000 of them almost as much as making them.
"""

from __future__ import annotations

from collections.abc import Iterator

from syncer.record.compiled import line
from syncer.record.fields import json_text
from syncer.record.image import State
from syncer.record.statefile import HEAD, VERSION

BLOCK = 512  # lines a piece


def state_lines(state: State) -> Iterator[str]:
    """The file in pieces: version first, then one line an image, sorted by source."""
    if not state:
        yield f'{{\n  "version": {VERSION},\n  "images": {{}}\n}}\n'
        return
    yield "".join(HEAD)
    keys = sorted(state)
    last = keys.pop()
    for start in range(0, len(keys), BLOCK):
        block = keys[start : start + BLOCK]
        yield "".join([f"    {json_text(key)}: {line(state[key])},\n" for key in block])
    yield f"    {json_text(last)}: {line(state[last])}\n  }}\n}}\n"
