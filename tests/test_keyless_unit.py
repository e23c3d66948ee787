"""Keyless verification without registries: the `verify` rule forms, syncer's own check of
cosign's `.sig` form (a SET, no inclusion proof) held to the same answers as `sigstore`'s
verifier on the same signatures, what a bundle's statement must say, and the public-good
Sigstore's own bundles (tests/data/README.md) against the trusted root `sigstore` ships.

Signatures are made by the tests' Sigstore (`testing/sigstore.py`) an hour before the test:
the ten-minute certificates have expired, as on real images, and are judged at the logged
time.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from syncer.config import load_config
from syncer.errors import UsageError
from syncer.imagelist.reference import parse_normalized
from syncer.trust.bundle import check_bundle, check_statement
from syncer.trust.fulcio import Refused, Signer
from syncer.trust.keyless import PUBLIC_GOOD, KeylessRule, check_layer, check_logged
from syncer.trust.rekor import RekorEntry
from syncer.trust.spec import VerifyRule
from syncer.trust.verify import KeyRule, load_rules
from testing.keyless import K8S, Signed, sign_payload, sign_statement, signature_statement
from testing.signing import Key, simple_signing_payload
from testing.sigstore import CertificateAuthority, Sigstore

DATA = Path(__file__).parent / "data" / "sigstore"
A = "sha256:" + "a" * 64
B = "sha256:" + "b" * 64
ALPINE = parse_normalized("alpine:3.19")
WHL = "sha256:c4e92e9ecc828bef2aa7dba1de8ac983511f7532a0df11c770d39099a25cf201"
PYTHON = "sha256:38dc4e2c261d49c661196066edbfb70fdb16be4a79cc8220c224dfeb5636d405"
RFC8785 = "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2"
ACTIONS = "https://token.actions.githubusercontent.com"


def _config(tmp_path: Path, text: str) -> tuple[VerifyRule, ...]:
    (tmp_path / "syncer.yaml").write_text(text)
    return load_config(tmp_path, {}, {}).verify


# --- the rule forms -----------------------------------------------------------------------


def test_a_key_rule_written_before_keyless_rules_existed_means_what_it_meant(
    tmp_path: Path,
) -> None:
    rules = _config(tmp_path, "verify:\n  - match: '^ghcr\\.io/my-org/'\n    key: keys/my.pub\n")
    assert rules == (VerifyRule("^ghcr\\.io/my-org/", key="keys/my.pub"),)
    assert not rules[0].keyless
    assert rules[0].written() == {"match": "^ghcr\\.io/my-org/", "key": "keys/my.pub"}
    # From the environment (YAML or JSON text), as before.
    flow = load_config(tmp_path, {"SYNCER_VERIFY": '[{"match": "x", "key": "k.pub"}]'}, {}).verify
    assert flow == (VerifyRule("x", key="k.pub"),)


def test_the_two_keyless_forms_from_the_issue(tmp_path: Path) -> None:
    rules = _config(
        tmp_path,
        """verify:
  - match: '^registry\\.k8s\\.io/'
    identity: krel-trust@k8s-releng-prod.iam.gserviceaccount.com
    issuer: https://accounts.google.com
  - match: '^ghcr\\.io/my-org/'
    identity_regex: '^https://github\\.com/my-org/.+/\\.github/workflows/release\\.yml@refs/tags/v'
    issuer: https://token.actions.githubusercontent.com
    trust_root: sigstore/trusted_root.json
