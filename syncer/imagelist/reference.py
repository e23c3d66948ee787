"""Container image references, parsed and normalized exactly as Docker does.

This follows github.com/distribution/reference (the package Docker uses): the grammar is its
regular expressions, `parse` is its `Parse` and `parse_normalized` its `ParseNormalizedNamed`.
The conformance cases in tests/data come from that package's own tests.

On top of that sits the one piece of policy this project adds: where a source image lands in
the private registry (`destination_for`).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
NAME_TOTAL_LENGTH_MAX = 255

# The grammar of distribution/reference's regexp.go, piece by piece.
_ALPHANUMERIC = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALPHANUMERIC}(?:{_SEPARATOR}{_ALPHANUMERIC})*"
_DOMAIN_NAME_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_IPV6_ADDRESS = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN_NAME = rf"{_DOMAIN_NAME_COMPONENT}(?:\.{_DOMAIN_NAME_COMPONENT})*"
_HOST = rf"(?:{_DOMAIN_NAME}|{_IPV6_ADDRESS})"
_DOMAIN_AND_PORT = rf"{_HOST}(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}"
_REMOTE_NAME = rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_NAME = rf"(?:{_DOMAIN_AND_PORT}/)?{_REMOTE_NAME}"

# re.ASCII: Go's \w is [0-9A-Za-z_], Python's would admit any Unicode letter.
_REFERENCE_RE = re.compile(rf"({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?", re.ASCII)
_ANCHORED_NAME_RE = re.compile(rf"(?:({_DOMAIN_AND_PORT})/)?({_REMOTE_NAME})", re.ASCII)
_DOMAIN_AND_PORT_RE = re.compile(_DOMAIN_AND_PORT, re.ASCII)
_REMOTE_NAME_RE = re.compile(_REMOTE_NAME, re.ASCII)
_IDENTIFIER_RE = re.compile(r"[a-f0-9]{64}")
# A line already in normalized form (`host.tld[:port]/path:tag`), which is what lists hold
# once they grow large: one match instead of three (see parse_canonical).
_CANONICAL_RE = re.compile(rf"({_DOMAIN_AND_PORT})/({_REMOTE_NAME}):({_TAG})", re.ASCII)

# Hex length of each digest algorithm that Docker and skopeo accept.
_DIGEST_HEX_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
_DIGEST_ENCODED_RE = re.compile(r"[a-f0-9]+")


class InvalidReference(ValueError):
    """A string that is not a valid image reference; the message says what is wrong."""


@dataclass(frozen=True, slots=True)  # slots: a 100,000-line list holds 200,000 of them
class Reference:
    """A parsed reference. `domain` is "" only for `parse` of a name without a registry."""

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        return f"{self.domain}/{self.path}" if self.domain else self.path

    def __str__(self) -> str:
        text = self.name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text

    def with_default_tag(self) -> Reference:
        """The reference a pull would use: a bare name means `:latest`."""
        if self.tag is None and self.digest is None:
            return Reference(self.domain, self.path, "latest")
        return self


def _validate_digest(text: str) -> None:
    algorithm, _, encoded = text.partition(":")
    length = _DIGEST_HEX_LENGTHS.get(algorithm)
    if length is None:
        raise InvalidReference("unsupported digest algorithm")
    if len(encoded) != length:
        raise InvalidReference("invalid checksum digest length")
    if not _DIGEST_ENCODED_RE.fullmatch(encoded):
        raise InvalidReference("invalid checksum digest format")


def parse(text: str) -> Reference:
    """Go's `reference.Parse`: the reference as written, with no normalization."""
    match = _REFERENCE_RE.fullmatch(text)
    if match is None:
        if not text:
            raise InvalidReference("repository name must have at least one component")
        if _REFERENCE_RE.fullmatch(text.lower()):
            raise InvalidReference("repository name must be lowercase")
        raise InvalidReference("invalid reference format")
    name, tag, digest = match.groups()
    # The reference pattern starts with the name pattern, so this always matches.
    name_match = _ANCHORED_NAME_RE.fullmatch(name)
    domain, path = (name_match.group(1) or "", name_match.group(2)) if name_match else ("", name)
    if len(path) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidReference(
            f"repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters"
        )
    if digest is not None:
        _validate_digest(digest)
    return Reference(domain, path, tag, digest)


def is_domain(text: str) -> bool:
    """`text` is a registry host[:port], as the reference grammar's domain."""
    return _DOMAIN_AND_PORT_RE.fullmatch(text) is not None


