"""Keyless verification before mirroring, end to end: images signed by the tests' own Sigstore
an hour ago (so the short-lived certificates have expired and are judged at the logged time),
in cosign's `.sig` form and as a Sigstore bundle referrer, pushed to a real upstream registry
and mirrored by the real CLI with real skopeo. Before syncer is asked, `sigstore`'s own CLI
checks each signature (the test bed makes what real Sigstore clients accept and refuse).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from syncer.cli import main
from syncer.containers.auth import DockerAuth
from syncer.containers.pull_sources import Endpoint, RegistriesConf
from syncer.imagelist.reference import parse_normalized
from syncer.registry.client import RegistryClient
from syncer.trust.spec import VerifyRule
from syncer.trust.verify import load_rules
from testing.gitrepo import Remote
from testing.images import digest_of, make_upstream_image
from testing.keyless import (
    K8S,
    Signed,
    attach_bundle,
    push_signature,
    sign_payload,
    sign_statement,
    signature_statement,
    sigstore_cli_accepts,
)
from testing.registry import Registry
from testing.scenario import PAUSE, gitlab_push, remote_state, syncer_yaml
from testing.signing import manifest_size, simple_signing_payload
from testing.sigstore import CertificateAuthority, Sigstore

pytestmark = pytest.mark.integration
REPO = "registry.k8s.io/pause"
OTHER = "sha256:" + "0" * 64
RULE = (
    "verify:\n"
    "  - match: '^registry\\.k8s\\.io/'\n"
    f"    identity: {K8S[0]}\n"
    f"    issuer: {K8S[1]}\n"
    "    trust_root: sigstore/trusted_root.json\n"
)
SIGNED_BY = f"keyless: {K8S[0]} ({K8S[1]})"
CASES = {  # what syncer says, and whether sigstore's CLI accepts the signature by itself
    "right signer": (None, True),
    "another identity": ("signed by another identity: someone@example.com", False),
    "another issuer": ("signed through another issuer: https://issuer.example.com", False),
    "another CA": ("its certificate is not from the trust root's CA", False),
    "tampered": ("the signature does not match what it signs", False),
    "no log proof": ("no transparency-log proof", False),
    "another digest": (f"the signature is for {OTHER}, not ", False),
}


@pytest.fixture
def sigstore() -> Sigstore:
    return Sigstore()


def _signer(case: str) -> tuple[str, str, CertificateAuthority | None]:
    identity = "someone@example.com" if case == "another identity" else K8S[0]
    issuer = "https://issuer.example.com" if case == "another issuer" else K8S[1]
    return (
        identity,
        issuer,
        CertificateAuthority("another-fulcio") if case == "another CA" else None,
    )


def _sign_sig_tag(sigstore: Sigstore, host: str, digest: str, case: str, folder: Path) -> bool:
    """cosign's `.sig` form; whether sigstore's CLI accepts the same log entry's bundle."""
    identity, issuer, ca = _signer(case)
    signed_digest = OTHER if case == "another digest" else digest
    payload = simple_signing_payload(REPO, signed_digest)
    signed = sign_payload(sigstore, payload, identity, issuer, at=_an_hour_ago(), ca=ca)
    if case == "tampered":
        payload = payload.replace(b'"optional": null', b'"optional": {"by": "someone else"}')
    logged = case != "no log proof"
    push_signature(host, REPO, digest, payload, signed.annotations(logged=logged))
    return sigstore_cli_accepts(_trust_config(sigstore, folder), signed.bundle(logged=logged),
                                *K8S, payload, folder)  # fmt: skip


