"""Values from a merge request, shown inside the plan's markdown as inert code. Pure.

A pattern or host comes from the MR under review: it must read as what it is, never as
markdown (a backtick in it must not close the code span and let the rest render).
"""

from __future__ import annotations

from collections.abc import Iterable

MAX_VALUE = 200  # characters of one value in the plan: the JSON has it whole


def code(value: object) -> str:
    """`value` as one markdown code span, whatever backticks it holds."""
    text = " ".join(str(value).split()) or " "
    if len(text) > MAX_VALUE:
        text = text[: MAX_VALUE - 1] + "…"
    longest = run = 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    padded = f" {text} " if text.startswith("`") or text.endswith("`") else text
    return f"{fence}{padded}{fence}"


def codes(values: Iterable[object]) -> str:
    return ", ".join(code(v) for v in values) or "nothing"


def shown(value: object) -> str:
    """A setting's value in words: not set, a list, or one value."""
    if value is None:
        return "not set"
    if isinstance(value, list | tuple):
        return codes(value) if value else "none"
    return code(value)
