"""The plan's "Policy changes": what a merge request changes in what the mirror trusts.

Pure comparisons first, then real git histories through the real CLI (real registries and
skopeo behind the images the MR adds) and the MR comment through the local comments API.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncer.cli import main
from syncer.config import values_from_text, written_values
from syncer.imagelist.parse import Entry, parse_list
from syncer.review.plan import PlanRow, plan_json, render_plan
from syncer.review.policy import (
    ALLOWED_ONLY,
    INSECURE_ONLY,
    compare,
    listed,
    notes,
    pipeline_files,
    review,
)
from syncer.review.registries import compared
from syncer.review.trusted import TRUSTED, Policy, _setting, policy_of
from syncer.review.words import code
from testing.comments import CommentsApi
from testing.gitrepo import Remote
from testing.registry import Registry
from testing.scenario import ALPINE, OPERATOR, syncer_yaml
from testing.signing import Key


def policy(text: str, conf: str | None = None) -> Policy:
    return policy_of(written_values(text, "t"), values_from_text(text, "t"), conf)


BASE = """\
allowed_sources: ['quay\\.io/.*']
verify:
  - match: '^ghcr\\.io/my-org/'
    key: keys/my-org.pub
on_drift: keep
"""
WIDENED = """\
allowed_sources: ['quay\\.io/.*', 'docker\\.io/.*']
insecure_registries: [evil.example]
on_drift: update
signatures: false
"""


def words(base: str, head: str) -> list[str]:
    return [c.words for c in compare(policy(base), policy(head))]


def test_each_change_of_what_is_trusted_is_one_line_in_plain_words() -> None:
    assert words(BASE, WIDENED) == [
        "`allowed_sources` widened: `docker\\.io/.*` added",
        "TLS verification turned off for `evil.example` (`insecure_registries`)",
        "`verify` rule for `^ghcr\\.io/my-org/` removed: those images will be mirrored without "
        "a signature check",
        "`signatures` turned off: signatures, attestations and SBOMs will no longer be "
        "mirrored with the images",
        "`on_drift`: keep -> update: when upstream moves a tag, the mirror takes the new image",
    ]


def test_the_changes_keep_old_and_new_values() -> None:
    changes = {c.key: c for c in compare(policy(BASE), policy(WIDENED))}
    assert changes["allowed_sources"].old == ["quay\\.io/.*"]
    assert changes["allowed_sources"].new == ["quay\\.io/.*", "docker\\.io/.*"]
    assert changes["verify"].old == {"match": "^ghcr\\.io/my-org/", "key": "keys/my-org.pub"}
    assert changes["verify"].new is None
    assert (changes["on_drift"].old, changes["on_drift"].new) == ("keep", "update")
    assert (changes["signatures"].old, changes["signatures"].new) == (True, False)


def test_the_same_policy_spelled_otherwise_is_no_change() -> None:
    head = (
        "on_drift: keep\nverify: [{match: '^ghcr\\.io/my-org/', key: keys/my-org.pub}]\n"
        "allowed_sources: ['quay\\.io/.*']\nsignatures: yes\nconcurrency: 2\n"
    )
    assert words(BASE, head) == []
    # The default written out is the default.
    assert words("", "on_drift: update\nsignatures: true\ninsecure_registries: []\n") == []


def test_narrowing_setting_and_removing_allowed_sources() -> None:
    assert words("allowed_sources: [a, b]\n", "allowed_sources: [a]\n") == [
        "`allowed_sources` narrowed: `b` removed"
    ]
    assert words("", "allowed_sources: [a]\n") == [
        "`allowed_sources` set: only sources matching `a` may enter (any source could)"
    ]
    assert words("allowed_sources: [a]\n", "") == [
        "`allowed_sources` removed: any source may enter the mirror now (only `a` could)"
    ]
    assert words("allowed_sources: [a, b]\n", "allowed_sources: [b, a]\n") == []


def test_verify_rules_diff_by_their_match_whatever_form_they_take() -> None:
    """A key rule and a keyless one (identity, issuer) compare alike: as written."""
    key_rule = {"match": "^ghcr", "key": "k.pub"}
    keyless = {"match": "^ghcr", "identity": "ci@example.com", "issuer": "https://issuer"}
    other = {"match": "^quay", "identity_regex": "^https://github.com/x/", "issuer": "https://i"}
    base = policy(json.dumps({"verify": [key_rule]}))
    head = policy(json.dumps({"verify": [keyless, other]}))
    assert [(c.old, c.new, c.words) for c in compare(base, head)] == [
        (key_rule, keyless, "`verify` rule for `^ghcr` changed: key: `k.pub` -> identity: "
                            "`ci@example.com`, issuer: `https://issuer`"),
        (None, other, "`verify` rule for `^quay` added: those images are mirrored only when a "
                      "signature verifies (identity_regex: `^https://github.com/x/`, issuer: "
                      "`https://i`)"),
    ]  # fmt: skip


def test_a_key_this_release_does_not_know_is_absent_on_both_sides(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A key added to the table before Config has it compares as absent, never as a change."""
    monkeypatch.setitem(TRUSTED, "retention", _setting("how long the mirror keeps images"))
    base, head = policy(BASE), policy(BASE)
    assert "retention" not in base.values
    assert compare(base, head) == []
    newer = Policy({**head.values, "retention": "30d"})
    assert [c.words for c in compare(base, newer)] == [
        "`retention`: not set -> `30d`: how long the mirror keeps images"
    ]


