"""The transparency-log proof of cosign's `.sig` form: the Rekor entry in the layer annotation
`dev.sigstore.cosign/bundle` (`{"SignedEntryTimestamp", "Payload": {"body", "integratedTime",
"logIndex", "logID"}}`), checked offline: the signed entry timestamp (SET) verifies with the
trust root's key for that log over the canonical JSON of the entry (RFC 8785; for these four
keys, sorted compact JSON), and the logged hashedrekord entry is this signature by this
certificate over this payload's digest.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from syncer.trust.anchors import Anchors, key_valid
from syncer.trust.fulcio import Refused

NO_LOG_PROOF = "no transparency-log proof"
BAD_LOG_PROOF = "its transparency-log proof does not verify with the trust root's log keys"
OTHER_ENTRY = "its log entry is for another signature, certificate or payload"


@dataclass(frozen=True)
class RekorEntry:
    signed_entry_timestamp: bytes
    body: bytes  # the canonicalized entry, as logged
    integrated_time: int
    log_index: int
    log_id: bytes

    def canonical(self) -> bytes:
        """What the SET signs."""
        return json.dumps(
            {"body": base64.b64encode(self.body).decode(), "integratedTime": self.integrated_time,
             "logID": self.log_id.hex(), "logIndex": self.log_index},
            sort_keys=True, separators=(",", ":"),
        ).encode()  # fmt: skip


def parse_entry(annotation: str | None) -> RekorEntry:
    """cosign's Rekor bundle annotation; Refused(NO_LOG_PROOF) when absent or unreadable."""
    if not annotation:
        raise Refused(NO_LOG_PROOF)
    try:
        document = json.loads(annotation)
        logged = document["Payload"]
        return RekorEntry(
            base64.b64decode(document["SignedEntryTimestamp"], validate=True),
            base64.b64decode(logged["body"], validate=True),
            int(logged["integratedTime"]),
            int(logged["logIndex"]),
            bytes.fromhex(logged["logID"]),
        )
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise Refused(NO_LOG_PROOF) from None


def check_promise(entry: RekorEntry, anchors: Anchors) -> None:
    """The SET, with the trust root's key for the log the entry names."""
    key = anchors.rekor_logs.get(entry.log_id)
    if key is None or not key_valid(key, entry.signed_entry_timestamp, entry.canonical()):
        raise Refused(BAD_LOG_PROOF)


def check_hashedrekord(entry: RekorEntry, cert: x509.Certificate, signature: bytes,
                       sha256: bytes) -> None:  # fmt: skip
    """The logged entry is a hashedrekord of exactly this signature, certificate and digest
    (else a real log entry could vouch for another signature: CVE-2022-36056's kind)."""
    from cryptography.hazmat.primitives import serialization

    try:
        body: Any = json.loads(entry.body)
        spec = body["spec"]
        logged_hash = spec["data"]["hash"]
        logged_signature = base64.b64decode(spec["signature"]["content"])
        logged_cert = x509.load_pem_x509_certificate(
            base64.b64decode(spec["signature"]["publicKey"]["content"])
        )
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise Refused(OTHER_ENTRY) from None
    same = (
        body.get("kind") == "hashedrekord"
        and body.get("apiVersion") == "0.0.1"
        and logged_hash.get("algorithm") == "sha256"
        and logged_hash.get("value") == sha256.hex()
        and logged_signature == signature
        and logged_cert.public_bytes(serialization.Encoding.DER)
        == cert.public_bytes(serialization.Encoding.DER)
    )
    if not same:
        raise Refused(OTHER_ENTRY)
