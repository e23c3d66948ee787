"""The referrer form of a keyless signature: a Sigstore bundle (v0.3) attached to the image as
an OCI referrer (artifact type `application/vnd.dev.sigstore.bundle.v0.3+json`, cosign's
bundle spec), found through the referrers API where the source offers it, else the referrers
tag schema `sha256-<hex>` index, as companions are found.

`sigstore`'s own verifier checks it offline against the rule's trust root (chain at the
logged time, SCT, the rule's signer as policy, the inclusion proof and its signed checkpoint,
the SET, the signature); then syncer checks what was signed: newer cosign signs a DSSE
in-toto statement (predicate `https://sigstore.dev/cosign/sign/v1`) whose subject is the image
digest, and a message-signature bundle must sign the image digest itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from syncer.containers.pull_sources import Endpoint
from syncer.imagelist.reference import InvalidReference, Reference, parse_normalized
from syncer.registry.client import RegistryClient
from syncer.trust.fulcio import NO_SCT, NOT_CODE_SIGNING, NOT_FROM_CA, Refused, Signer
from syncer.trust.naming import subject_tag
from syncer.trust.rekor import BAD_LOG_PROOF, NO_LOG_PROOF, OTHER_ENTRY

BUNDLE_TYPES = (
    "application/vnd.dev.sigstore.bundle.v0.3+json",
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
)
IN_TOTO = "application/vnd.in-toto+json"
COSIGN_SIGN = "https://sigstore.dev/cosign/sign/v1"
TAMPERED = "the signature does not match what it signs (tampered?)"
EXPIRED = "its certificate was not valid when the signature was logged"

# sigstore's messages, by the step that failed, to the words both forms use.
_WORDS = (
    ("certificate chain", NOT_FROM_CA),
    ("SCT", NO_SCT),
    ("usage", NOT_CODE_SIGNING),
    ("invalid log entry", BAD_LOG_PROOF),
    ("inclusion proof", NO_LOG_PROOF),
    ("inclusionProof", NO_LOG_PROOF),
    ("tlogEntries", NO_LOG_PROOF),
    ("inclusion promise", NO_LOG_PROOF),
    ("log entry in bundle", NO_LOG_PROOF),
    ("verified time", NO_LOG_PROOF),
    ("expired at time of signing", EXPIRED),
    ("invalid signature", TAMPERED),
    ("Signature is invalid", TAMPERED),
    ("inconsistent with other materials", OTHER_ENTRY),
    ("does not match bundle", OTHER_ENTRY),
)


def _words(error: Exception) -> str:
    text = str(error)
    first = text.splitlines()[0] if text else type(error).__name__
    return next((w for part, w in _WORDS if part in text), f"the bundle does not verify: {first}")


def _referrers(client: RegistryClient, endpoint: Endpoint, digest: str) -> list[dict[str, Any]]:
    """The image's referrers: the API's answer, else the tag-schema index (none: [])."""
    response = client.get(endpoint, f"referrers/{digest}")
    listed: Any = None
    if response is not None and response.status_code == 200:
        try:
            listed = response.json()
        except ValueError:
            listed = None
    if not isinstance(listed, dict):
        index = client.manifest_at(endpoint, subject_tag(digest))
        listed = index.body if index is not None else {}
    entries = listed.get("manifests")
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def bundles(client: RegistryClient, endpoint: Endpoint, digest: str) -> Iterator[bytes | None]:
    """Each Sigstore bundle attached to `digest` (None: one that cannot be read)."""
    for entry in _referrers(client, endpoint, digest):
        if entry.get("artifactType") not in BUNDLE_TYPES or not isinstance(
            entry.get("digest"), str
        ):
            continue
        manifest = client.manifest_at(endpoint, entry["digest"])
        layers = (manifest.body.get("layers") if manifest else None) or []
        layer = next((x for x in layers if isinstance(x, dict) and x.get("mediaType") in BUNDLE_TYPES), None)  # fmt: skip
        yield client.blob(endpoint, str(layer.get("digest"))) if layer else None


def check_statement(payload_type: str, payload: bytes, digest: str, source: Reference) -> None:
    """The signed statement is cosign's image signature of exactly `digest` (and, when its
    subject has a name, of the source's repository)."""
    if payload_type != IN_TOTO:
        raise Refused(f"the bundle signs {payload_type}, not an in-toto statement")
    try:
        statement = json.loads(payload)
        predicate = statement.get("predicateType")
        subjects = [s for s in statement.get("subject") or [] if isinstance(s, dict)]
    except (ValueError, AttributeError, TypeError):
        raise Refused("the bundle's statement cannot be read") from None
    if predicate != COSIGN_SIGN:
        raise Refused(f"the bundle is an attestation ({predicate}), not an image signature")
    wanted = digest.split(":", 1)[1]
    named = [s for s in subjects if (s.get("digest") or {}).get("sha256") == wanted]
    if not named:
        found = ", ".join(f"sha256:{(s.get('digest') or {}).get('sha256')}" for s in subjects)
        raise Refused(f"the signature is for {found or 'no digest'}, not {digest}")
    name = str(named[0].get("name") or "")
    if name and _repository(name) != source.name:
        raise Refused(f"the signature is for {name}, not {source.name}")


def _repository(name: str) -> str:
    try:
        return parse_normalized(name).name
    except InvalidReference:
        return name


def _verify_message(verifier: Any, hashed: Any, bundle: Any, signer: Signer, digest: str) -> None:
    """A message-signature bundle signs the image digest itself."""
    from sigstore.errors import Error

    try:
        verifier.verify_artifact(hashed, bundle, signer)
    except Error as exc:
        if "digest mismatch" not in str(exc):
            raise
        raise Refused(f"the signature is for another digest, not {digest}") from None


def check_bundle(data: bytes, digest: str, source: Reference, signer: Signer, verifier: Any) -> str:
    """Who signed `digest`, by the bundle in `data`; else Refused, saying why."""
    from sigstore.errors import Error
    from sigstore.hashes import Hashed
    from sigstore.models import Bundle
    from sigstore_models.common.v1 import HashAlgorithm

    if not digest.startswith("sha256:"):
        raise Refused(f"{digest}: only sha256 digests are checked")
    try:
        dsse = "dsseEnvelope" in json.loads(data)
        bundle = Bundle.from_json(data)
        if dsse:
            payload_type, payload = verifier.verify_dsse(bundle, signer)
            check_statement(payload_type, payload, digest, source)
        else:
            hashed = Hashed(algorithm=HashAlgorithm.SHA2_256, digest=bytes.fromhex(digest[7:]))
            _verify_message(verifier, hashed, bundle, signer, digest)
    except (Error, ValueError, TypeError) as exc:
        raise Refused(_words(exc)) from None
    return signer.who(bundle.signing_certificate)
