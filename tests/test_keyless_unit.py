"""Keyless verification without registries: syncer's own check of cosign's `.sig` form (a
SET, no inclusion proof) held to the same answers as `sigstore`'s verifier on the same
signatures, what a bundle's statement must say, and the public-good
Sigstore's own bundles (tests/data/README.md) against the trusted root `sigstore` ships.

Signatures are made by the tests' Sigstore (`testing/sigstore.py`) an hour before the test:
the ten-minute certificates have expired, as on real images, and are judged at the logged
time.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from syncer.imagelist.reference import parse_normalized
from syncer.trust.bundle import check_bundle, check_statement
from syncer.trust.fulcio import Refused, Signer
from syncer.trust.keyless import KeylessRule, check_layer, check_logged
from syncer.trust.rekor import RekorEntry
from syncer.trust.spec import VerifyRule
from syncer.trust.verify import load_rules
from testing.keyless import K8S, Signed, sign_payload, sign_statement, signature_statement
from testing.signing import simple_signing_payload
from testing.sigstore import CertificateAuthority, Sigstore

DATA = Path(__file__).parent / "data" / "sigstore"
A = "sha256:" + "a" * 64
B = "sha256:" + "b" * 64
ALPINE = parse_normalized("alpine:3.19")
WHL = "sha256:c4e92e9ecc828bef2aa7dba1de8ac983511f7532a0df11c770d39099a25cf201"
PYTHON = "sha256:38dc4e2c261d49c661196066edbfb70fdb16be4a79cc8220c224dfeb5636d405"
RFC8785 = "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2"
ACTIONS = "https://token.actions.githubusercontent.com"


# --- the two paths, held to the same answers ------------------------------------------------


@pytest.fixture(scope="module")
def bed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Sigstore, KeylessRule]:
    sigstore = Sigstore()
    folder = tmp_path_factory.mktemp("sigstore")
    sigstore.write_trusted_root(folder / "trusted_root.json")
    spec = VerifyRule("alpine", identity=K8S[0], issuer=K8S[1], trust_root="trusted_root.json")
    rule = load_rules([spec], folder)[0]
    assert isinstance(rule, KeylessRule)
    return sigstore, rule


AN_HOUR_AGO = datetime.now(timezone.utc) - timedelta(hours=1)
OTHER_CA = CertificateAuthority("another-fulcio")


def _signed(sigstore: Sigstore, case: str, payload: bytes) -> Signed:
    identity, issuer = K8S
    if case == "another identity":
        identity = "someone@example.com"
    if case == "another issuer":
        issuer = "https://issuer.example.com"
    ca = OTHER_CA if case == "another CA" else None
    return sign_payload(sigstore, payload, identity, issuer, at=AN_HOUR_AGO, ca=ca)


def _legacy(signed: Signed, payload: bytes, rule: KeylessRule) -> str:
    try:
        return check_layer(signed.annotations(), payload, rule.anchors, rule.signer)
    except Refused as exc:
        return f"refused: {exc}"


def _sigstore(signed: Signed, payload: bytes, rule: KeylessRule) -> str:
    digest = "sha256:" + hashlib.sha256(payload).hexdigest()
    try:
        return check_bundle(signed.bundle(), digest, ALPINE, rule.signer, rule.verifier)
    except Refused as exc:
        return f"refused: {exc}"


@pytest.mark.parametrize(
    ("case", "answer"),
    [
        ("right signer", f"keyless: {K8S[0]} ({K8S[1]})"),
        ("another identity", f"refused: signed by another identity: someone@example.com, not {K8S[0]}"),
        ("another issuer", f"refused: signed through another issuer: https://issuer.example.com, not {K8S[1]}"),
        ("another CA", "refused: its certificate is not from the trust root's CA"),
        ("tampered", "refused: the signature does not match what it signs"),
    ],
)  # fmt: skip
def test_syncer_and_sigstore_give_the_same_answer(
    bed: tuple[Sigstore, KeylessRule], case: str, answer: str
) -> None:
    """The same signature, logged once: cosign's `.sig` annotations checked by syncer, the
    message-signature bundle of that log entry checked by `sigstore`."""
    sigstore, rule = bed
    payload = simple_signing_payload("docker.io/library/alpine", A)
    signed = _signed(sigstore, case, payload)
    if case == "tampered":
        payload = simple_signing_payload("docker.io/library/alpine", B)
    legacy, bundled = _legacy(signed, payload, rule), _sigstore(signed, payload, rule)
    assert legacy.startswith(answer), legacy
    if case == "tampered":  # sigstore first finds the bundle signs another digest
        assert bundled.startswith("refused: the signature is for another digest"), bundled
    else:
        assert bundled == legacy


def test_without_a_log_proof_neither_way_accepts(bed: tuple[Sigstore, KeylessRule]) -> None:
    sigstore, rule = bed
    payload = simple_signing_payload("docker.io/library/alpine", A)
    signed = sign_payload(sigstore, payload, *K8S, at=AN_HOUR_AGO)
    with pytest.raises(Refused, match="no transparency-log proof"):
        check_layer(signed.annotations(logged=False), payload, rule.anchors, rule.signer)
    for bundle in (signed.bundle(proof=False), signed.bundle(logged=False)):
        with pytest.raises(Refused, match="no transparency-log proof"):
            check_bundle(bundle, "sha256:" + hashlib.sha256(payload).hexdigest(), ALPINE,
                         rule.signer, rule.verifier)  # fmt: skip


def test_a_forged_set_and_a_log_entry_for_another_signature_are_refused(
    bed: tuple[Sigstore, KeylessRule],
) -> None:
    sigstore, rule = bed
    payload = simple_signing_payload("docker.io/library/alpine", A)
    signed = sign_payload(sigstore, payload, *K8S, at=AN_HOUR_AGO)
    notes = signed.annotations()
    rekor = json.loads(notes["dev.sigstore.cosign/bundle"])
    forged = dict(notes, **{"dev.sigstore.cosign/bundle": json.dumps(
        {**rekor, "Payload": {**rekor["Payload"], "integratedTime": rekor["Payload"]["integratedTime"] + 1}})})  # fmt: skip
    with pytest.raises(Refused, match="proof does not verify"):
        check_layer(forged, payload, rule.anchors, rule.signer)
    # A real entry of the log, but for another signature by the same signer.
    other = sign_payload(sigstore, payload, *K8S, at=AN_HOUR_AGO)
    swapped = dict(
        other.annotations(), **{"dev.sigstore.cosign/bundle": notes["dev.sigstore.cosign/bundle"]}
    )
    with pytest.raises(Refused, match="for another signature"):
        check_layer(swapped, payload, rule.anchors, rule.signer)


def test_a_key_pair_signature_is_not_keyless(bed: tuple[Sigstore, KeylessRule]) -> None:
    _, rule = bed
    with pytest.raises(Refused, match="no certificate"):
        check_layer(
            {"dev.cosignproject.cosign/signature": "c2ln"}, b"{}", rule.anchors, rule.signer
        )


def test_an_identity_regex_names_who_signed(bed: tuple[Sigstore, KeylessRule]) -> None:
    sigstore, rule = bed
    workflow = "https://github.com/my-org/app/.github/workflows/release.yml@refs/tags/v1.2.0"
    statement = signature_statement(A, "ghcr.io/my-org/app")
    signed = sign_statement(sigstore, statement, workflow, ACTIONS, at=AN_HOUR_AGO)
    pattern = r"^https://github\.com/my-org/.+/\.github/workflows/release\.yml@refs/tags/v"
    signer = Signer(None, pattern, ACTIONS)
    source = parse_normalized("ghcr.io/my-org/app:1.2.0")
    assert (
        check_bundle(signed.bundle(), A, source, signer, rule.verifier)
        == f"keyless: {workflow} ({ACTIONS})"
    )
    with pytest.raises(Refused, match="another identity"):
        check_bundle(
            signed.bundle(),
            A,
            source,
            Signer(None, "^https://github.com/else/", ACTIONS),
            rule.verifier,
        )


# --- what a bundle's statement must say ------------------------------------------------------


def _statement(**fields: Any) -> bytes:
    statement = json.loads(signature_statement(A))
    statement.update(fields)
    return json.dumps(statement).encode()


def test_cosign_v3s_statement_without_a_subject_name_names_the_digest() -> None:
    check_statement("application/vnd.in-toto+json", signature_statement(A), A, ALPINE)
    check_statement("application/vnd.in-toto+json", signature_statement(A, "alpine"), A, ALPINE)


@pytest.mark.parametrize(
    ("payload_type", "statement", "words"),
    [
        ("application/vnd.in-toto+json", signature_statement(B), f"the signature is for {B}, not {A}"),
        ("application/vnd.in-toto+json", signature_statement(A, "quay.io/x/alpine"), "is for quay.io/x/alpine, not docker.io/library/alpine"),
        ("application/vnd.in-toto+json", _statement(predicateType="https://slsa.dev/provenance/v1"), "an attestation (https://slsa.dev/provenance/v1), not an image signature"),
        ("text/plain", signature_statement(A), "not an in-toto statement"),
        ("application/vnd.in-toto+json", b"not json", "cannot be read"),
    ],
)  # fmt: skip
def test_a_statement_about_something_else_is_refused(
    payload_type: str, statement: bytes, words: str
) -> None:
    with pytest.raises(Refused) as raised:
        check_statement(payload_type, statement, A, ALPINE)
    assert words in str(raised.value)


# --- the public-good Sigstore's own bundles -------------------------------------------------


def _public_good(identity: str | None, issuer: str, regex: str | None = None) -> KeylessRule:
    rule = load_rules(
        [VerifyRule("x", identity=identity, identity_regex=regex, issuer=issuer)], Path()
    )[0]
    assert isinstance(rule, KeylessRule)
    return rule


def _parts(bundle: bytes) -> tuple[x509.Certificate, bytes, bytes, RekorEntry]:
    """What cosign's `.sig` form carries, taken from a bundle: certificate, signature, signed
    digest and the Rekor entry with its SET (the inclusion proof is left behind)."""
    document = json.loads(bundle)
    material = document["verificationMaterial"]
    raw = material.get("certificate") or material["x509CertificateChain"]["certificates"][0]
    entry = material["tlogEntries"][0]
    rekor = RekorEntry(
        base64.b64decode(entry["inclusionPromise"]["signedEntryTimestamp"]),
        base64.b64decode(entry["canonicalizedBody"]), int(entry["integratedTime"]),
        int(entry["logIndex"]), base64.b64decode(entry["logId"]["keyId"]),
    )  # fmt: skip
    signature = document["messageSignature"]
    return (x509.load_der_x509_certificate(base64.b64decode(raw["rawBytes"])),
            base64.b64decode(signature["signature"]),
            base64.b64decode(signature["messageDigest"]["digest"]), rekor)  # fmt: skip


def _both(bundle: bytes, digest: str, rule: KeylessRule) -> tuple[str, str]:
    """(sigstore's answer on the bundle, syncer's on its `.sig`-form parts)."""
    try:
        bundled = check_bundle(bundle, digest, ALPINE, rule.signer, rule.verifier)
    except Refused as exc:
        bundled = f"refused: {exc}"
    try:
        legacy = check_logged(*_parts(bundle), rule.anchors, rule.signer)
    except Refused as exc:
        legacy = f"refused: {exc}"
    return bundled, legacy


def test_a_public_good_github_actions_signature_verifies_offline_both_ways() -> None:
    bundle = (DATA / "bundle_v3_github.whl.sigstore").read_bytes()
    expected = f"keyless: {RFC8785} ({ACTIONS})"
    assert _both(bundle, WHL, _public_good(RFC8785, ACTIONS)) == (expected, expected)
    regex = _public_good(None, ACTIONS, r"^https://github\.com/trailofbits/")
    assert _both(bundle, WHL, regex) == (expected, expected)
    other = _both(bundle, WHL, _public_good("https://github.com/else/x", ACTIONS))
    assert other[0] == other[1]
    assert other[0].startswith("refused: signed by another identity")
    issuer = _both(bundle, WHL, _public_good(RFC8785, "https://accounts.google.com"))
    assert issuer[0] == issuer[1]
    assert "another issuer" in issuer[0]
    # The bundle signs the wheel: asked for another digest, sigstore refuses it.
    assert _both(bundle, A, _public_good(RFC8785, ACTIONS))[0].startswith(
        "refused: the signature is for another digest"
    )


def test_a_public_good_signature_with_only_its_set_verifies_the_legacy_way() -> None:
    """CPython's release bundle has no checkpoint: sigstore wants one; its SET is proof enough
    for syncer, which is how cosign's `.sig` form is checked."""
    bundle = (DATA / "Python-3.12.5.tgz.sigstore").read_bytes()
    rule = _public_good("thomas@python.org", "https://accounts.google.com")
    bundled, legacy = _both(bundle, PYTHON, rule)
    assert legacy == "keyless: thomas@python.org (https://accounts.google.com)"
    assert bundled.startswith("refused: no transparency-log proof")
    with pytest.raises(Refused, match="another identity"):
        check_logged(
            *_parts(bundle), rule.anchors, Signer("krel@example.com", None, rule.signer.issuer)
        )
