"""The state file and the report as whole strings, for tests that compare them (syncer itself
writes and compares both a piece at a time)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from syncer.imagelist.parse import Mapping
from syncer.record.image import State
from syncer.record.report import report_pieces
from syncer.record.statedump import state_lines


def dump_state(state: State) -> str:
    return "".join(state_lines(state))


def render_report(mappings: Sequence[Mapping], state: State, **options: Any) -> str:
    """`report_pieces` joined; `options` are its own (prefix, list_file, state_file...)."""
    return "".join(report_pieces(mappings, state, **options))
