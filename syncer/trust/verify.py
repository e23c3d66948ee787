"""Verify before mirroring: a source matched by a `verify` rule is copied only when one of its
cosign signatures (`sha256-<hex>.sig`) verifies with the rule's public key, over the
simple-signing payload, for exactly the digest being copied and the source's repository.

The cryptography is the `cryptography` package's (ECDSA with SHA-256, as cosign signs with a
key pair).
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syncer.containers.pull_sources import Endpoint
from syncer.errors import UsageError
from syncer.imagelist.reference import InvalidReference, Reference, parse_normalized
from syncer.registry.client import RegistryClient
from syncer.trust.naming import subject_tag

SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str]
    label: str  # the key's path as syncer.yaml names it (the record never holds this machine's)
    key: Any  # a cryptography public key

    def matches(self, source: Reference) -> bool:
        return self.pattern.search(str(source)) is not None


def load_rules(config_rules: tuple[tuple[str, str], ...], root: Path) -> list[Rule]:
    """The `verify` rules with their keys read; a key that cannot be used is exit 2."""
    if not config_rules:
        return []
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    rules = []
    for match, key_path in config_rules:
        path = (root / key_path).expanduser()
        try:
            key = load_pem_public_key(path.read_bytes())
        except OSError as exc:
            raise UsageError(f"verify: key {path}: cannot read: {exc.strerror}") from None
        except ValueError:
            raise UsageError(f"verify: key {path}: not a PEM public key") from None
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise UsageError(f"verify: key {path}: not an ECDSA public key (cosign's kind)")
        rules.append(Rule(re.compile(match), key_path, key))
    return rules


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
    client: RegistryClient, endpoint: Endpoint, source: Reference, digest: str, rule: Rule
) -> str | None:
    """None when a signature of `digest` verifies with the rule's key; else why not."""
    manifest = client.manifest_at(endpoint, f"{subject_tag(digest)}.sig")
    if manifest is None:
        return f"no signature ({subject_tag(digest)}.sig not found)"
    problems = []
    for layer in manifest.body.get("layers") or []:
        if not isinstance(layer, dict) or layer.get("mediaType") != SIMPLE_SIGNING:
            continue
        signature = (layer.get("annotations") or {}).get(SIGNATURE_ANNOTATION)
        response = client.get(endpoint, f"blobs/{layer.get('digest')}")
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
