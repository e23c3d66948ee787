"""Short names in registries.conf: aliases and unqualified-search registries, checked as
containers/image checks them (a file with a bad alias is refused by every skopeo copy)."""

from __future__ import annotations

from syncer.imagelist.reference import (
    InvalidReference,
    Reference,
    is_domain,
    parse,
    parse_normalized,
)


def _looks_like_registry(domain: str) -> bool:
    return any(c in domain for c in ".:") or domain == "localhost"


def _untagged(text: str, what: str) -> tuple[Reference | None, str | None]:
    """`text` parsed as Go's `reference.Parse`, refused with a tag or a digest."""
    try:
        ref = parse(text)
    except InvalidReference as exc:
        return None, f'cannot parse {what}: "{text}": {exc}'
    for part, value in (("digest", ref.digest), ("tag", ref.tag)):
        if value is not None:
            return None, f'invalid {what} "{text}": must not contain {part}'
    return ref, None


def short_name_problem(name: str) -> str | None:
    ref, problem = _untagged(name, "short name")
    if ref is not None and _looks_like_registry(ref.domain):
        return f'invalid short name "{name}": must not contain registry'
    return problem


def alias_value_problem(value: str) -> str | None:
    ref, problem = _untagged(value, "alias")
    if ref is None:
        return problem
    if not _looks_like_registry(ref.domain):
        return f'invalid alias "{value}": must contain registry and repository'
    try:
        parse_normalized(value)
    except InvalidReference as exc:
        return f'parsing alias "{value}": {exc}'
    return None


def check_alias(name: str, value: str) -> str | None:
    """What is wrong with one `[aliases]` entry (an empty value is allowed), or None."""
    return short_name_problem(name) or (alias_value_problem(value) if value else None)


def search_registry_problem(host: str) -> str | None:
    """An unqualified-search registry must be a bare host[:port]."""
    return None if is_domain(host) else f'Invalid unqualified-search-registries entry "{host}"'
