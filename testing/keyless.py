"""Keyless signatures made with the tests' own Sigstore (`testing/sigstore.py`), in the two
forms images carry them, and pushed with plain distribution API calls:

- cosign's `sha256-<hex>.sig` tag: the simple-signing payload as the layer, the signature, the
  Fulcio certificate and chain, and the Rekor entry with its signed entry timestamp
  (`dev.sigstore.cosign/bundle`) in the layer annotations: a hashedrekord entry;
- a Sigstore bundle (v0.3) attached as an OCI referrer: newer cosign signs a DSSE in-toto
  statement (predicate `https://sigstore.dev/cosign/sign/v1`) whose subject is the image
  digest, logged as a dsse entry with an inclusion proof and a signed checkpoint.

A message-signature bundle of the same hashedrekord entry is made too: `sigstore`'s own CLI
verifies it, which checks the test bed, and syncer's two ways of checking are held to the
same answers with it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from testing.signing import (
    OCI_INDEX,
    OCI_MANIFEST,
    SIGNATURE_ANNOTATION,
    SIMPLE_SIGNING,
    companion_tag,
    push_blob,
    push_manifest,
)
from testing.sigstore import CertificateAuthority, Sigstore
from testing.tlog import LogEntry, b64

BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"
IN_TOTO = "application/vnd.in-toto+json"
COSIGN_SIGN = "https://sigstore.dev/cosign/sign/v1"
EMPTY = "application/vnd.oci.empty.v1+json"
K8S = ("krel-trust@k8s-releng-prod.iam.gserviceaccount.com", "https://accounts.google.com")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _canonical(document: object) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding: what the signature covers."""
    return b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type.encode(), len(payload), payload)


def signature_statement(digest: str, name: str | None = None) -> bytes:
    """cosign's (v3) image signature: an in-toto statement about the image digest."""
    subject: dict[str, Any] = {"digest": {"sha256": digest.split(":", 1)[1]}}
    if name is not None:
        subject["name"] = name
    return json.dumps({"_type": "https://in-toto.io/Statement/v1", "subject": [subject],
                       "predicateType": COSIGN_SIGN, "predicate": {}}).encode()  # fmt: skip


@dataclass(frozen=True)
class Signed:
    """One keyless signature: the leaf certificate, the signature, the log entry and what the
    signature covers (`content`: the bundle's messageSignature or dsseEnvelope)."""

    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    signature: bytes
    entry: LogEntry
    content: dict[str, Any]
    kind: str

    def tlog_entry(self, *, proof: bool = True, promise: bool = True) -> dict[str, Any]:
        e = self.entry
        entry: dict[str, Any] = {
            "logIndex": str(e.index),
            "logId": {"keyId": b64(e.log_id)},
            "kindVersion": {"kind": self.kind, "version": "0.0.1"},
            "integratedTime": str(e.integrated_time),
            "canonicalizedBody": b64(e.body),
        }
        if promise:
            entry["inclusionPromise"] = {"signedEntryTimestamp": b64(e.signed_entry_timestamp)}
        if proof:
            entry["inclusionProof"] = {
                "logIndex": str(e.index), "rootHash": b64(e.root_hash),
                "treeSize": str(e.tree_size), "hashes": [b64(h) for h in e.proof],
                "checkpoint": {"envelope": e.checkpoint},
            }  # fmt: skip
        return entry

    def bundle(self, *, proof: bool = True, logged: bool = True) -> bytes:
        """The Sigstore bundle v0.3 (without `proof`: no inclusion proof, only the SET;
        without `logged`: no log entry at all)."""
        material = {
            "certificate": {"rawBytes": b64(self.certificate.public_bytes(serialization.Encoding.DER))},
            "tlogEntries": [self.tlog_entry(proof=proof)] if logged else [],
        }  # fmt: skip
        return json.dumps(
            {"mediaType": BUNDLE, "verificationMaterial": material, **self.content}
        ).encode()

    def annotations(self, *, logged: bool = True) -> dict[str, str]:
        """cosign's `.sig` layer annotations (without `logged`: no Rekor bundle)."""
        e = self.entry
        rekor = {"SignedEntryTimestamp": b64(e.signed_entry_timestamp),
                 "Payload": {"body": b64(e.body), "integratedTime": e.integrated_time,
                             "logIndex": e.index, "logID": e.log_id.hex()}}  # fmt: skip
        found = {
            SIGNATURE_ANNOTATION: b64(self.signature),
            "dev.sigstore.cosign/certificate": _pem(self.certificate).decode(),
            "dev.sigstore.cosign/chain": b"".join(_pem(c) for c in self.chain).decode(),
        }
        if logged:
            found["dev.sigstore.cosign/bundle"] = json.dumps(rekor)
        return found


def _leaf(sigstore: Sigstore, identity: str, issuer: str, at: datetime,
          ca: CertificateAuthority | None) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate, CertificateAuthority]:  # fmt: skip
    authority = ca or sigstore.ca
    key = ec.generate_private_key(ec.SECP256R1())
    return key, authority.issue(identity, issuer, key.public_key(), at, sigstore.ct_log), authority


