"""`mapping.json` written: version 3's layout, one image a line (see statefile.py).

Each line is built field by field by the encoder generated from the record's fields
(record/compiled.py: a dict for json's encoder is slower, and `json.dumps(indent=2)` runs
json's pure-Python encoder); a property test holds each line to
`json.dumps(..., sort_keys=True)`'s own bytes. The lines are handed on in blocks
(`files.line_blocks`).
"""

from __future__ import annotations

from collections.abc import Iterator

from syncer.files import line_blocks
from syncer.record.compiled import line
from syncer.record.fields import json_text
from syncer.record.image import State
from syncer.record.statefile import HEAD, VERSION


def state_lines(state: State) -> Iterator[str]:
    """The file in pieces: version first, then one line an image, sorted by source."""
    if not state:
        yield f'{{\n  "version": {VERSION},\n  "images": {{}}\n}}\n'
        return
    yield "".join(HEAD)
    keys = sorted(state)
    last = keys.pop()
    entries = (f"    {json_text(key)}: {line(state[key])}," for key in keys)
    for block in line_blocks(entries):
        yield block + "\n"
    yield f"    {json_text(last)}: {line(state[last])}\n  }}\n}}\n"