def parse_named(text: str) -> Reference:
    """Go's `reference.ParseNamed`: a normalized name that must already be written in full."""
    ref = parse_normalized(text)
    if str(ref) != text:
        raise InvalidReference("repository name must be canonical")
    return ref


def _split_docker_domain(text: str) -> tuple[str, str]:
    first, slash, rest = text.partition("/")
    # The first component is a registry host only if it looks like one: a dot, a port,
    # "localhost", or an uppercase letter (no Docker Hub namespace can have one).
    looks_like_host = (
        any(c in first for c in ".:") or first == "localhost" or first != first.lower()
    )
    domain, remainder = (first, rest) if slash and looks_like_host else (DEFAULT_DOMAIN, text)
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_REPO_PREFIX + remainder
    return domain, remainder


def parse_canonical(text: str) -> Reference | None:
    """`parse_normalized` of a reference already written in full with a tag, in one regular
    expression; None when the full grammar must decide (no tag, a digest, Docker Hub's
    short forms, `localhost`, uppercase, anything invalid)."""
    match = _CANONICAL_RE.fullmatch(text)
    if match is None:
        return None
    domain, path, tag = match.groups()
    if not ("." in domain or ":" in domain) or len(path) > NAME_TOTAL_LENGTH_MAX:
        return None
    if domain in (DEFAULT_DOMAIN, LEGACY_DEFAULT_DOMAIN) and (
        domain == LEGACY_DEFAULT_DOMAIN or "/" not in path
    ):
        return None
    return Reference(sys.intern(domain), path, tag)  # a list names few registries, many times


def parse_normalized(text: str) -> Reference:
    """Go's `reference.ParseNormalizedNamed`: what `docker pull TEXT` would pull."""
    fast = parse_canonical(text)
    if fast is not None:
        return fast
    if len(text) == 64 and _IDENTIFIER_RE.fullmatch(text):
        raise InvalidReference(
            f"invalid repository name ({text}), cannot specify 64-byte hexadecimal strings"
        )
    domain, remainder = _split_docker_domain(text)
    remote_name = remainder.partition(":")[0]
    if remote_name.lower() != remote_name:
        raise InvalidReference(
            f"invalid reference format: repository name ({remote_name}) must be lowercase"
        )
    return parse(f"{domain}/{remainder}")


def validate_destination_prefix(prefix: str) -> str:
    """Check a destination prefix (`HOST[:PORT][/PATH]`) and return it without a trailing '/'."""
    prefix = prefix.rstrip("/")
    scheme, sep, rest = prefix.partition("://")
    if sep:
        raise InvalidReference(
            f"{prefix!r} has a URL scheme ({scheme}://); write it without: {rest.rstrip('/')!r}"
        )
    host, _, path = prefix.partition("/")
    if host.startswith("["):
        raise InvalidReference(f"{prefix!r}: an IPv6 registry host is not supported")
    looks_like_host = "." in host or ":" in host or host == "localhost"
    if not (_DOMAIN_AND_PORT_RE.fullmatch(host) and looks_like_host):
        raise InvalidReference(
            f"{prefix!r} must start with a registry host such as harbor.example.com:5000"
        )
    if path and not _REMOTE_NAME_RE.fullmatch(path):
        raise InvalidReference(
            f"{prefix!r}: the path after the host must be lowercase components separated by '/'"
        )
    return prefix


def scoped_name(ref: Reference) -> str:
    """The source's full name as a repository path: `docker.io/library/x`, `localhost_5000/a/b`.

    `skopeo sync --scoped` keeps a port's ':' and so builds an invalid reference; a registry
    host can never contain '_', so replacing ':' by '_' cannot collide with another source.
    """
    if ref.domain.startswith("["):
        raise InvalidReference(
            f"{ref}: a source on an IPv6 registry cannot be mirrored under a scoped name"
        )
    return f"{ref.domain.lower().replace(':', '_')}/{ref.path}"


def destination_for(ref: Reference, prefix: str) -> Reference:
    """Where `ref` is mirrored: PREFIX/<scoped source name>, keeping tag and digest."""
    host, _, prefix_path = validate_destination_prefix(prefix).partition("/")
    return destination_under(ref, host, prefix_path)


def destination_under(ref: Reference, host: str, prefix_path: str) -> Reference:
    """`destination_for` with the prefix checked once and split (a list maps many images)."""
    ref = ref.with_default_tag()
    path = f"{prefix_path}/{scoped_name(ref)}" if prefix_path else scoped_name(ref)
    if len(path) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidReference(
            f"{ref}: destination path {path!r} is {len(path)} characters, "
            f"over the registry limit of {NAME_TOTAL_LENGTH_MAX}"
        )
    return Reference(host, path, ref.tag, ref.digest)
