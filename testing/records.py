"""The state file and the report as whole strings, for tests that compare them (syncer itself
writes and compares both a piece at a time)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from syncer.imagelist.parse import Mapping
from syncer.record.image import State
from syncer.record.report import report_pieces
from syncer.record.statedump import state_lines


def dump_state(state: State) -> str:
    return "".join(state_lines(state))


def render_report(
    mappings: Sequence[Mapping],
    state: State,
    *,
    prefix: str,
    list_file: str,
    state_file: str,
    template: Path | None = None,
    selected: Iterable[str] = (),
) -> str:
    pieces = report_pieces(
        mappings,
        state,
        prefix=prefix,
        list_file=list_file,
        state_file=state_file,
        template=template,
        selected=selected,
    )
    return "".join(pieces)
