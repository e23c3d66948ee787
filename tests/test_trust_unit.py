"""The pure parts of trust: companion names, summaries, drift, backup tags, payload checks; and
the signature check against openssl's own ECDSA signing (cosign's key pairs are openssl's:
prime256v1, `openssl dgst -sha256 -sign`, base64 — as cosign's EXAMPLES.md shows)."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest

from syncer.imagelist.reference import parse_normalized
from syncer.registry.taglist import _next_page
from syncer.trust.drift import backup_tag, drifted
from syncer.trust.naming import Companion, in_tags, subject_tag, summary
from syncer.trust.spec import VerifyRule
from syncer.trust.verify import KeyRule, check_payload, load_rules, signature_valid
from testing.signing import simple_signing_payload

A = "sha256:" + "a" * 64
B = "sha256:" + "b" * 64


def test_companion_tags_of_the_subjects_are_found() -> None:
    tags = ["1.0", f"{subject_tag(A)}.sig", f"{subject_tag(A)}.att", f"{subject_tag(B)}.sbom",
            subject_tag(A), f"{subject_tag(A)}.other", "sha256-cc.sig"]  # fmt: skip
    assert in_tags(tags, [A, B]) == [
        Companion("referrers index", subject_tag(A)),
        Companion("attestation", f"{subject_tag(A)}.att"),
        Companion("signature", f"{subject_tag(A)}.sig"),
        Companion("SBOM", f"{subject_tag(B)}.sbom"),
    ]


@pytest.mark.parametrize(
    ("kinds", "text"),
    [
        (["signature", "attestation", "attestation", "SBOM"], "signed, SBOM, 2 attestations"),
        (["signature", "referrers index", "referrer"], "signed, 1 referrer"),
        ([], ""),
    ],
)
def test_summary(kinds: list[str], text: str) -> None:
    assert summary(kinds) == text


def test_the_next_page_of_a_tag_list() -> None:
    link = '</v2/a/b/tags/list?n=2&last=x>; rel="next"'
    assert _next_page(link) == "tags/list?n=2&last=x"
    assert _next_page(None) is None


def test_drift_and_backup_tags() -> None:
    assert drifted(A, A, B)
    assert not drifted(A, A, A)  # in place
    assert not drifted(None, A, B)  # never copied by syncer: not drift, just different
    assert not drifted(A, B, B)  # the destination was changed by someone else
    assert backup_tag("1.25", B) == "1.25-bbbbbbbbbbbb"
    assert len(backup_tag("x" * 128, B)) == 128


@pytest.mark.parametrize(
    ("signed_ref", "digest", "problem"),
    [
        ("docker.io/library/alpine", A, None),
        ("index.docker.io/library/alpine", A, None),
        ("alpine", A, None),
        ("docker.io/library/alpine", B, f"the signature is for {B}, not {A}"),
        ("quay.io/x/alpine", A, "the signature is for quay.io/x/alpine, not docker.io/library/alpine"),
    ],
)  # fmt: skip
def test_payload_checks(signed_ref: str, digest: str, problem: str | None) -> None:
    payload = simple_signing_payload(signed_ref, digest)
    assert check_payload(payload, A, parse_normalized("alpine:3.19")) == problem


def test_our_verifier_accepts_openssl_signatures_and_refuses_tampering(tmp_path: Path) -> None:
    key, pub, payload = tmp_path / "k.pem", tmp_path / "k.pub", tmp_path / "payload.json"
    subprocess.run(
        ["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key)],
        check=True,
    )
    subprocess.run(
        ["openssl", "ec", "-in", str(key), "-pubout", "-out", str(pub)],
        check=True,
        capture_output=True,
    )
    payload.write_bytes(simple_signing_payload("docker.io/library/alpine", A))
    signature = subprocess.run(
        ["openssl", "dgst", "-sha256", "-sign", str(key), str(payload)],
        check=True,
        capture_output=True,
    ).stdout
    rule = load_rules((VerifyRule("alpine", key="k.pub"),), tmp_path)[0]
    assert isinstance(rule, KeyRule)
    encoded = base64.b64encode(signature).decode()
    assert signature_valid(rule.key, payload.read_bytes(), encoded)
    assert not signature_valid(rule.key, payload.read_bytes() + b" ", encoded)
    assert not signature_valid(rule.key, payload.read_bytes(), "not base64!")


def test_a_key_that_is_not_ecdsa_is_a_configuration_error(tmp_path: Path) -> None:
    from syncer.errors import UsageError

    (tmp_path / "rsa.pem").write_bytes(
        subprocess.run(["openssl", "genrsa", "2048"], check=True, capture_output=True).stdout
    )
    rsa_pub = subprocess.run(
        ["openssl", "rsa", "-in", str(tmp_path / "rsa.pem"), "-pubout"],
        check=True,
        capture_output=True,
    ).stdout
    (tmp_path / "rsa.pub").write_bytes(rsa_pub)
    with pytest.raises(UsageError, match="not an ECDSA public key"):
        load_rules((VerifyRule("x", key="rsa.pub"),), tmp_path)
    with pytest.raises(UsageError, match="cannot read"):
        load_rules((VerifyRule("x", key="missing.pub"),), tmp_path)
