"""A Sigstore of the tests' own, made with `cryptography`: a CA ("Fulcio": root and
intermediate) issuing short-lived leaf certificates that name a signer (SAN and the OIDC
issuer extensions) and carry an embedded SCT from a test CT log; a transparency log
("Rekor": an RFC 6962 tree, signed checkpoints and signed entry timestamps); and the
trusted_root.json / client trust config naming them, as Sigstore's protobuf-specs define them.

The formats are the public ones (RFC 6962 for SCTs; the log is `testing/tlog.py`);
`testing/keyless.py` signs with them.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from testing.tlog import TransparencyLog, b64, key_id

OIDC_ISSUER = ObjectIdentifier("1.3.6.1.4.1.57264.1.1")  # raw bytes; what sigstore reads
OIDC_ISSUER_V2 = ObjectIdentifier("1.3.6.1.4.1.57264.1.8")  # a DER UTF8String, the newer one
SCT_LIST = ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")
TRUSTED_ROOT = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
TRUST_CONFIG = "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json"
SIGNING_CONFIG = "application/vnd.dev.sigstore.signingconfig.v0.2+json"
Key = ec.EllipticCurvePrivateKey


def spki(key: Key) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _der(tag: int, content: bytes) -> bytes:
    n = len(content)
    length = bytes([n]) if n < 0x80 else bytes([0x80 | 2]) + n.to_bytes(2, "big")
    return bytes([tag]) + length + content


def iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "syncer-tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


@dataclass
class CTLog:
    """A certificate transparency log: it only signs SCTs (RFC 6962, section 3.2)."""

    key: Key = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))

    def sct_extension(self, tbs: bytes, issuer: Key, when: datetime) -> x509.UnrecognizedExtension:
        """The embedded SCT list for a precertificate whose TBS (without this extension) is
        `tbs`, issued by `issuer`."""
        millis = int(when.timestamp() * 1000)
        entry = hashlib.sha256(spki(issuer)).digest() + len(tbs).to_bytes(3, "big") + tbs
        signed = struct.pack("!BBQH", 0, 0, millis, 1) + entry + struct.pack("!H", 0)
        signature = self.key.sign(signed, ec.ECDSA(hashes.SHA256()))
        sct = (
            struct.pack("!B", 0) + key_id(self.key) + struct.pack("!QH", millis, 0)
            + struct.pack("!BBH", 4, 3, len(signature)) + signature
        )  # fmt: skip
        listed = struct.pack("!H", len(sct)) + sct
        return x509.UnrecognizedExtension(
            SCT_LIST, _der(0x04, struct.pack("!H", len(listed)) + listed)
        )


@dataclass
class CertificateAuthority:
    """Fulcio's part: a root, an intermediate, and leaves that name who signed."""

    name: str = "test-fulcio"
    not_before: datetime = field(
        default_factory=lambda: datetime.now(timezone.utc) - timedelta(days=1)
    )

    def __post_init__(self) -> None:
        self.root_key = ec.generate_private_key(ec.SECP256R1())
        self.intermediate_key = ec.generate_private_key(ec.SECP256R1())
        self.root = self._ca(_name(f"{self.name} root"), self.root_key, self.root_key, None, 1)
        self.intermediate = self._ca(
            _name(f"{self.name} intermediate"), self.intermediate_key, self.root_key, self.root, 0
        )

    def _ca(self, subject: x509.Name, key: Key, signer: Key, parent: x509.Certificate | None,
            path_length: int) -> x509.Certificate:  # fmt: skip
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(parent.subject if parent else subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self.not_before)
            .not_valid_after(self.not_before + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
            .add_extension(_key_usage(cert_sign=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), False
            )
        )
        if parent is not None:  # Fulcio's intermediate is for code signing only
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False
            )
        return builder.sign(signer, hashes.SHA256())

    def issue(self, identity: str, issuer: str, public_key: ec.EllipticCurvePublicKey,
              not_before: datetime, ct_log: CTLog) -> x509.Certificate:  # fmt: skip
        """A ten-minute leaf for `identity` (an email, or a URI such as a GitHub workflow)
        through OIDC `issuer`, with its SCT embedded as Fulcio does."""
        name: x509.GeneralName = (
            x509.UniformResourceIdentifier(identity)
            if "://" in identity
            else x509.RFC822Name(identity)
        )
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([]))
            .issuer_name(self.intermediate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_before + timedelta(minutes=10))
            .add_extension(_key_usage(cert_sign=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    self.intermediate_key.public_key()
                ),
                False,
            )
            .add_extension(x509.SubjectAlternativeName([name]), critical=True)
            .add_extension(x509.UnrecognizedExtension(OIDC_ISSUER, issuer.encode()), False)
            .add_extension(
                x509.UnrecognizedExtension(OIDC_ISSUER_V2, _der(0x0C, issuer.encode())), False
            )
        )
        precertificate = builder.sign(self.intermediate_key, hashes.SHA256())
        sct = ct_log.sct_extension(
            precertificate.tbs_certificate_bytes, self.intermediate_key, not_before
        )
        leaf = builder.add_extension(sct, critical=False).sign(
            self.intermediate_key, hashes.SHA256()
        )
        # The SCT signed exactly what a verifier rebuilds from the leaf.
        assert leaf.tbs_precertificate_bytes == precertificate.tbs_certificate_bytes
        return leaf

    def authority(self) -> dict[str, object]:
        """This CA as a trusted_root.json `certificateAuthorities` entry (leaf to root)."""
        return {
            "subject": {"organization": "syncer-tests", "commonName": self.name},
            "uri": f"https://{self.name}.test",
            "certChain": {"certificates": [
                {"rawBytes": b64(c.public_bytes(serialization.Encoding.DER))}
                for c in (self.intermediate, self.root)
            ]},
            "validFor": {"start": iso(self.not_before)},
        }  # fmt: skip


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=cert_sign,
        crl_sign=cert_sign, encipher_only=False, decipher_only=False,
    )  # fmt: skip


