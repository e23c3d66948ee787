"""What to mirror: platform subsets, names of your choosing, Helm charts and other artifacts,
tag exclusions. The grammar offline; the copies against real registries and skopeo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from syncer.cli import main
from syncer.imagelist.parse import map_destinations, parse_list
from testing.artifacts import push_artifact, push_chart
from testing.gitrepo import Remote
from testing.images import build_image, digest_of, inspect_raw, make_upstream_image, push_image
from testing.registry import Registry
from testing.scenario import remote_state, run_last_push, syncer_yaml

PREFIX = "r.example.com/m"
FOUR = (("linux", "amd64"), ("linux", "arm64"), ("linux", "ppc64le"), ("linux", "s390x"))
WEB = "docker.io/library/web"


def _destinations(text: str) -> tuple[dict[str, str], list[str]]:
    images = parse_list(text, "l")
    mappings, problems = map_destinations(images.entries, PREFIX, "l")
    found = {m.key: str(m.destination) for m in mappings}
    return found, [str(p) for p in [*images.errors, *problems]]


def test_options_keep_every_plain_line_as_it_was_and_add_only_where_written() -> None:
    plain = "alpine:3.19\nquay.io/a/b:1\n"
    before, problems = _destinations(plain)
    after, more = _destinations(
        plain
        + "nginx:1.27 platforms=linux/arm64,linux/amd64\ngrafana/grafana:11 as=tools/grafana\n"
        "redis:7 as=cache/redis:stable platforms=linux/amd64\n"
    )
    assert problems == more == []
    assert {k: after[k] for k in before} == before  # no existing mirror moves
    assert after["docker.io/library/nginx:1.27"] == f"{PREFIX}/docker.io/library/nginx:1.27"
    assert after["docker.io/grafana/grafana:11"] == f"{PREFIX}/tools/grafana:11"
    assert after["docker.io/library/redis:7"] == f"{PREFIX}/cache/redis:stable"
    entry = parse_list("nginx:1.27 platforms=linux/arm64,linux/amd64\n", "l").entries[0]
    assert entry.platforms == ("linux/amd64", "linux/arm64")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("a:1 as=../etc", "expected a path under the destination"),
        ("a:1 as=/abs/path", "expected a path under the destination"),
        ("a:1 as=evil.example.com/x", "looks like a registry host"),
        ("a:1 as=Upper/Case", "lowercase components"),
        ("a:1 as=x:bad!tag", "is not a valid tag"),
        ("a:1 platforms=amd64", "expected OS/ARCH"),
        ("a:1 platforms=", "name at least one platform"),
        ("a:1 exclude=-debug", "needs tags=semver:RANGE or tags=regex:PATTERN"),
        ("web tags=regex:.* exclude=([", "exclude=: not a valid regular expression"),
        ("web tags=regex:.* as=x:1", "takes a path without a tag"),
        ("a:1 colour=red", "'colour=red': unknown option"),
    ],
)
def test_bad_options_are_named_by_line(tmp_path: Path, line: str, message: str) -> None:
    images = parse_list(f"alpine:3.19\n{line}\n", "l")
    assert [(p.line, message in p.message) for p in images.errors] == [(2, True)], images.errors
    (tmp_path / "source-images.list").write_text(f"alpine:3.19\n{line}\n")
    assert main(["check", "-C", str(tmp_path)]) == 1


def test_two_lines_landing_on_one_destination_are_an_error_naming_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "quay.io/a/app:1 as=team/app\nghcr.io/b/app:1 as=team/app\nalpine:3.19\n"
    _, problems = _destinations(text)
    assert any("l:2:" in p and "as line 1 (quay.io/a/app:1)" in p for p in problems), problems
    (tmp_path / "source-images.list").write_text(text)
    assert main(["check", "-C", str(tmp_path), "--dest", PREFIX]) == 1
    err = capsys.readouterr().err
    assert "source-images.list:2: ghcr.io/b/app:1 would land on r.example.com/m/team/app:1" in err


def test_a_chosen_name_meeting_a_scoped_one_is_an_error_on_the_later_line() -> None:
    # A scoped name starts with the source's registry; `as=` may not name a host, but a
    # registry with a port is scoped as `host_port`, which is a plain path component.
    text = "localhost:5000/a/b:1\nquay.io/x/y:1 as=localhost_5000/a/b\n"
    found, problems = _destinations(text)
    assert problems == [
        f"l:2: quay.io/x/y:1 would land on {PREFIX}/localhost_5000/a/b:1, as line 1 "
        "(localhost:5000/a/b:1) does"
    ]
    assert list(found) == ["localhost:5000/a/b:1"]


def test_exclude_drops_what_it_finds_before_latest() -> None:
    selector = parse_list("web tags=semver:1.26.x exclude=-(debug|alpine)$ latest=2\n", "l")
    assert selector.errors == ()
    (one,) = selector.selectors
    tags = ["1.26.0", "1.26.1", "1.26.1-alpine", "1.26.2", "1.26.2-debug", "1.26.3-alpine"]
    regex = parse_list("web tags=regex:^1\\.26\\..* exclude=-(debug|alpine)$\n", "l").selectors
    assert regex[0].select(tags) == ["1.26.0", "1.26.1", "1.26.2"]
    assert one.select(tags) == ["1.26.1", "1.26.2"]
    assert one.key == f"{WEB} tags=semver:1.26.x latest=2 exclude=-(debug|alpine)$"


def _remote(
    tmp_path: Path, destination: Registry, conf: Path, lines: str, extra: str = ""
) -> Remote:
    remote = Remote(tmp_path, {"syncer.yaml": syncer_yaml(destination, conf) + extra})
    remote.commit({"source-images.list": lines}, "the list")
    return remote


@pytest.mark.integration
def test_a_platform_subset_lands_as_its_own_index_of_byte_identical_platforms(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, upstream: Registry, destination: Registry,
    conf: Path, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    source_digest = make_upstream_image(tmp_path / "oci", upstream.host, f"{WEB}:1.0", FOUR)
    source_index = inspect_raw(f"{upstream.host}/{WEB}:1.0", "--tls-verify=false")
    remote = _remote(tmp_path, destination, conf, "web:1.0 platforms=linux/amd64,linux/arm64\n")
    assert run_last_push(remote, tmp_path, monkeypatch, "ci-1") == 0
    mirrored = f"{destination.host}/third/{WEB}"
    index = inspect_raw(f"{mirrored}:1.0", "--tls-verify=false")
    kept = {e["platform"]["architecture"]: e["digest"] for e in index["manifests"]}
    assert sorted(kept) == ["amd64", "arm64"]
    upstream_digests = {
        e["platform"]["architecture"]: e["digest"] for e in source_index["manifests"]
    }
    for arch, digest in kept.items():  # each platform byte-identical: pull by its digest works
        assert upstream_digests[arch] == digest
        assert digest_of(f"{mirrored}@{digest}", "--tls-verify=false") == digest
    mirror_digest = digest_of(f"{mirrored}:1.0", "--tls-verify=false")
    assert mirror_digest != source_digest
    entry = remote_state(remote)[f"{WEB}:1.0"]
    assert (entry["digest"], entry["source_digest"]) == (mirror_digest, source_digest)
    assert entry["platforms"] == ["linux/amd64", "linux/arm64"]
    assert entry["left_out"] == ("linux/ppc64le", "linux/s390x")
    report = remote.show("main", "MAPPING.md")
    assert "linux/amd64, linux/arm64 (left out: linux/ppc64le, linux/s390x)" in report
    assert "own index; source" in report
    capsys.readouterr()

    upstream.clear_log()  # a no-op re-sync: HEADs only at the source
    assert run_last_push(remote, tmp_path, monkeypatch, "ci-2", "--all") == 0
    assert upstream.count("GET", "manifests") == 0
    assert "skipped" in capsys.readouterr().out
    assert remote_state(remote)[f"{WEB}:1.0"]["source_digest"] == source_digest

    # Upstream moves the tag: drift is seen on the source's digest, and the subset follows.
    layout = tmp_path / "moved"
    moved = build_image(layout, "moved web", "1.0", FOUR)
    push_image(layout, "1.0", f"{upstream.host}/{WEB}:1.0")
    assert run_last_push(remote, tmp_path, monkeypatch, "ci-3", "--all") == 0
    entry = remote_state(remote)[f"{WEB}:1.0"]
    assert entry["source_digest"] == moved
    assert entry["drift"] is not None
    assert entry["drift"].startswith(f"{source_digest} -> {moved}")


@pytest.mark.integration
def test_a_subset_matching_nothing_fails_before_any_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, upstream: Registry, destination: Registry,
    conf: Path,
) -> None:  # fmt: skip
    make_upstream_image(tmp_path / "oci", upstream.host, f"{WEB}:1.0", FOUR)
    remote = _remote(tmp_path, destination, conf, "web:1.0 platforms=windows/amd64\n")
    assert run_last_push(remote, tmp_path, monkeypatch, "ci-1") == 1
    entry = remote_state(remote)[f"{WEB}:1.0"]
    assert entry["reason"] == "platforms"
    assert "linux/amd64, linux/arm64, linux/ppc64le, linux/s390x" in entry["error"]
    assert destination.count("PUT", "manifests") == 0


@pytest.mark.integration
def test_the_plan_says_which_platforms_the_source_has_and_which_are_copied(
    tmp_path: Path, upstream: Registry, destination: Registry, conf: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    make_upstream_image(tmp_path / "oci", upstream.host, f"{WEB}:1.0", FOUR)
    remote = Remote(tmp_path, {"syncer.yaml": syncer_yaml(destination, conf)})
    _, before = remote.commit({"source-images.list": "alpine:3.19\n"}, "base")
    _, head = remote.commit({"source-images.list": "web:1.0 platforms=linux/arm64\n"}, "add")
    checkout = remote.checkout(tmp_path / "mr", head)
    assert main(["plan", "--base", before, "--no-comment", "-C", str(checkout)]) == 0
    out = capsys.readouterr().out
    assert "linux/arm64 of linux/amd64, linux/arm64, linux/ppc64le, linux/s390x" in out


@pytest.mark.integration
def test_a_chosen_name_lands_where_it_says_and_the_report_says_pull_it_by_that_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, upstream: Registry, destination: Registry,
    conf: Path, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    digest = make_upstream_image(tmp_path / "oci", upstream.host, f"{WEB}:1.0")
    remote = _remote(tmp_path, destination, conf, "web:1.0 as=team/web\n")
    assert run_last_push(remote, tmp_path, monkeypatch, "ci-1") == 0
    assert digest_of(f"{destination.host}/third/team/web:1.0", "--tls-verify=false") == digest
    report = remote.show("main", "MAPPING.md")
    assert f"- `{WEB}:1.0` → `{destination.host}/third/team/web:1.0`" in report
    capsys.readouterr()
    checkout = tmp_path / "ci-1"
    assert main(["mirrors", "--format", "json", "-C", str(checkout)]) == 0
    (docker,) = json.loads(capsys.readouterr().out)
    assert docker["renamed"] == [
        {"source": f"{WEB}:1.0", "mirror": f"{destination.host}/third/team/web:1.0"}
    ]


@pytest.mark.integration
def test_a_helm_chart_and_an_artifact_are_mirrored_byte_for_byte_and_reported_as_such(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, upstream: Registry, destination: Registry,
    conf: Path, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    chart = push_chart(upstream.host, "ghcr.io/acme/charts/web", "web", "1.2.3")
    blob = push_artifact(
        upstream.host, "ghcr.io/acme/policy", "v1", "application/vnd.acme.policy", b"allow"
    )
    lines = "ghcr.io/acme/charts/web:1.2.3\nghcr.io/acme/policy:v1\n"
    remote = _remote(tmp_path, destination, conf, lines)
    assert run_last_push(remote, tmp_path, monkeypatch, "ci-1") == 0
    dest = f"{destination.host}/third/ghcr.io/acme"
    assert digest_of(f"{dest}/charts/web:1.2.3", "--tls-verify=false") == chart
    assert digest_of(f"{dest}/policy:v1", "--tls-verify=false") == blob
    state = remote_state(remote)
    assert state["ghcr.io/acme/charts/web:1.2.3"]["content"] == "chart"
    assert state["ghcr.io/acme/policy:v1"]["content"] == "artifact"
    report = remote.show("main", "MAPPING.md")
    assert "Helm chart (no platforms)" in report
    assert "OCI artifact (no platforms)" in report
    assert f"helm pull oci://{dest}/charts/web --version 1.2.3" in report
    assert f"docker pull {destination.host}/third/IMAGE:TAG" in report  # no image to show
    capsys.readouterr()
    upstream.clear_log()
    assert run_last_push(remote, tmp_path, monkeypatch, "ci-2") == 0  # complete: nothing to do
    assert "0 to sync" in capsys.readouterr().out
    assert run_last_push(remote, tmp_path, monkeypatch, "ci-3", "--all") == 0
    assert upstream.count("GET", "manifests") == 0
