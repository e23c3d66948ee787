"""Verify before mirroring: a source matched by a `verify` rule is copied only when one of its
signatures verifies, for exactly the digest being copied and the source's repository. A key
rule wants a cosign signature (`sha256-<hex>.sig`) made with its key pair, over the
simple-signing payload; a keyless rule wants its signer (`keyless.py`).

The cryptography is the `cryptography` package's (ECDSA with SHA-256, as cosign signs with a
key pair).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from syncer.containers.pull_sources import Endpoint
from syncer.errors import UsageError
from syncer.imagelist.reference import InvalidReference, Reference, parse_normalized
from syncer.registry.client import RegistryClient
from syncer.registry.manifest import Manifest
from syncer.trust.naming import subject_tag
from syncer.trust.spec import VerifyRule

SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"


@dataclass(frozen=True)
class Verdict:
    signer: str | None  # who signed, as the record names it; None: not verified
    why: str = ""  # why not, in words


class Rule(Protocol):
    @property
    def label(self) -> str: ...  # the rule in words (never a path of this machine)

    def matches(self, source: Reference) -> bool: ...

    def said(self, signer: str) -> str: ...  # the plan's words for a verified signature

    def check(
        self, client: RegistryClient, endpoint: Endpoint, source: Reference, digest: str
    ) -> Verdict: ...


@dataclass(frozen=True)
class KeyRule:
    pattern: re.Pattern[str]
    label: str  # the key's path as syncer.yaml names it (the record never holds this machine's)
    key: Any  # a cryptography public key

    def matches(self, source: Reference) -> bool:
        return self.pattern.search(str(source)) is not None

    def said(self, signer: str) -> str:
        return f"signature verified with {signer}"

    def check(
        self, client: RegistryClient, endpoint: Endpoint, source: Reference, digest: str
    ) -> Verdict:
        why = verify(client, endpoint, source, digest, self)
        return Verdict(self.label) if why is None else Verdict(None, why)


def load_rules(specs: Sequence[VerifyRule], root: Path) -> list[Rule]:
    """The `verify` rules with their keys and trust roots read; one that cannot be used is
    exit 2 (a keyless rule without the `sigstore` package installed too)."""
    rules: list[Rule] = []
    roots: Any = None  # the keyless rules' trust roots, shared
    for n, spec in enumerate(specs, 1):
        if spec.keyless:
            from syncer.trust.keyless import TrustRoots, keyless_rule

            roots = roots or TrustRoots()
            rules.append(keyless_rule(spec, root, f"verify rule {n}", roots))
        else:
            rules.append(_key_rule(spec.match, str(spec.key), root))
    return rules


def _key_rule(match: str, key_path: str, root: Path) -> KeyRule:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    path = (root / key_path).expanduser()
    try:
        key = load_pem_public_key(path.read_bytes())
    except OSError as exc:
        raise UsageError(f"verify: key {path}: cannot read: {exc.strerror}") from None
    except ValueError:
        raise UsageError(f"verify: key {path}: not a PEM public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise UsageError(f"verify: key {path}: not an ECDSA public key (cosign's kind)")
    return KeyRule(re.compile(match), key_path, key)


def signature_layers(manifest: Manifest | None) -> list[tuple[dict[str, Any], str]]:
    """The simple-signing layers of a `.sig` manifest: (annotations, blob digest)."""
    layers = (manifest.body.get("layers") if manifest is not None else None) or []
    return [
        (dict(layer.get("annotations") or {}), str(layer.get("digest")))
        for layer in layers
        if isinstance(layer, dict) and layer.get("mediaType") == SIMPLE_SIGNING
    ]


def check_payload(payload: bytes, digest: str, source: Reference) -> str | None:
    """What is wrong with a simple-signing payload for this digest and source, or None."""
    try:
        critical = json.loads(payload)["critical"]
        signed_digest = critical["image"]["docker-manifest-digest"]
        signed_reference = critical["identity"]["docker-reference"]
    except (ValueError, KeyError, TypeError):
        return "the signature's payload is not a simple-signing document"
    if signed_digest != digest:
        return f"the signature is for {signed_digest}, not {digest}"
    try:
        signed_name = parse_normalized(str(signed_reference)).name
    except InvalidReference:
        signed_name = str(signed_reference)
    if signed_name != source.name:
        return f"the signature is for {signed_reference}, not {source.name}"
    return None


def signature_valid(key: Any, payload: bytes, signature_b64: str) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        key.verify(base64.b64decode(signature_b64), payload, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


def verify(
    client: RegistryClient, endpoint: Endpoint, source: Reference, digest: str, rule: KeyRule
) -> str | None:
    """None when a signature of `digest` verifies with the rule's key; else why not."""
    manifest = client.manifest_at(endpoint, f"{subject_tag(digest)}.sig")
    if manifest is None:
        return f"no signature ({subject_tag(digest)}.sig not found)"
    problems = []
    for notes, blob in signature_layers(manifest):
        signature = notes.get(SIGNATURE_ANNOTATION)
        response = client.get(endpoint, f"blobs/{blob}")
        if not signature or response is None or response.status_code != 200:
            problems.append("a signature layer cannot be read")
            continue
        payload = response.content
        if not signature_valid(rule.key, payload, str(signature)):
            problems.append(f"signed by another key than {rule.label}")
            continue
        wrong = check_payload(payload, digest, source)
        if wrong is None:
            return None
        problems.append(wrong)
    return "; ".join(dict.fromkeys(problems)) or "no simple-signing signature in the .sig manifest"