def sign_payload(sigstore: Sigstore, payload: bytes, identity: str, issuer: str, *,
                 at: datetime, ca: CertificateAuthority | None = None) -> Signed:  # fmt: skip
    """Sign `payload` as cosign signs an image (a hashedrekord entry), at time `at`."""
    key, cert, authority = _leaf(sigstore, identity, issuer, at, ca)
    signature = key.sign(payload, ec.ECDSA(hashes.SHA256()))
    body = _canonical({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
        "data": {"hash": {"algorithm": "sha256", "value": _sha(payload)}},
        "signature": {"content": b64(signature), "publicKey": {"content": b64(_pem(cert))}}}})  # fmt: skip
    entry = sigstore.rekor.log(body, int((at + timedelta(seconds=30)).timestamp()))
    content = {"messageSignature": {"messageDigest": {"algorithm": "SHA2_256",
               "digest": b64(hashlib.sha256(payload).digest())}, "signature": b64(signature)}}  # fmt: skip
    chain = (authority.intermediate, authority.root)
    return Signed(cert, chain, signature, entry, content, "hashedrekord")


def sign_statement(sigstore: Sigstore, statement: bytes, identity: str, issuer: str, *,
                   at: datetime, ca: CertificateAuthority | None = None) -> Signed:  # fmt: skip
    """Sign an in-toto statement in a DSSE envelope, as newer cosign does (a dsse entry)."""
    key, cert, authority = _leaf(sigstore, identity, issuer, at, ca)
    signature = key.sign(pae(IN_TOTO, statement), ec.ECDSA(hashes.SHA256()))
    envelope = {
        "payload": b64(statement),
        "payloadType": IN_TOTO,
        "signatures": [{"sig": b64(signature)}],
    }
    body = _canonical({"apiVersion": "0.0.1", "kind": "dsse", "spec": {
        "envelopeHash": {"algorithm": "sha256", "value": _sha(_canonical(envelope))},
        "payloadHash": {"algorithm": "sha256", "value": _sha(statement)},
        "signatures": [{"signature": b64(signature), "verifier": b64(_pem(cert))}]}})  # fmt: skip
    entry = sigstore.rekor.log(body, int((at + timedelta(seconds=30)).timestamp()))
    chain = (authority.intermediate, authority.root)
    return Signed(cert, chain, signature, entry, {"dsseEnvelope": envelope}, "dsse")


def push_signature(host: str, repo: str, digest: str, payload: bytes,
                   annotations: dict[str, str]) -> str:  # fmt: skip
    """cosign's keyless `.sig` tag for `digest`; the signature manifest's digest."""
    config = push_blob(host, repo, b"{}")
    layer = {
        "mediaType": SIMPLE_SIGNING,
        **push_blob(host, repo, payload),
        "annotations": annotations,
    }
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": [layer],
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config}}  # fmt: skip
    return push_manifest(host, repo, companion_tag(digest, ".sig"), manifest)


def attach_bundle(host: str, repo: str, digest: str, size: int, bundle: bytes) -> str:
    """A Sigstore bundle as cosign attaches it (its bundle spec): an OCI referrer of `digest`
    with the bundle's artifact type, listed in the referrers tag-schema index."""
    layer = {"mediaType": BUNDLE, **push_blob(host, repo, bundle),
             "annotations": {"org.opencontainers.image.title": f"{companion_tag(digest)}.sigstore.json"}}  # fmt: skip
    manifest = {
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": BUNDLE,
        "config": {"mediaType": EMPTY, **push_blob(host, repo, b"{}")}, "layers": [layer],
        "subject": {"mediaType": OCI_INDEX, "digest": digest, "size": size},
    }  # fmt: skip
    body = json.dumps(manifest, sort_keys=True).encode()
    referrer = push_manifest(host, repo, "sha256:" + _sha(body), manifest)
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": referrer, "size": len(body), "artifactType": BUNDLE}]}  # fmt: skip
    push_manifest(host, repo, companion_tag(digest), index)
    return referrer


def envelope_payload(bundle: bytes) -> bytes:
    return base64.b64decode(json.loads(bundle)["dsseEnvelope"]["payload"])


def sigstore_cli_accepts(trust_config: Path, bundle: bytes, identity: str, issuer: str,
                         signed: bytes | str, folder: Path) -> bool:  # fmt: skip
    """Whether `sigstore`'s own CLI verifies `bundle` offline with this trust config, for
    the file content `signed` (a message signature) or the digest `signed` (a DSSE bundle):
    the check that the test bed makes what real Sigstore clients accept."""
    bundle_path = folder / "bundle.sigstore.json"
    bundle_path.write_bytes(bundle)
    target = signed
    if isinstance(signed, bytes):
        (folder / "signed").write_bytes(signed)
        target = str(folder / "signed")
    done = subprocess.run(
        [sys.executable, "-m", "sigstore", "--trust-config", str(trust_config), "verify",
         "identity", "--offline", "--bundle", str(bundle_path), "--cert-identity", identity,
         "--cert-oidc-issuer", issuer, str(target)],
        capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    return done.returncode == 0