def test_the_keys_other_issues_added_read_as_written() -> None:
    assert words("", "prune_after: 30d\nquota_reserve: 10\nplatforms: [linux/amd64]\n") == [
        "`platforms`: all -> `linux/amd64`: which platforms of each image are mirrored",
        "`prune_after`: not set (removed images stay) -> `30d`: how long an image removed from "
        "the list stays before it is deleted from the mirror",
        "`quota_reserve`: `0` -> `10`: the pulls a copy must leave at a registry that counts "
        "them (one that would leave fewer waits for a later run)",
    ]
    assert words("prune_after: 48h\n", "prune_after: 2d\n") == []  # the same duration


def test_settings_shown_as_values_with_what_they_decide() -> None:
    assert words("destination: a.example/x\n", "destination: b.example/x\n") == [
        "`destination`: `a.example/x` -> `b.example/x`: where the images are pushed"
    ]
    assert words("", "registries_conf: conf/registries.conf\nauthfile: auth.json\n") == [
        "`registries_conf`: not set -> `conf/registries.conf`: the file that says where images "
        "are read from (mirrors) and which hosts skip TLS verification",
        "`authfile`: not set -> `auth.json`: where the job's registry credentials come from",
    ]


CONF = '[[registry]]\nlocation = "docker.io"\n'
MIRRORED = CONF + '[[registry.mirror]]\nlocation = "evil.example:5000"\ninsecure = true\n'


def test_the_registries_conf_in_the_repository_is_compared_by_what_it_says() -> None:
    text = "registries_conf: conf/registries.conf\n"
    (change,) = compare(policy(text, CONF), policy(text, MIRRORED))
    assert change.key == "registries_conf content"
    assert (change.old, change.new) == (CONF, MIRRORED)
    assert change.words == (
        "the registries.conf that `registries_conf` names (`conf/registries.conf`) changed: now "
        "`docker.io` read from mirror `evil.example:5000`; TLS verification off for mirror "
        "`evil.example:5000`"
    )
    assert compared(MIRRORED, CONF, "c") == (
        "no longer `docker.io` read from mirror `evil.example:5000`; TLS verification off for "
        "mirror `evil.example:5000`"
    )
    assert compared(CONF, "# a comment\n" + CONF, "c") == (
        "its registries, mirrors and TLS settings are the same"
    )
    assert compared(CONF, "[[registry]\n", "c") == "skopeo cannot read it now"


def test_a_new_mirror_lists_what_its_policy_sets_not_its_defaults() -> None:
    text = "destination: r.example/m\nsignatures: true\nregistries_conf: r.conf\n" + WIDENED
    head = policy(text, MIRRORED)
    assert [(c.key, c.old, c.words) for c in listed(head)] == [
        ("allowed_sources", None,
         "`allowed_sources`: only sources matching `quay\\.io/.*`, `docker\\.io/.*` may enter"),
        ("insecure_registries", None, "TLS verification off for `evil.example` "
                                      "(`insecure_registries`)"),
        ("signatures", None, "`signatures` off: signatures, attestations and SBOMs are not "
                             "mirrored with the images"),
        ("destination", None, "`destination`: `r.example/m`: where the images are pushed"),
        ("registries_conf", None, "`registries_conf`: `r.conf`: the file that says where images "
                                  "are read from (mirrors) and which hosts skip TLS verification"),
        ("registries_conf content", None, "the registries.conf that `registries_conf` names "
                                          "(`r.conf`): `docker.io` read from mirror "
                                          "`evil.example:5000`; TLS verification off for mirror "
                                          "`evil.example:5000`"),
    ]  # fmt: skip