def _sign_referrer(sigstore: Sigstore, host: str, digest: str, case: str, folder: Path) -> bool:
    """A bundle referrer of cosign's (v3) kind; whether sigstore's CLI accepts it."""
    identity, issuer, ca = _signer(case)
    statement = signature_statement(OTHER if case == "another digest" else digest, REPO)
    signed: Signed = sign_statement(sigstore, statement, identity, issuer, at=_an_hour_ago(), ca=ca)
    bundle = signed.bundle(proof=case != "no log proof")
    if case == "tampered":
        document = json.loads(bundle)
        changed = json.loads(statement) | {"predicate": {"by": "someone else"}}
        document["dsseEnvelope"]["payload"] = _b64(json.dumps(changed).encode())
        bundle = json.dumps(document).encode()
    attach_bundle(host, REPO, digest, manifest_size(host, REPO, digest), bundle)
    return sigstore_cli_accepts(_trust_config(sigstore, folder), bundle, *K8S, digest, folder)


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


def _an_hour_ago() -> datetime:
    return datetime.now(timezone.utc) - timedelta(hours=1)


def _trust_config(sigstore: Sigstore, folder: Path) -> Path:
    return sigstore.write_trust_config(folder / "trust_config.json")


def _remote(tmp_path: Path, destination: Registry, conf: Path, sigstore: Sigstore, rules: str,
            lines: str = f"{PAUSE}\n") -> Remote:  # fmt: skip
    files = {
        "syncer.yaml": syncer_yaml(destination, conf) + rules,
        "sigstore/trusted_root.json": json.dumps(sigstore.trusted_root(), indent=2),
    }
    remote = Remote(tmp_path, files)
    remote.commit({"source-images.list": lines}, "images")
    return remote


def _run(
    remote: Remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, *args: str
) -> int:
    before = remote.log("%H")[1] if len(remote.log()) > 1 else "0" * 40
    sha = remote.log("%H")[0]
    gitlab_push(monkeypatch, before, sha)
    return main(["run", *args, "-C", str(remote.checkout(tmp_path / name, sha))])


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("form", ["sig tag", "bundle referrer"])
def test_keyless_verification_before_mirroring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, upstream: Registry, destination: Registry,
    conf: Path, sigstore: Sigstore, form: str, case: str,
) -> None:  # fmt: skip
    digest = make_upstream_image(tmp_path / "oci", upstream.host, PAUSE)
    folder = tmp_path / "cli"
    folder.mkdir()
    sign = _sign_sig_tag if form == "sig tag" else _sign_referrer
    words, cli_accepts = CASES[case]
    # The .sig form's payload names the digest: sigstore checks the signature, not that.
    cli_expected = cli_accepts or (form == "sig tag" and case == "another digest")
    assert sign(sigstore, upstream.host, digest, case, folder) is cli_expected

    remote = _remote(tmp_path, destination, conf, sigstore, RULE)
    code = _run(remote, tmp_path, monkeypatch, "ci-1")
    entry = remote_state(remote)[PAUSE]
    if words is None:
        assert code == 0, entry
        assert entry["verified"] == SIGNED_BY
        assert digest_of(f"{destination.host}/third/{REPO}:3.9", "--tls-verify=false") == digest
        assert "| verified |" in remote.show("main", "MAPPING.md").replace("signed; ", "")
        return
    assert code == 1
    assert entry["reason"] == "unverified"
    assert words in entry["error"], entry["error"]
    assert destination.count("PUT", "manifests", "pause") == 0  # nothing reached the mirror


def test_no_signature_at_all_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, upstream: Registry, destination: Registry,
    conf: Path, sigstore: Sigstore,
) -> None:  # fmt: skip
    make_upstream_image(tmp_path / "oci", upstream.host, PAUSE)
    remote = _remote(tmp_path, destination, conf, sigstore, RULE)
    assert _run(remote, tmp_path, monkeypatch, "ci-1") == 1
    error = remote_state(remote)[PAUSE]["error"]
    assert error.startswith("no signature (sha256-")
    assert "no Sigstore bundle referrer" in error
    assert destination.count("PUT", "manifests", "pause") == 0


