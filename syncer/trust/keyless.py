"""Keyless `verify` rules: a source is copied only when a signature of exactly the digest being
copied was made by the rule's signer (the certificate's SAN and OIDC issuer), with a
certificate from the trust root's CA, logged in its transparency log while the short-lived
certificate was valid. Offline: no request to Fulcio, Rekor or TUF, only to the source.

Both places signatures live are read: cosign's `sha256-<hex>.sig` tag (checked here: that form
carries only a signed entry timestamp, which `sigstore` does not accept alone) and Sigstore
bundles attached as referrers (checked by `sigstore`, `bundle.py`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509

from syncer.containers.pull_sources import Endpoint
from syncer.errors import UsageError
from syncer.imagelist.reference import Reference
from syncer.registry.client import RegistryClient
from syncer.registry.once import OncePerKey
from syncer.trust.anchors import Anchors, BadTrustRoot, load_anchors, looks_like_trust_root
from syncer.trust.bundle import TAMPERED, bundles, check_bundle
from syncer.trust.fulcio import Refused, Signer, check_certificate
from syncer.trust.naming import subject_tag
from syncer.trust.rekor import RekorEntry, check_hashedrekord, check_promise, parse_entry
from syncer.trust.spec import VerifyRule
from syncer.trust.verify import (
    SIGNATURE_ANNOTATION,
    Verdict,
    check_payload,
    signature_layers,
)

CERTIFICATE = "dev.sigstore.cosign/certificate"
REKOR_BUNDLE = "dev.sigstore.cosign/bundle"
NOT_KEYLESS = "the signature carries no certificate (made with a key pair, not keyless)"
PUBLIC_GOOD = "the public-good Sigstore"


def signed_digest(cert: x509.Certificate, signature: bytes, sha256: bytes) -> bool:
    """The certificate's key signed this SHA-256 digest (ECDSA, as cosign signs)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return False
    try:
        key.verify(signature, sha256, ec.ECDSA(Prehashed(hashes.SHA256())))
    except (InvalidSignature, ValueError):
        return False
    return True


def check_logged(cert: x509.Certificate, signature: bytes, sha256: bytes, entry: RekorEntry,
                 anchors: Anchors, signer: Signer) -> str:  # fmt: skip
    """Who signed the digest `sha256`, proven by the log's SET alone; in `sigstore`'s order:
    the certificate at the logged time, the log's promise, the signature, the log entry."""
    check_certificate(cert, anchors, entry.integrated_time, signer)
    check_promise(entry, anchors)
    if not signed_digest(cert, signature, sha256):
        raise Refused(TAMPERED)
    check_hashedrekord(entry, cert, signature, sha256)
    return signer.who(cert)


def check_layer(annotations: dict[str, Any], payload: bytes, anchors: Anchors,
                signer: Signer) -> str:  # fmt: skip
    """Who signed a `.sig` layer's payload, by its annotations. The chain annotation is not
    read: the CA certificates come from the trust root alone, as `sigstore` takes them."""
    pem = annotations.get(CERTIFICATE)
    if not isinstance(pem, str) or not pem:
        raise Refused(NOT_KEYLESS)
    try:
        cert = x509.load_pem_x509_certificate(pem.encode())
        signature = base64.b64decode(
            str(annotations.get(SIGNATURE_ANNOTATION) or ""), validate=True
        )
    except (ValueError, binascii.Error):
        raise Refused("the signature or its certificate cannot be read") from None
    entry = parse_entry(annotations.get(REKOR_BUNDLE))
    return check_logged(cert, signature, hashlib.sha256(payload).digest(), entry, anchors, signer)