def test_pipeline_files_are_the_ci_definitions_only() -> None:
    changed = ["README.md", ".gitlab-ci.yml", ".github/workflows/sync.yml", "ci/setup.sh",
               "ci", "docs/ci/x", ".github/dependabot.yml", "source-images.list"]  # fmt: skip
    assert pipeline_files(changed) == [
        ".github/workflows/sync.yml",
        ".gitlab-ci.yml",
        "ci/setup.sh",
    ]


def test_a_change_the_job_overrides_says_so_and_the_keys_are_named_not_valued() -> None:
    environment = ["SYNCER_ON_DRIFT", "SYNCER_AUTHFILE"]
    done = review(policy(BASE), policy(WIDENED), [".gitlab-ci.yml"],
                  environment=environment, command_line=["signatures"])  # fmt: skip
    by_key = {c.key: c.words for c in done.changes}
    assert by_key["on_drift"].endswith("(not in force in this job: SYNCER_ON_DRIFT sets it)")
    assert by_key["signatures"].endswith("(not in force in this job: the command line sets it)")
    assert by_key["pipeline files"] == (
        "This MR also changes the pipeline definition: review it (`.gitlab-ci.yml`)"
    )
    text = render_plan([], [], "base", policy=done)
    assert (
        "- Set outside this MR, so not compared: `SYNCER_ON_DRIFT` (environment), "
        "`SYNCER_AUTHFILE` (environment), `signatures` (command line); these win over "
        "syncer.yaml.\n"
    ) in text


def entry(line: str) -> Entry:
    return parse_list(line + "\n", "list").entries[0]


def test_an_image_only_the_mrs_own_change_lets_in_is_marked() -> None:
    base, head = policy(BASE), policy(WIDENED)
    assert notes(entry("docker.io/library/ok:2"), base, head) == [ALLOWED_ONLY]
    assert notes(entry("quay.io/x/y:1"), base, head) == []
    assert notes(entry("evil.example/x:1"), policy(""), head) == [INSECURE_ONLY]
    signed = entry("ghcr.io/my-org/app:1")
    assert notes(signed, policy(""), head) == []
    assert notes(signed, policy(BASE.replace("quay", "ghcr")), head) == [
        "mirrored without a signature check only because this MR removed the `verify` rule "
        "for `^ghcr\\.io/my-org/`"
    ]
    # A key the job sets itself is the same on both sides, whatever the files say.
    assert notes(entry("docker.io/library/ok:2"), base, head, {"allowed_sources"}) == []


def test_a_value_from_the_mr_stays_one_inert_code_span() -> None:
    assert code("a`b") == "``a`b``"
    assert code("`x") == "`` `x ``"
    assert code("two\nlines") == "`two lines`"
    assert code("x" * 500).endswith("…`")


def test_no_policy_change_no_section_and_the_json_has_the_changes() -> None:
    rows = [PlanRow("quay.io/a:1", "d/a:1", ("single platform",))]
    quiet = render_plan(rows, [], "base", policy=review(policy(BASE), policy(BASE)))
    assert "Policy" not in quiet
    assert "review the policy" not in quiet
    done = review(policy(BASE), policy(WIDENED))
    text = render_plan(rows, [], "base", policy=done)
    assert "1 image(s) added. **5 policy change(s): review the policy changes.**" in text
    assert text.index("#### Policy changes") < text.index("| Source |")
    data = json.loads(plan_json(rows, [], policy=done))
    assert data["ok"] is True
    assert [c["key"] for c in data["policy_changes"]] == [
        "allowed_sources", "insecure_registries", "verify", "signatures", "on_drift"
    ]  # fmt: skip
    assert set(data["policy_changes"][0]) == {"key", "old", "new", "words"}


# Real git histories, the real CLI; the MR's new images read from a real registry by skopeo.

ALLOW_QUAY = "allowed_sources: ['quay\\.io/.*']\n"
VERIFY_MY_ORG = "verify:\n  - match: '^ghcr\\.io/my-org/'\n    key: keys/my-org.pub\n"
PIPELINE = "plan:\n  script: [syncer plan]\n"


