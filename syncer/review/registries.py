"""What a registries.conf says about where images are read from, as facts a reviewer can
compare: mirrors, rewritten locations, hosts without TLS verification, blocked prefixes,
credential helpers. Pure."""

from __future__ import annotations

from syncer.containers.registries_conf import parse_config
from syncer.errors import UsageError
from syncer.review.words import code, codes

PLAIN = "no mirrors, rewritten locations, blocked hosts or hosts without TLS verification"


def facts(text: str, origin: str) -> list[str] | None:
    """One fact a line, in file order; None when skopeo would refuse the file."""
    try:
        parsed = parse_config(text, origin)
    except UsageError:
        return None
    found: list[str] = []
    for registry in parsed.registries:
        prefix = code(registry.prefix)
        if registry.blocked:
            found.append(f"{prefix} blocked")
        if registry.location and registry.location != registry.prefix:
            found.append(f"{prefix} read from {code(registry.location)}")
        if registry.insecure:
            found.append(f"TLS verification off for {code(registry.location or registry.prefix)}")
        for mirror in registry.mirrors:
            found.append(f"{prefix} read from mirror {code(mirror.location)}")
            if mirror.insecure:
                found.append(f"TLS verification off for mirror {code(mirror.location)}")
    if parsed.credential_helpers is not None:
        found.append(f"credentials from {codes(parsed.credential_helpers)}")
    return found


def compared(old: str, new: str, origin: str) -> str:
    """What changed between two texts of the file, in words."""
    before, after = facts(old, origin), facts(new, origin)
    if after is None:
        return "skopeo cannot read it now"
    if before is None:
        return "now: " + "; ".join(after or [PLAIN])
    gained = [f for f in after if f not in before]
    lost = [f for f in before if f not in after]
    parts = [f"now {'; '.join(gained)}"] if gained else []
    parts += [f"no longer {'; '.join(lost)}"] if lost else []
    return ". ".join(parts) or "its registries, mirrors and TLS settings are the same"


def described(text: str, origin: str) -> str:
    found = facts(text, origin)
    if found is None:
        return "skopeo cannot read it"
    return "; ".join(found or [PLAIN])
