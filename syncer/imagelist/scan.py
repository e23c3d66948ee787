"""The images that Kubernetes manifests and compose files name, and which of them the list
lacks. Pure.

Where images are looked for, in each YAML document:
- the pod spec of a Pod (`spec`), a CronJob (`spec.jobTemplate.spec.template.spec`), a
  PodTemplate (`template.spec`), and any other kind whose pod template sits where a
  Deployment's does (`spec.template.spec`: Deployment, StatefulSet, DaemonSet, ReplicaSet, Job,
  ReplicationController, and custom kinds such as Argo Rollouts): the `image` of each of its
  `initContainers`, `containers` and `ephemeralContainers`;
- each item of a `List` (or `PodList`, `DeploymentList`...);
- a compose file (no `kind`, a `services` mapping): `services.*.image`, merge keys included.
Other documents (Services, ConfigMaps, CRDs, a chart's values.yaml) name no image to mirror.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import yaml

from syncer.imagelist.parse import Entry, ImageList, Problem, parse_line, shown
from syncer.imagelist.policy import refusal
from syncer.imagelist.reference import (
    InvalidReference,
    Reference,
    destination_under,
    validate_destination_prefix,
)
from syncer.imagelist.yamltree import Mapping, Node, Refused, Scalar, documents
from syncer.imagelist.yamltree import Sequence as YamlSequence

_KEPT = frozenset({"image", "kind"})
_CONTAINER_KEYS = ("initContainers", "containers", "ephemeralContainers")
_POD_SPEC = {
    "Pod": ("spec",),
    "PodTemplate": ("template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
_TEMPLATED_POD_SPEC = ("spec", "template", "spec")
# Helm's `{{ }}`, compose's and the shell's `${VAR}` and `$VAR`, and what helm renders for a
# value that is not set.
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\$\{|\$[A-Za-z_]|<no value>")
_REFUSED = (
    "the document starting here keeps too many image fields, anchors or merged keys "
    "(a YAML bomb?); not scanned"
)
# helm template starts each document with `---` and a `# Source: chart/templates/x.yaml` line
_HELM_SOURCE = re.compile(
    r"^(?:# Source: ([^\r\n]+?)|---(?:[ \t][^\r\n]*)?)[ \t\r]*$", re.MULTILINE
)


class Found(NamedTuple):
    """An image value as written, where it was written."""

    text: str
    path: str  # the file, made safe to print
    line: int
    template: str | None = None  # the chart template helm's `# Source:` comment names

    @property
    def origin(self) -> str:
        return f"{self.path} ({self.template})" if self.template else self.path

    def problem(self, message: str) -> Problem:
        where = f" (in {self.template})" if self.template else ""
        return Problem(self.path, self.line, message + where)


@dataclass
class FileScan:
    found: list[Found] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def label(name: str) -> str:
    """A name made safe for one line of output and of the list (escaped if it holds a newline
    or anything else that does not print)."""
    return name if name.isprintable() else repr(name)


def _at(node: Node | None, path: Iterable[str]) -> Node | None:
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def _kind(document: Mapping) -> str | None:
    kind = document.get("kind")
    return kind.value if isinstance(kind, Scalar) else None


def _pod_image_fields(spec: Node | None, seen: set[int]) -> Iterator[Node]:
    """The image field of each container of a pod spec, once."""
    if not isinstance(spec, Mapping) or id(spec) in seen:
        return
    seen.add(id(spec))  # aliases may name one pod spec many times: walk it once
    for key in _CONTAINER_KEYS:
        containers = spec.get(key)
        if not isinstance(containers, YamlSequence) or id(containers) in seen:
            continue
        seen.add(id(containers))
        for container in containers:
            if isinstance(container, Mapping) and id(container) not in seen:
                seen.add(id(container))
                if "image" in container:
                    yield container["image"]


def _image_fields(document: Mapping, seen: set[int], in_list: bool) -> Iterator[Node]:
    kind = _kind(document)
    if kind is None:
        services = document.get("services")
        if isinstance(services, Mapping):  # a compose file
            for service in services.values():
                if isinstance(service, Mapping) and "image" in service:
                    yield service["image"]
    elif kind.endswith("List") and not in_list:
        items = document.get("items")
        for item in items if isinstance(items, YamlSequence) else ():
            if isinstance(item, Mapping) and id(item) not in seen:
                seen.add(id(item))
                yield from _image_fields(item, seen, in_list=True)
    else:
        yield from _pod_image_fields(_at(document, _POD_SPEC.get(kind, _TEMPLATED_POD_SPEC)), seen)


def _helm_sources(data: bytes) -> list[tuple[int, str | None]]:
    """(line, template) of each `# Source:` comment of helm's output, and (line, None) for
    each `---` after one (the next document is no longer that template's)."""
    if b"# Source: " not in data:
        return []
    text = data.decode("utf-8", errors="replace")
    found: list[tuple[int, str | None]] = []
    line, at = 1, 0
    for match in _HELM_SOURCE.finditer(text):
        line += text.count("\n", at, match.start())
        at = match.start()
        template = match.group(1)
        if template is not None or found:
            found.append((line, label(template) if template is not None else None))
    return found


def _template(sources: list[tuple[int, str | None]], line: int) -> str | None:
    at = bisect.bisect_left(sources, line, key=lambda source: source[0])
    return sources[at - 1][1] if at else None


def _error_line(exc: yaml.YAMLError, data: bytes) -> int:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None:
        return int(mark.line) + 1
    position = getattr(exc, "position", None)  # a ReaderError: bytes that are not text
    return data[: int(position)].count(b"\n") + 1 if isinstance(position, int) else 1


def _error_message(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.reader.ReaderError):
        return f"not UTF-8 or UTF-16 text ({exc.reason})"
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    text = f"{problem} ({context})" if context else str(problem)
    return f"malformed YAML: {' '.join(text.split())}"


def scan_file(data: bytes, name: str) -> FileScan:
    """The image fields of one file's documents (each once, in line order) and what is wrong
    with them or with the file. Documents after a malformed one are not read."""
    path = label(name)
    result = FileScan()
    fields: dict[int, Node] = {}  # by identity: an alias or a merge names one field again
    try:
        for document in documents(data, _KEPT):
            if isinstance(document, Refused):
                result.problems.append(Problem(path, document.line, _REFUSED))
            elif isinstance(document, Mapping):
                for node in _image_fields(document, set(), in_list=False):
                    fields.setdefault(id(node), node)
    except yaml.YAMLError as exc:
        result.problems.append(Problem(path, _error_line(exc, data), _error_message(exc)))
    sources = _helm_sources(data)
    for node in sorted(fields.values(), key=lambda n: n.line):
        found = Found(node.value if isinstance(node, Scalar) else "", path, node.line)
        found = found._replace(template=_template(sources, node.line))
        if isinstance(node, Scalar) and not node.null and node.value:
            result.found.append(found)
        else:
            what = "empty" if isinstance(node, Scalar) else f"a {type(node).__name__.lower()}"
            result.problems.append(found.problem(f"image is {what}, not an image reference"))
    result.problems.sort(key=lambda p: p.line)
    return result


def reference_of(text: str) -> Reference:
    """The image a manifest names, normalized as the list would hold it; InvalidReference
    for a template placeholder or anything that is not a reference."""
    if _PLACEHOLDER.search(text):
        raise InvalidReference(
            f"{shown(text)} holds a template placeholder: render it first (helm template, "
            "docker compose config); not added"
        )
    return parse_line(text)


def covers(images: ImageList, keys: frozenset[str], ref: Reference) -> bool:
    """The list already mirrors `ref`: a line with the same meaning, or a selector without
    `latest=` whose range or pattern takes this tag. With `latest=N` the answer depends on
    the tags the registry has now (which scan does not ask), so such a selector covers nothing
    here: the plain line that scan prints keeps the tag mirrored whatever the registry does."""
    if str(ref) in keys:
        return True
    if ref.tag is None or ref.digest is not None:
        return False
    return any(
        s.latest is None and s.name.name == ref.name and s.select([ref.tag])
        for s in images.selectors
    )


@dataclass
class Missing:
    """An image the list lacks: where it is named first, and every file that names it."""

    entry: Entry
    first: Found
    origins: list[str] = field(default_factory=list)


@dataclass
class Findings:
    missing: list[Missing] = field(default_factory=list)  # in the order first found
    covered: list[str] = field(default_factory=list)  # the list has them: each key once
    problems: list[Problem] = field(default_factory=list)


class _Rules(NamedTuple):
    """What `check` would refuse in a line: policy, and a destination it cannot map under."""

    allowed: list[re.Pattern[str]]
    destination: tuple[str, str] | None  # (host, path) of the prefix

    def refusal(self, entry: Entry) -> str | None:
        why = refusal(entry, self.allowed)
        if why is None and self.destination is not None:
            try:
                destination_under(entry.source, *self.destination)
            except InvalidReference as exc:
                return str(exc)
        return why


def _rules(allowed: Sequence[str], destination: str | None) -> _Rules:
    prefix = None
    if destination:
        host, _, path = validate_destination_prefix(destination).partition("/")
        prefix = (host, path)
    return _Rules([re.compile(p) for p in allowed], prefix)


def findings(
    scans: Iterable[FileScan],
    images: ImageList,
    allowed: Sequence[str] = (),
    destination: str | None = None,
) -> Findings:
    """What the scanned files name that the list does not cover, each image once; what may
    not enter the list (a placeholder, not a reference, refused by `allowed_sources`, not
    mappable under `destination`) is a problem at the line that names it."""
    keys, rules = images.keys, _rules(allowed, destination)
    result = Findings()
    by_key: dict[str, Missing] = {}
    covered: dict[str, None] = {}
    for scan in scans:
        problems = list(scan.problems)
        for found in scan.found:
            try:
                ref = reference_of(found.text)
            except InvalidReference as exc:
                problems.append(found.problem(str(exc)))
                continue
            entry = Entry.of(found.line, str(ref), ref)
            if covers(images, keys, ref):
                covered.setdefault(entry.key)
                continue
            why = rules.refusal(entry)
            if why is not None:
                problems.append(found.problem(why))
                continue
            missing = by_key.get(entry.key)
            if missing is None:
                missing = by_key[entry.key] = Missing(entry, found)
                result.missing.append(missing)
            if found.origin not in missing.origins:
                missing.origins.append(found.origin)
        result.problems += sorted(problems, key=lambda p: p.line)
    result.covered = list(covered)
    return result
