"""YAML read as parser events into small trees that keep only the values asked for. Pure.

`yaml.compose` builds a node for every scalar of a document (a 10 MB document of short items
costs hundreds of MB) and constructing it expands every alias (the "billion laughs"). Here
only the scalars under the keys asked for are kept, with the mappings and sequences that hold
them; each anchor is kept once and an alias refers to it, never copies it. Merge keys (`<<`)
are resolved as YAML defines them (a mapping's own keys win, then the earlier merged ones).
`MAX_FIELDS` bounds what one document may keep; a document over it is refused whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

import yaml

# More kept fields, anchors and merged keys than any manifest needs (a chart's whole render
# keeps a few per container).
MAX_FIELDS = 100_000
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML has it


class Scalar(NamedTuple):
    value: str
    line: int  # 1-based, as every line number here
    null: bool  # a plain null (`~`, `null`, nothing)


class Mapping(dict[str, "Node"]):
    """A mapping's kept keys (plain scalar keys only), and the line it starts on."""

    __slots__ = ("line",)

    def __init__(self, line: int, pairs: dict[str, Node]) -> None:
        super().__init__(pairs)
        self.line = line


class Sequence(list["Node"]):
    """A sequence's kept items (mappings and sequences: no scalar item is ever asked for)."""

    __slots__ = ("line",)

    def __init__(self, line: int, items: list[Node]) -> None:
        super().__init__(items)
        self.line = line


Node = Scalar | Mapping | Sequence


class Refused(NamedTuple):
    """A document that keeps more than MAX_FIELDS: where it starts."""

    line: int


@dataclass
class _Frame:
    line: int
    anchor: str | None
    sequence: bool
    items: list[Node] = field(default_factory=list)
    pairs: dict[str, Node] = field(default_factory=dict)
    merges: list[Node] = field(default_factory=list)
    key: str | None = None
    has_key: bool = False


def _line(event: yaml.Event) -> int:
    return event.start_mark.line + 1 if event.start_mark else 1


class _Composer:
    def __init__(self, kept_scalars: frozenset[str]) -> None:
        self.kept_scalars = kept_scalars
        self._document(1)

    def _document(self, line: int) -> None:
        self.anchors: dict[str, Node | None] = {}
        self.in_progress: set[str] = set()
        self.stack: list[_Frame] = []
        self.root: Node | None = None
        self.fields = 0
        self.start = line
        self.refused = False

    def feed(self, event: yaml.Event) -> bool:
        """Take one event; True when it ends a document (see `result`)."""
        if isinstance(event, yaml.ScalarEvent):  # most events: first, and dropped early
            if not self.refused and (event.anchor is not None or self._wants_scalar()):
                null = bool(event.implicit[0]) and event.value in _NULLS
                self._node(event.anchor, Scalar(event.value, _line(event), null))
        elif isinstance(event, yaml.DocumentStartEvent):
            self._document(_line(event))
        elif isinstance(event, yaml.DocumentEndEvent):
            return True
        elif self.refused:
            pass  # the rest of a refused document is only parsed
        elif isinstance(event, yaml.AliasEvent):
            self._alias(event)
        elif isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
            if event.anchor is not None:
                self.in_progress.add(event.anchor)
            sequence = isinstance(event, yaml.SequenceStartEvent)
            self.stack.append(_Frame(_line(event), event.anchor, sequence))
        elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
            frame = self.stack.pop()
            self._node(frame.anchor, self._finish(frame))
        return False

    def _wants_scalar(self) -> bool:
        """A scalar here may be kept: a document, a key, or the value of a kept key."""
        if not self.stack:
            return True
        frame = self.stack[-1]
        if frame.sequence:
            return False
        if frame.has_key and frame.key not in self.kept_scalars:
            frame.key, frame.has_key = None, False  # the value is dropped: the pair is done
            return False
        return True

    def result(self) -> Node | Refused | None:
        return Refused(self.start) if self.refused else self.root

    def _count(self, n: int = 1) -> None:
        self.fields += n
        if self.fields > MAX_FIELDS:
            self.refused = True
            self.anchors, self.stack, self.root = {}, [], None

    def _alias(self, event: yaml.AliasEvent) -> None:
        name = event.anchor or ""
        if name not in self.anchors and name not in self.in_progress:
            mark = yaml.error.Mark("<yaml>", 0, _line(event) - 1, 0, None, 0)
            raise yaml.composer.ComposerError(None, None, f"undefined alias {name!r}", mark)
        self._deliver(self.anchors.get(name))  # an alias inside its own anchor keeps nothing

    def _node(self, anchor: str | None, node: Node | None) -> None:
        if anchor is not None:
            self._count()
            self.anchors[anchor] = node
            self.in_progress.discard(anchor)
        if not self.refused:
            self._deliver(node)

    def _finish(self, frame: _Frame) -> Node:
        if frame.sequence:
            return Sequence(frame.line, frame.items)
        pairs = frame.pairs
        if frame.merges:
            merged: dict[str, Node] = {}
            for source in reversed(frame.merges):
                if isinstance(source, Mapping):
                    self._count(len(source))
                    merged.update(source)
            pairs = {**merged, **pairs}
        return Mapping(frame.line, pairs)

    def _deliver(self, node: Node | None) -> None:
        if not self.stack:
            self.root = node
            return
        frame = self.stack[-1]
        if frame.sequence:
            if node and not isinstance(node, Scalar):  # an empty mapping or sequence keeps nothing
                self._count()
                frame.items.append(node)
        elif not frame.has_key:
            frame.key = node.value if isinstance(node, Scalar) else None
            frame.has_key = True
        else:
            key, frame.key, frame.has_key = frame.key, None, False
            if key is None or node is None:
                return
            if key == "<<":
                frame.merges.extend(node if isinstance(node, Sequence) else [node])
            elif key in self.kept_scalars or (node and not isinstance(node, Scalar)):
                self._count()  # under a kept key even an empty mapping is kept: it is no scalar
                frame.pairs[key] = node


def documents(data: bytes | str, kept_scalars: frozenset[str]) -> Iterator[Node | Refused | None]:
    """Each document's kept tree, in order. A document that cannot be parsed raises
    yaml.YAMLError (the documents before it have been given)."""
    composer = _Composer(kept_scalars)
    for event in yaml.parse(data, Loader=_Loader):
        if composer.feed(event):
            yield composer.result()
