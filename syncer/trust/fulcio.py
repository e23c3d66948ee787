"""The checks on a keyless signature's certificate, at the time the log says it signed: that it
chains to the trust root's CA ("Fulcio") then, that its embedded SCT verifies with one of the
trust root's CT log keys, that it is a code-signing certificate, and that it names the rule's
signer (SAN) and OIDC issuer.

The same checks and order as `sigstore` 4.x's verifier, with `cryptography` alone: syncer
needs them for cosign's `.sig` form, which `sigstore` cannot verify (it wants an inclusion
proof; that form has only a signed entry timestamp). The signer check is also the policy
handed to `sigstore` for bundles, so both forms judge who signed in the same words.
"""

from __future__ import annotations

import hashlib
import re
import struct
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier

from syncer.trust.anchors import Anchors, key_valid

OIDC_ISSUER = ObjectIdentifier("1.3.6.1.4.1.57264.1.1")  # the issuer as raw bytes
OIDC_ISSUER_V2 = ObjectIdentifier("1.3.6.1.4.1.57264.1.8")  # the same as a DER UTF8String
OTHER_NAME = ObjectIdentifier("1.3.6.1.4.1.57264.1.7")  # Fulcio's own SAN kind

NOT_FROM_CA = "its certificate is not from the trust root's CA (or was not valid when logged)"
NO_SCT = "its certificate has no valid SCT from the trust root's CT log"
NOT_CODE_SIGNING = "its certificate is not a code-signing certificate"


class Refused(Exception):
    """Why a keyless signature does not verify, in the words the record keeps."""


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def verified_chain(cert: x509.Certificate, anchors: Anchors, logged: int) -> list[x509.Certificate]:
    """The chain from `cert`'s issuer to a trust root CA, valid at the logged time."""
    from cryptography.x509.verification import (
        Criticality,
        ExtensionPolicy,
        PolicyBuilder,
        Store,
        VerificationError,
    )

    # Fulcio's leaves are for code signing, not client auth: only the EKU rule is relaxed.
    ca = ExtensionPolicy.webpki_defaults_ca().may_be_present(
        x509.ExtendedKeyUsage, Criticality.NON_CRITICAL, None
    )
    ee = ExtensionPolicy.webpki_defaults_ee().may_be_present(
        x509.ExtendedKeyUsage, Criticality.NON_CRITICAL, None
    )
    verifier = (
        PolicyBuilder()
        .store(Store(anchors.fulcio))
        .time(_utc(logged))
        .extension_policies(ca_policy=ca, ee_policy=ee)
        .build_client_verifier()
    )
    try:
        return list(verifier.verify(cert, []).chain[1:])
    except (VerificationError, x509.UnsupportedGeneralNameType):
        raise Refused(NOT_FROM_CA) from None


def check_sct(cert: x509.Certificate, chain: list[x509.Certificate], anchors: Anchors) -> None:
    """The one embedded SCT, rebuilt as RFC 6962's precertificate entry and checked with the
    CT log key it names."""
    try:
        (sct,) = cert.extensions.get_extension_for_class(
            x509.PrecertificateSignedCertificateTimestamps
        ).value
    except (x509.ExtensionNotFound, ValueError):
        raise Refused(NO_SCT) from None
    if chain and _preissuer(chain[0]):
        chain = chain[1:]
    if not chain or sct.entry_type != x509.certificate_transparency.LogEntryType.PRE_CERTIFICATE:
        raise Refused(NO_SCT)
    issuer_key = (
        chain[0]
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    tbs = cert.tbs_precertificate_bytes
    millis = int(sct.timestamp.replace(tzinfo=timezone.utc).timestamp() * 1000)
    signed = (
        struct.pack("!BBQH", sct.version.value, 0, millis, sct.entry_type.value)
        + hashlib.sha256(issuer_key).digest() + len(tbs).to_bytes(3, "big") + tbs
        + struct.pack("!H", len(sct.extension_bytes)) + sct.extension_bytes
    )  # fmt: skip
    key = anchors.ct_logs.get(sct.log_id)
    if key is None or not key_valid(key, sct.signature, signed):
        raise Refused(NO_SCT)


def _preissuer(cert: x509.Certificate) -> bool:
    try:
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return ExtendedKeyUsageOID.CERTIFICATE_TRANSPARENCY in usage


def check_usage(cert: x509.Certificate) -> None:
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        extended = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        raise Refused(NOT_CODE_SIGNING) from None
    if not usage.digital_signature or ExtendedKeyUsageOID.CODE_SIGNING not in extended:
        raise Refused(NOT_CODE_SIGNING)


def _der_utf8(value: bytes) -> str | None:
    if len(value) < 2 or value[0] != 0x0C:
        return None
    size, start = value[1], 2
    if size & 0x80:
        width = size & 0x7F
        size, start = int.from_bytes(value[2 : 2 + width], "big"), 2 + width
    return value[start : start + size].decode(errors="replace")


def issuers_of(cert: x509.Certificate) -> set[str]:
    """The OIDC issuer the certificate names (both of Fulcio's extensions, when present)."""
    found = set()
    for ext in cert.extensions:
        value: Any = ext.value
        if ext.oid == OIDC_ISSUER:
            found.add(value.value.decode(errors="replace"))
        elif ext.oid == OIDC_ISSUER_V2:
            found.add(_der_utf8(value.value) or "")
    return found


def identities_of(cert: x509.Certificate) -> list[str]:
    """The SANs sigstore counts as the signer: emails, URIs and Fulcio's other names."""
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    found = [*names.get_values_for_type(x509.RFC822Name),
             *names.get_values_for_type(x509.UniformResourceIdentifier)]  # fmt: skip
    found += [o.value.decode(errors="replace") for o in names.get_values_for_type(x509.OtherName)
              if o.type_id == OTHER_NAME]  # fmt: skip
    return found


@dataclass(frozen=True)
class Signer:
    """The rule's signer, as a policy: `sigstore`'s verifier calls `verify(cert)` too."""

    identity: str | None
    identity_regex: str | None
    issuer: str

    def wanted(self) -> str:
        return self.identity if self.identity is not None else f"/{self.identity_regex}/"

    def verify(self, cert: x509.Certificate) -> None:
        issuers = issuers_of(cert)
        if issuers != {self.issuer}:
            found = " and ".join(sorted(issuers)) or "no issuer"
            raise Refused(f"signed through another issuer: {found}, not {self.issuer}")
        names = identities_of(cert)
        if not any(self._matches(n) for n in names):
            found = ", ".join(names) or "no identity"
            raise Refused(f"signed by another identity: {found}, not {self.wanted()}")

    def _matches(self, name: str) -> bool:
        if self.identity is not None:
            return name == self.identity
        return re.search(str(self.identity_regex), name) is not None

    def who(self, cert: x509.Certificate) -> str:
        """Who signed, as the record says it: the matching SAN and the issuer."""
        name = next((n for n in identities_of(cert) if self._matches(n)), self.wanted())
        return f"keyless: {name} ({self.issuer})"


def check_certificate(cert: x509.Certificate, anchors: Anchors, logged: int,
                      signer: Signer) -> None:  # fmt: skip
    """Everything about the certificate, in `sigstore`'s order: the chain (the leaf valid at
    the logged time), the SCT, the usage, the signer."""
    chain = verified_chain(cert, anchors, logged)
    check_sct(cert, chain, anchors)
    check_usage(cert)
    signer.verify(cert)