def test_a_workflow_identity_regex_records_who_signed_and_the_resync_asks_no_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, upstream: Registry, destination: Registry,
    conf: Path, sigstore: Sigstore,
) -> None:  # fmt: skip
    """GitHub Actions signing, cosign v3's bundle without a subject name; then the no-op
    re-sync (verification runs only before a copy) and the check against the mirror."""
    image, repo = "ghcr.io/my-org/app:1.2.0", "ghcr.io/my-org/app"
    digest = make_upstream_image(tmp_path / "oci", upstream.host, image)
    workflow = "https://github.com/my-org/app/.github/workflows/release.yml@refs/tags/v1.2.0"
    actions = "https://token.actions.githubusercontent.com"
    signed = sign_statement(
        sigstore, signature_statement(digest), workflow, actions, at=_an_hour_ago()
    )
    attach_bundle(
        upstream.host, repo, digest, manifest_size(upstream.host, repo, digest), signed.bundle()
    )
    rules = (
        "verify:\n  - match: '^ghcr\\.io/my-org/'\n"
        "    identity_regex: '^https://github\\.com/my-org/.+/\\.github/workflows/release\\.yml@refs/tags/v'\n"
        f"    issuer: {actions}\n    trust_root: sigstore/trusted_root.json\n"
    )
    remote = _remote(tmp_path, destination, conf, sigstore, rules, f"{image}\n")
    assert _run(remote, tmp_path, monkeypatch, "ci-1") == 0
    assert remote_state(remote)[image]["verified"] == f"keyless: {workflow} ({actions})"

    upstream.clear_log()
    assert _run(remote, tmp_path, monkeypatch, "ci-2", "--all") == 0
    assert upstream.count("GET", "manifests") == 0
    assert upstream.count("GET", "blobs") == 0

    # The bundle came along as a companion: the mirror verifies as the source did.
    (tmp_path / "trusted_root.json").write_text(json.dumps(sigstore.trusted_root()))
    spec = VerifyRule("app", identity=workflow, issuer=actions, trust_root="trusted_root.json")
    rule = load_rules([spec], tmp_path)[0]
    client = RegistryClient(auth=DockerAuth([]), conf=RegistriesConf.load(str(conf), str(tmp_path / "none")),
                            insecure_hosts=[destination.host])  # fmt: skip
    mirror = Endpoint(parse_normalized(f"{destination.host}/third/{repo}:1.2.0"), True)
    assert (
        rule.check(client, mirror, parse_normalized(image), digest).signer
        == f"keyless: {workflow} ({actions})"
    )
    client.close()


@pytest.mark.parametrize("signer", ["right", "other"])
def test_the_plan_says_whether_it_verifies_and_who_signed(
    tmp_path: Path, upstream: Registry, destination: Registry, conf: Path, sigstore: Sigstore,
    signer: str,
) -> None:  # fmt: skip
    from syncer.config import load_config
    from syncer.imagelist.parse import map_destinations, parse_list
    from syncer.review.plan import make_plan, render_plan

    digest = make_upstream_image(tmp_path / "oci", upstream.host, PAUSE)
    identity = K8S[0] if signer == "right" else "someone@example.com"
    signed = sign_payload(
        sigstore, simple_signing_payload(REPO, digest), identity, K8S[1], at=_an_hour_ago()
    )
    push_signature(
        upstream.host, REPO, digest, simple_signing_payload(REPO, digest), signed.annotations()
    )
    (tmp_path / "sigstore").mkdir()
    sigstore.write_trusted_root(tmp_path / "sigstore" / "trusted_root.json")
    (tmp_path / "syncer.yaml").write_text(syncer_yaml(destination, conf) + RULE)
    config = load_config(tmp_path, {}, {})
    mappings = map_destinations(
        parse_list(f"{PAUSE}\n", "l").entries, f"{destination.host}/third", "l"
    )[0]
    row = make_plan(mappings, config, lambda _: None)[0]
    if signer == "right":
        assert row.problem is None
        assert row.trust == f"signed; signature verified: signed by {K8S[0]} ({K8S[1]})"
    else:
        assert row.problem is not None
        assert row.problem.startswith("unverified: signed by another identity: someone@example.com")
    assert K8S[0] in render_plan([row], [], "base") or signer == "other"
