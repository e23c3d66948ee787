"""Trust travels with the image: companions byte-identical, verification before the copy, drift.

Signed images are made in the test bed (`testing/signing.py`: cosign's formats, made with
`cryptography`, pushed with plain distribution API calls) and mirrored by the real CLI with
real skopeo between real registries.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from syncer.cli import main
from syncer.containers.auth import DockerAuth
from syncer.containers.pull_sources import Endpoint, RegistriesConf
from syncer.imagelist.reference import parse_normalized
from syncer.registry.client import RegistryClient
from syncer.trust.spec import VerifyRule
from syncer.trust.verify import KeyRule, load_rules, verify
from testing.gitrepo import Remote
from testing.images import build_image, digest_of, make_upstream_image, push_image
from testing.registry import Registry
from testing.scenario import ALPINE, gitlab_push, remote_state, syncer_yaml
from testing.signing import (
    Key,
    attach_referrer,
    attach_sbom,
    attest,
    companion_tag,
    manifest_size,
    sign,
)

pytestmark = pytest.mark.integration
REPO = "docker.io/library/alpine"  # where the upstream stores ALPINE (its full name)


def _tag_digest(registry: str, repo: str, tag: str) -> str:
    return digest_of(f"{registry}/{repo}:{tag}", "--tls-verify=false")


@pytest.fixture
def key() -> Key:
    return Key.generate()


@pytest.fixture
def signed(tmp_path: Path, upstream: Registry, key: Key) -> dict[str, str]:
    """ALPINE upstream with a signature, an attestation, an SBOM and an OCI referrer."""
    digest = make_upstream_image(tmp_path / "oci", upstream.host, ALPINE)
    return {
        "image": digest,
        "sig": sign(upstream.host, REPO, digest, key, reference=REPO),
        "att": attest(upstream.host, REPO, digest, key),
        "sbom": attach_sbom(upstream.host, REPO, digest),
        "referrer": attach_referrer(
            upstream.host, REPO, digest, manifest_size(upstream.host, REPO, digest)
        ),
    }


def _run(
    remote: Remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, *args: str
) -> int:
    before = remote.log("%H")[1] if len(remote.log()) > 1 else "0" * 40
    sha = remote.log("%H")[0]
    gitlab_push(monkeypatch, before, sha)
    return main(["run", *args, "-C", str(remote.checkout(tmp_path / name, sha))])


def _remote(tmp_path: Path, destination: Registry, conf: Path, extra: str = "") -> Remote:
    remote = Remote(tmp_path, {"syncer.yaml": syncer_yaml(destination, conf) + extra})
    remote.commit({"source-images.list": "alpine:3.19\n"}, "alpine")
    return remote


def test_companions_arrive_byte_identical_and_the_signature_verifies_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signed: dict[str, str], upstream: Registry,
    destination: Registry, conf: Path, key: Key,
) -> None:  # fmt: skip
    remote = _remote(tmp_path, destination, conf)
    assert _run(remote, tmp_path, monkeypatch, "ci-1") == 0
    dest_repo = f"third/{REPO}"
    image = signed["image"]
    for suffix in (".sig", ".att", ".sbom", ""):
        tag = companion_tag(image, suffix)
        assert _tag_digest(destination.host, dest_repo, tag) == _tag_digest(
            upstream.host, REPO, tag
        ), tag
    # The referrer itself came along with the tag-schema index, by digest.
    assert (
        digest_of(f"{destination.host}/{dest_repo}@{signed['referrer']}", "--tls-verify=false")
        == signed["referrer"]
    )
    # cosign's check, done with our verifier against the mirror.
    (tmp_path / "key.pub").write_bytes(key.public_pem())
    rule = load_rules((VerifyRule("alpine", key="key.pub"),), tmp_path)[0]
    assert isinstance(rule, KeyRule)
    client = RegistryClient(
        auth=DockerAuth([]),
        conf=RegistriesConf.load(str(conf), str(tmp_path / "none")),
        insecure_hosts=[destination.host],
    )
    mirror = Endpoint(parse_normalized(f"{destination.host}/{dest_repo}:3.19"), True)
    assert verify(client, mirror, parse_normalized(ALPINE), image, rule) is None
    client.close()
    state = remote_state(remote)[ALPINE]
    assert sorted(state["companions"]) == ["SBOM", "attestation", "referrers index", "signature"]
    report = remote.show("main", "MAPPING.md")
    assert "signed, SBOM, 1 attestation" in report


def test_a_no_op_resync_asks_no_manifest_and_a_late_attestation_arrives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signed: dict[str, str], upstream: Registry,
    destination: Registry, conf: Path, key: Key,
) -> None:  # fmt: skip
    remote = _remote(tmp_path, destination, conf)
    assert _run(remote, tmp_path, monkeypatch, "ci-1") == 0
    upstream.clear_log()
    assert _run(remote, tmp_path, monkeypatch, "ci-2", "--all") == 0
    assert upstream.count("GET", "manifests") == 0
    assert upstream.count("GET", "blobs") == 0

    # A new attestation upstream (replacing the .att tag) reaches the mirror on the next --all.
    late = attest(upstream.host, REPO, signed["image"], key, predicate="https://example.com/late")
    assert _run(remote, tmp_path, monkeypatch, "ci-3", "--all") == 0
    assert (
        _tag_digest(destination.host, f"third/{REPO}", companion_tag(signed["image"], ".att"))
        == late
    )


@pytest.mark.parametrize("case", ["good key", "wrong key", "no signature"])
def test_verify_before_mirroring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, upstream: Registry, destination: Registry,
    conf: Path, key: Key, case: str,
) -> None:  # fmt: skip
    digest = make_upstream_image(tmp_path / "oci", upstream.host, ALPINE)
    if case != "no signature":
        sign(
            upstream.host,
            REPO,
            digest,
            key if case == "good key" else Key.generate(),
            reference=REPO,
        )
    (tmp_path / "cosign.pub").write_bytes(key.public_pem())
    rules = f"verify:\n  - match: '^docker\\.io/library/'\n    key: {tmp_path / 'cosign.pub'}\n"
    remote = _remote(tmp_path, destination, conf, rules)
    code = _run(remote, tmp_path, monkeypatch, "ci-1")
    entry = remote_state(remote)[ALPINE]
    if case == "good key":
        assert code == 0
        assert entry["verified"] == str(tmp_path / "cosign.pub")
        assert "verified" in remote.show("main", "MAPPING.md")
        assert _tag_digest(destination.host, f"third/{REPO}", "3.19") == digest
        return
    assert code == 1
    assert entry["reason"] == "unverified"
    assert (
        ("another key" in entry["error"])
        if case == "wrong key"
        else ("no signature" in entry["error"])
    )
    assert destination.count("PUT", "manifests", "alpine") == 0  # nothing reached the mirror


def _move_tag(tmp_path: Path, upstream: Registry, content: str) -> str:
    """Upstream pushes other content under alpine:3.19: the tag drifts."""
    layout = tmp_path / f"moved-{content}"
    digest = build_image(layout, content, "3.19")
    push_image(layout, "3.19", f"{upstream.host}/{REPO}:3.19")
    return digest


@pytest.mark.parametrize("mode", ["update", "keep", "backup"])
def test_on_drift(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, upstream: Registry, destination: Registry,
    conf: Path, mode: str,
) -> None:  # fmt: skip
    old = make_upstream_image(tmp_path / "oci", upstream.host, ALPINE)
    remote = _remote(tmp_path, destination, conf, f"on_drift: {mode}\n")
    assert _run(remote, tmp_path, monkeypatch, "ci-1") == 0
    new = _move_tag(tmp_path, upstream, "moved upstream")
    assert _run(remote, tmp_path, monkeypatch, "ci-2", "--all") == 0
    entry = remote_state(remote)[ALPINE]
    at_mirror = _tag_digest(destination.host, f"third/{REPO}", "3.19")
    report = remote.show("main", "MAPPING.md")
    assert "drift" in report
    assert "1 drifted" in report
    assert entry["drift"].startswith(f"{old} -> {new}")
    if mode == "keep":
        assert at_mirror == old
        assert entry["digest"] == old
        assert [h["digest"] for h in entry["history"]] == [old]
        return
    assert at_mirror == new
    assert [h["digest"] for h in entry["history"]] == [old, new]
    if mode == "backup":
        backup = f"3.19-{old.split(':')[1][:12]}"
        assert _tag_digest(destination.host, f"third/{REPO}", backup) == old
        assert backup in entry["drift"]


def test_signatures_false_copies_the_image_alone(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    signed: dict[str, str],
    destination: Registry,
    conf: Path,
) -> None:
    remote = _remote(tmp_path, destination, conf, "signatures: false\n")
    assert _run(remote, tmp_path, monkeypatch, "ci-1") == 0
    tags = json.loads(
        __import__("urllib.request")
        .request.urlopen(f"http://{destination.host}/v2/third/{REPO}/tags/list")
        .read()
    )["tags"]
    assert tags == ["3.19"]


@pytest.mark.parametrize("signer", ["right", "other"])
def test_the_plan_shows_companions_and_the_verification(
    tmp_path: Path, signed: dict[str, str], destination: Registry, conf: Path, key: Key, signer: str
) -> None:
    from syncer.config import load_config
    from syncer.imagelist.parse import map_destinations, parse_list
    from syncer.review.plan import make_plan, render_plan

    (tmp_path / "cosign.pub").write_bytes(
        (key if signer == "right" else Key.generate()).public_pem()
    )
    rules = "verify:\n  - {match: 'alpine', key: cosign.pub}\n"
    (tmp_path / "syncer.yaml").write_text(syncer_yaml(destination, conf) + rules)
    config = load_config(tmp_path, {}, {})
    mappings = map_destinations(
        parse_list("alpine:3.19\n", "l").entries, f"{destination.host}/third", "l"
    )[0]
    row = make_plan(mappings, config, lambda _: None)[0]
    assert row.trust.startswith("signed, SBOM, 1 attestation")
    if signer == "right":
        assert row.problem is None
        assert "signature verified with" in row.trust
    else:
        assert row.problem is not None
        assert row.problem.startswith("unverified: signed by another key")
    assert "signed, SBOM, 1 attestation" in render_plan([row], [], "base")


def test_the_record_holds_no_path_of_the_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, upstream: Registry, destination: Registry,
    conf: Path, key: Key,
) -> None:  # fmt: skip
    """The same verified run in two clones at different paths writes the same bytes: the key
    is named as syncer.yaml names it, relative to the repository."""
    good = make_upstream_image(tmp_path / "oci", upstream.host, ALPINE)
    sign(upstream.host, REPO, good, key, reference=REPO)
    other = "docker.io/library/busybox"
    bad = make_upstream_image(tmp_path / "oci", upstream.host, f"{other}:1.36")
    sign(upstream.host, other, bad, Key.generate(), reference=other)
    rules = "verify:\n  - match: '^docker\\.io/library/'\n    key: keys/cosign.pub\n"
    remote = Remote(
        tmp_path,
        {
            "syncer.yaml": syncer_yaml(destination, conf) + rules,
            "keys/cosign.pub": key.public_pem().decode(),
        },
    )
    _, sha = remote.commit({"source-images.list": f"alpine:3.19\n{other}:1.36\n"}, "two")
    monkeypatch.setattr("syncer.record.state.now", lambda: "2026-12-01T00:00:00Z")
    written = []
    for place in ("ci-1/builds/a", "elsewhere/b/c/d"):
        gitlab_push(monkeypatch, "0" * 40, sha)
        (tmp_path / place).parent.mkdir(parents=True)
        checkout = remote.checkout(tmp_path / place, sha)
        assert main(["run", "--no-push", "-C", str(checkout)]) == 1  # busybox: another key
        written.append({n: (checkout / n).read_bytes() for n in ("mapping.json", "MAPPING.md")})
        # Gone from the mirror again: the second clone's run copies and verifies it too.
        mirrored = f"docker://{destination.host}/third/{ALPINE}"
        subprocess.run(["skopeo", "delete", "--tls-verify=false", mirrored], check=True)
    assert written[0] == written[1]
    state = json.loads(written[0]["mapping.json"])["images"]
    assert state[ALPINE]["verified"] == "keys/cosign.pub"
    assert "another key than keys/cosign.pub" in state[f"{other}:1.36"]["error"]
    assert str(tmp_path).encode() not in written[0]["MAPPING.md"] + written[0]["mapping.json"]