def mr_env(monkeypatch: pytest.MonkeyPatch, base: str, head: str, api: CommentsApi) -> None:
    """The variables of a GitLab merge-request pipeline that may comment on MR !3."""
    for key, value in {"GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "merge_request_event",
                       "CI_MERGE_REQUEST_DIFF_BASE_SHA": base, "CI_COMMIT_SHA": head,
                       "CI_API_V4_URL": f"{api.url}/api/v4", "CI_PROJECT_ID": "7",
                       "CI_MERGE_REQUEST_IID": "3",
                       "SYNCER_COMMENT_TOKEN": "glpat-test"}.items():  # fmt: skip
        monkeypatch.setenv(key, value)


@pytest.fixture
def comments_api() -> Iterator[CommentsApi]:
    api = CommentsApi()
    yield api
    api.stop()


@pytest.mark.integration
def test_an_mr_that_widens_what_is_trusted_says_so_in_its_plan_json_and_comment(
    tmp_path: Path,
    destination: Registry,
    conf: Path,
    images: dict[str, str],
    comments_api: CommentsApi,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = syncer_yaml(destination, conf)
    remote = Remote(tmp_path, {"syncer.yaml": settings + ALLOW_QUAY + VERIFY_MY_ORG,
                               "source-images.list": f"{OPERATOR}\n",
                               ".gitlab-ci.yml": PIPELINE})  # fmt: skip
    widened = settings.replace(
        f"insecure_registries: [{destination.host}]",
        f"insecure_registries: [{destination.host}, evil.example]",
    )
    base, head = remote.commit({
        "syncer.yaml": widened + "allowed_sources: ['quay\\.io/.*', 'docker\\.io/.*']\n",
        "source-images.list": f"{OPERATOR}\n{ALPINE}\n",
        ".gitlab-ci.yml": PIPELINE + "  after_script: [curl evil.example]\n",
    }, "add alpine")  # fmt: skip
    checkout = remote.checkout(tmp_path / "mr", head)
    mr_env(monkeypatch, base, head, comments_api)
    monkeypatch.setenv("SYNCER_GIT_AUTHOR_NAME", "s3cret-value")
    capsys.readouterr()

    assert main(["plan", "-C", str(checkout)]) == 0  # legitimate work: the exit code is 0
    out = capsys.readouterr().out
    (comment,) = comments_api.comments.values()
    assert [(c[0], c[2]) for c in comments_api.calls] == [
        ("GET", "glpat-test"),
        ("POST", "glpat-test"),
    ]
    for text in (out, comment):
        section = text[text.index("#### Policy changes") : text.index("| Source |")]
        assert "4 policy change(s): review the policy changes." in text
        assert "- `allowed_sources` widened: `docker\\.io/.*` added\n" in section
        assert (
            "- TLS verification turned off for `evil.example` (`insecure_registries`)\n" in section
        )
        assert ("- `verify` rule for `^ghcr\\.io/my-org/` removed: those images will be mirrored "
                "without a signature check\n") in section  # fmt: skip
        assert ("- This MR also changes the pipeline definition: review it (`.gitlab-ci.yml`)\n"
                in section)  # fmt: skip
        assert "`SYNCER_GIT_AUTHOR_NAME`" in section  # the key by name, never its value
        assert "s3cret-value" not in text
        (row,) = [line for line in text.splitlines() if line.startswith(f"| `{ALPINE}`")]
        assert row.endswith(
            "| found; **allowed only by this MR's change to \\`allowed\\_sources\\`** |"
        )

    assert main(["plan", "--no-comment", "--json", "-C", str(checkout)]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert [(c["key"], c["old"], c["new"]) for c in plan["policy_changes"]] == [
        ("allowed_sources", ["quay\\.io/.*"], ["quay\\.io/.*", "docker\\.io/.*"]),
        ("insecure_registries", [destination.host], [destination.host, "evil.example"]),
        ("verify", {"match": "^ghcr\\.io/my-org/", "key": "keys/my-org.pub"}, None),
        ("pipeline files", None, [".gitlab-ci.yml"]),
    ]
    # SYNCER_COMMENT_TOKEN is no configuration key: nothing it could override.
    assert plan["environment_keys"] == ["SYNCER_GIT_AUTHOR_NAME"]
    assert {i["source"]: i["policy_notes"] for i in plan["images"]} == {ALPINE: [ALLOWED_ONLY]}
    assert len(comments_api.comments) == 1


@pytest.mark.integration
def test_an_mr_that_only_adds_an_allowed_line_has_no_policy_section(
    tmp_path: Path,
    destination: Registry,
    conf: Path,
    images: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = syncer_yaml(destination, conf) + ALLOW_QUAY + VERIFY_MY_ORG
    public = Key.generate().public_pem().decode()
    remote = Remote(tmp_path, {"syncer.yaml": settings, "source-images.list": "",
                               "keys/my-org.pub": public, ".gitlab-ci.yml": PIPELINE})  # fmt: skip
    base, head = remote.commit({"source-images.list": f"{OPERATOR}\n"}, "add the operator")
    checkout = remote.checkout(tmp_path / "mr", head)
    capsys.readouterr()
    assert main(["plan", "--base", base, "--no-comment", "-C", str(checkout)]) == 0
    out = capsys.readouterr().out
    assert "1 image(s) added. Compared with:" in out
    assert "olicy" not in out
    assert main(["plan", "--base", base, "--no-comment", "--json", "-C", str(checkout)]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["policy_changes"] == []
    assert plan["images"][0]["policy_notes"] == []


@pytest.mark.integration
def test_the_first_mr_of_a_new_mirror_lists_its_policy_as_new(
    tmp_path: Path,
    destination: Registry,
    conf: Path,
    images: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    remote = Remote(tmp_path, {"README.md": "a mirror\n"})
    base, head = remote.commit({"syncer.yaml": syncer_yaml(destination, conf) + ALLOW_QUAY,
                                "source-images.list": f"{OPERATOR}\n"}, "start")  # fmt: skip
    checkout = remote.checkout(tmp_path / "mr", head)
    capsys.readouterr()
    assert main(["plan", "--base", base, "--no-comment", "-C", str(checkout)]) == 0
    out = capsys.readouterr().out
    assert "New policy, not a change: the base revision has no syncer.yaml." in out
    assert "- `allowed_sources`: only sources matching `quay\\.io/.*` may enter\n" in out
    assert f"- TLS verification off for `{destination.host}` (`insecure_registries`)\n" in out
    assert f"- `destination`: `{destination.host}/third`: where the images are pushed\n" in out
    assert "policy setting(s) new: review the policy changes." in out
    assert "only by this MR" not in out  # all of a new mirror's policy is its first MR's


@pytest.mark.integration
def test_a_change_to_the_registries_conf_in_the_repository_is_a_policy_change(
    tmp_path: Path, destination: Registry, conf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = syncer_yaml(destination, conf).replace(str(conf), "conf/registries.conf")
    remote = Remote(tmp_path, {"syncer.yaml": settings, "conf/registries.conf": conf.read_text(),
                               "source-images.list": f"{OPERATOR}\n"})  # fmt: skip
    # ghcr.io is in the file already: a second entry for it would change nothing (first wins).
    bad_mirror = (
        '\n[[registry]]\nlocation = "gcr.io"\n'
        '[[registry.mirror]]\nlocation = "evil.example"\ninsecure = true\n'
    )
    base, head = remote.commit({"conf/registries.conf": conf.read_text() + bad_mirror}, "mirror")
    checkout = remote.checkout(tmp_path / "mr", head)
    capsys.readouterr()
    assert main(["plan", "--base", base, "--no-comment", "--json", "-C", str(checkout)]) == 0
    (change,) = json.loads(capsys.readouterr().out)["policy_changes"]
    assert change["key"] == "registries_conf content"
    assert change["words"] == (
        "the registries.conf that `registries_conf` names (`conf/registries.conf`) changed: now "
        "`gcr.io` read from mirror `evil.example`; TLS verification off for mirror `evil.example`"
    )


@pytest.mark.integration
def test_a_base_syncer_yaml_this_syncer_cannot_read_is_said_and_the_head_listed(
    tmp_path: Path, destination: Registry, conf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    remote = Remote(tmp_path, {"syncer.yaml": "destination: [unclosed\n", "source-images.list": ""})
    base, head = remote.commit({"syncer.yaml": syncer_yaml(destination, conf)}, "fix it")
    checkout = remote.checkout(tmp_path / "mr", head)
    capsys.readouterr()
    assert main(["plan", "--base", base, "--no-comment", "-C", str(checkout)]) == 0
    out = capsys.readouterr().out
    assert (
        f"New policy, not a change: the base's syncer.yaml cannot be read (syncer.yaml at "
        f"{base[:10]}:1: not valid YAML"
    ) in out
    assert f"- TLS verification off for `{destination.host}` (`insecure_registries`)\n" in out