""",
    )
    assert [r.keyless for r in rules] == [True, True]
    assert rules[0].signer() == f"{K8S[0]} ({K8S[1]})"
    assert rules[1].trust_root == "sigstore/trusted_root.json"
    assert rules[1].signer().startswith("matching /^https://github")


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ("{match: x}", "rule 1 (match 'x'): needs `key: PUBLIC_KEY_PATH`, or `identity`"),
        ("{match: x, identity: a@b}", "rule 1 (match 'x'): a keyless rule needs `issuer`"),
        ("{match: x, issuer: https://i}", "needs `key: PUBLIC_KEY_PATH`"),
        ("{match: x, key: k.pub, identity: a@b, issuer: https://i}", "not both"),
        ("{match: x, key: k.pub, trust_root: r.json}", "not both"),
        ("{match: x, identity: a@b, identity_regex: a, issuer: https://i}", "`identity` or `identity_regex`, not both"),
        ("{match: x, identity_regex: '(', issuer: https://i}", "identity_regex is not a valid regular expression"),
        ("{match: x, identity: a@b, issuer: https://i, subject: y}", "unknown key(s) subject"),
        ("{identity: a@b, issuer: https://i}", "rule 1: needs `match`"),
        ("{match: x, identity: 7, issuer: https://i}", "identity must be a non-empty string"),
        ("just text", "rule 1 must be a mapping"),
    ],
)  # fmt: skip
def test_a_rule_that_is_neither_form_is_a_config_error_naming_it(
    tmp_path: Path, rule: str, words: str
) -> None:
    with pytest.raises(UsageError, match=r"syncer\.yaml") as raised:
        _config(tmp_path, f"verify:\n  - {{match: ok, key: k.pub}}\n  - {rule}\n")
    # The first rule is fine; the message names the second.
    assert words.replace("rule 1", "rule 2") in str(raised.value)


def test_a_keyless_rule_without_sigstore_installed_is_a_clear_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "sigstore", None)  # as if the extra were not installed
    spec = VerifyRule("^registry\\.k8s\\.io/", identity=K8S[0], issuer=K8S[1])
    with pytest.raises(UsageError, match=r"syncer-mirror\[keyless\]") as raised:
        load_rules([spec], tmp_path)
    assert "verify rule 1 (match '^registry\\\\.k8s\\\\.io/')" in str(raised.value)


def test_a_trust_root_that_cannot_be_used_is_a_config_error(tmp_path: Path) -> None:
    spec = VerifyRule("x", identity=K8S[0], issuer=K8S[1], trust_root="missing.json")
    with pytest.raises(UsageError, match="trust_root: cannot read"):
        load_rules([spec], tmp_path)
    (tmp_path / "bad.json").write_text('{"mediaType": "something else"}')
    with pytest.raises(UsageError, match="is not a Sigstore trusted root"):
        load_rules(
            [VerifyRule("x", identity=K8S[0], issuer=K8S[1], trust_root="bad.json")], tmp_path
        )


def test_a_trust_root_broken_past_its_media_type_fails_the_images_it_guards(tmp_path: Path) -> None:
    """Read in full only when a signature needs it: then every image under the rule fails,
    saying why, and nothing is copied."""
    document = {
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": "?",
    }
    (tmp_path / "half.json").write_text(json.dumps(document))
    rule = load_rules(
        [VerifyRule("x", identity=K8S[0], issuer=K8S[1], trust_root="half.json")], tmp_path
    )[0]
    verdict = rule.check(None, None, ALPINE, A)  # type: ignore[arg-type]  # asks no registry
    assert verdict.signer is None
    assert verdict.why.startswith(f"the trust root cannot be used: {tmp_path / 'half.json'} is not")


def test_rules_of_both_kinds_load_and_the_default_root_is_the_public_good_one(
    tmp_path: Path,
) -> None:
    (tmp_path / "k.pub").write_bytes(Key.generate().public_pem())
    rules = load_rules(
        [VerifyRule("a", key="k.pub"), VerifyRule("b", identity=K8S[0], issuer=K8S[1])], tmp_path
    )
    assert isinstance(rules[0], KeyRule)
    assert isinstance(rules[1], KeylessRule)
    assert rules[1].anchors.name == PUBLIC_GOOD
    assert rules[1].label == f"keyless: {K8S[0]} ({K8S[1]})"
    assert "rekor.sigstore.dev" in json.dumps(rules[1].anchors.root._inner.to_dict())


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