class TrustRoots:
    """The trust roots the rules name, each parsed (by `sigstore`, a heavy import: README,
    Performance) when a signature first needs it: a run that copies nothing under a keyless
    rule does without. Shared by the rules, read once a run."""

    def __init__(self) -> None:
        self._once: OncePerKey[str, tuple[Anchors, Any]] = OncePerKey()

    def get(self, path: Path | None, name: str) -> tuple[Anchors, Any]:
        def load() -> tuple[Anchors, Any]:
            from sigstore.verify import Verifier

            anchors = load_anchors(path, name)
            return anchors, Verifier(trusted_root=anchors.root)

        found = self._once.get(str(path), load)
        if found is None:  # load returns or raises: never here
            raise BadTrustRoot(f"{name}: not loaded")
        return found


@dataclass(frozen=True)
class KeylessRule:
    pattern: re.Pattern[str]
    spec: VerifyRule
    signer: Signer
    trust_root: Path | None  # None: the public-good root
    roots: TrustRoots

    @property
    def label(self) -> str:
        return f"keyless: {self.spec.signer()}"

    @property
    def anchors(self) -> Anchors:
        return self.roots.get(self.trust_root, self.spec.trust_root or PUBLIC_GOOD)[0]

    @property
    def verifier(self) -> Any:
        """sigstore's Verifier over the anchors, for bundles."""
        return self.roots.get(self.trust_root, self.spec.trust_root or PUBLIC_GOOD)[1]

    def matches(self, source: Reference) -> bool:
        return self.pattern.search(str(source)) is not None

    def said(self, signer: str) -> str:
        return f"signature verified: signed by {signer.removeprefix('keyless: ')}"

    def check(self, client: RegistryClient, endpoint: Endpoint, source: Reference,
              digest: str) -> Verdict:  # fmt: skip
        """Verified by the first signature that passes, `.sig` layers first, then bundles."""
        try:
            anchors, verifier = self.anchors, self.verifier
        except BadTrustRoot as exc:
            return Verdict(None, f"the trust root cannot be used: {exc}")
        problems: list[str] = []
        for notes, payload in self._signature_layers(client, endpoint, digest):
            try:
                if payload is None:
                    raise Refused("a signature layer cannot be read")
                who = check_layer(notes, payload, anchors, self.signer)
                wrong = check_payload(payload, digest, source)
                if wrong is None:
                    return Verdict(who)
                problems.append(wrong)
            except Refused as exc:
                problems.append(str(exc))
        for data in bundles(client, endpoint, digest):
            try:
                if data is None:
                    raise Refused("a Sigstore bundle cannot be read")
                return Verdict(check_bundle(data, digest, source, self.signer, verifier))
            except Refused as exc:
                problems.append(str(exc))
        if not problems:
            tag = subject_tag(digest)
            return Verdict(None, f"no signature ({tag}.sig not found, no Sigstore bundle referrer)")
        return Verdict(None, "; ".join(dict.fromkeys(problems)))

    @staticmethod
    def _signature_layers(client: RegistryClient, endpoint: Endpoint,
                          digest: str) -> list[tuple[dict[str, Any], bytes | None]]:  # fmt: skip
        manifest = client.manifest_at(endpoint, f"{subject_tag(digest)}.sig")
        return [
            (notes, client.blob(endpoint, layer_digest))
            for notes, layer_digest in signature_layers(manifest)
        ]


def keyless_rule(spec: VerifyRule, root: Path, name: str, roots: TrustRoots) -> KeylessRule:
    """The rule, its trust root looked at (read in full when first needed); exit 2 when it
    cannot be used, or when the `sigstore` package is missing."""
    from importlib.util import find_spec

    where = f"{name} (match {spec.match!r})"
    if find_spec("sigstore") is None:
        raise UsageError(
            f"{where} names a keyless signer: that needs the `sigstore` package "
            "(pip install 'syncer-mirror[keyless]')"
        )
    path = (root / spec.trust_root).expanduser() if spec.trust_root else None
    if path is not None:
        try:
            looks_like_trust_root(path)
        except BadTrustRoot as exc:
            raise UsageError(f"{where}: trust_root: {exc}") from None
    signer = Signer(spec.identity, spec.identity_regex, str(spec.issuer))
    return KeylessRule(re.compile(spec.match), spec, signer, path, roots)
