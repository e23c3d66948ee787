"""The `verify` rule forms in syncer.yaml: every key rule written before keyless rules existed
keeps its meaning; the keyless forms; anything else is a configuration error naming the rule;
a keyless rule needs the `sigstore` package and a usable trust root."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from syncer.config import load_config
from syncer.errors import UsageError
from syncer.imagelist.reference import parse_normalized
from syncer.trust.keyless import PUBLIC_GOOD, KeylessRule
from syncer.trust.spec import VerifyRule
from syncer.trust.verify import KeyRule, load_rules
from testing.keyless import K8S
from testing.signing import Key

A = "sha256:" + "a" * 64
ALPINE = parse_normalized("alpine:3.19")


def _config(tmp_path: Path, text: str) -> tuple[VerifyRule, ...]:
    (tmp_path / "syncer.yaml").write_text(text)
    return load_config(tmp_path, {}, {}).verify


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