def _log_instance(key: Key, url: str, start: datetime) -> dict[str, object]:
    return {
        "baseUrl": url,
        "hashAlgorithm": "SHA2_256",
        "publicKey": {"rawBytes": b64(spki(key)), "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                      "validFor": {"start": iso(start)}},
        "logId": {"keyId": b64(key_id(key))},
    }  # fmt: skip


@dataclass
class Sigstore:
    """The three services and the trust root that names them."""

    ca: CertificateAuthority = field(default_factory=CertificateAuthority)
    ct_log: CTLog = field(default_factory=CTLog)
    rekor: TransparencyLog = field(default_factory=TransparencyLog)

    def trusted_root(self) -> dict[str, object]:
        start = self.ca.not_before
        return {
            "mediaType": TRUSTED_ROOT,
            "tlogs": [_log_instance(self.rekor.key, "https://rekor.test", start)],
            "certificateAuthorities": [self.ca.authority()],
            "ctlogs": [_log_instance(self.ct_log.key, "https://ctfe.test", start)],
            "timestampAuthorities": [],
        }

    def write_trusted_root(self, path: Path) -> Path:
        path.write_text(json.dumps(self.trusted_root(), indent=2))
        return path

    def write_trust_config(self, path: Path) -> Path:
        """The client trust config `sigstore --trust-config` reads: the trusted root and a
        signing config (never used here: nothing is signed through these URLs)."""
        start = {"start": iso(self.ca.not_before)}
        service = {"majorApiVersion": 1, "validFor": start, "operator": "syncer-tests"}
        signing = {
            "mediaType": SIGNING_CONFIG,
            "caUrls": [{"url": "https://fulcio.test", **service}],
            "oidcUrls": [{"url": "https://oauth2.test/auth", **service}],
            "rekorTlogUrls": [{"url": "https://rekor.test", **service}],
            "tsaUrls": [],
            "rekorTlogConfig": {"selector": "ANY"},
            "tsaConfig": {"selector": "ANY"},
        }
        config = {"mediaType": TRUST_CONFIG, "trustedRoot": self.trusted_root(),
                  "signingConfig": signing}  # fmt: skip
        path.write_text(json.dumps(config, indent=2))
        return path
