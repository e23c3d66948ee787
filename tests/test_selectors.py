"""Tag selectors: the grammar (offline), and the selection against real registries."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from syncer.cli import main
from syncer.imagelist.parse import parse_list
from syncer.imagelist.selectors import parse_selector
from testing.gitrepo import Remote
from testing.httpproxy import FaultyProxy
from testing.images import build_image, push_image
from testing.mirrors import write_registries_conf
from testing.registry import Registry
from testing.scenario import gitlab_push, remote_state, syncer_yaml

REPO = "docker.io/library/web"
TAGS = ["1.24.9", "v1.25.0", "1.25.3", "1.26.0", "1.26.2-rc.1", "1.26.2", "1.27.0", "latest"]


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("web  tags=semver:>=1.25,<1.27  latest=2", "docker.io/library/web tags=semver:>=1.25,<1.27 latest=2"),
        ("quay.io/prometheus/node-exporter\ttags=regex:^v1\\.\\d+\\.\\d+$", "quay.io/prometheus/node-exporter tags=regex:^v1\\.\\d+\\.\\d+$"),
        ("registry.k8s.io/pause tags=semver:^3.9", "registry.k8s.io/pause tags=semver:^3.9"),
    ],
)  # fmt: skip
def test_selector_lines(line: str, key: str) -> None:
    images = parse_list(f"{line}  # a comment\nalpine:3.19\n", "l")
    assert [s.key for s in images.selectors] == [key]
    assert [e.key for e in images.entries] == ["docker.io/library/alpine:3.19"]
    assert images.errors == ()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("web:1.2 tags=semver:^1", "a tag selector takes a name without tag or digest"),
        ("web tags=semver:banana", "is not a version comparator"),
        ("web tags=regex:([", "not a valid regular expression"),
        ("web tags=glob:*", "expected semver:RANGE or regex:PATTERN"),
        ("web tags=semver:^1 latest=0", "expected a whole number >= 1"),
        ("web tags=semver:^1 colour=red", "'colour=red': unknown option"),
        ("web latest=2", "needs tags=semver:RANGE or tags=regex:PATTERN"),
        ("web tags=semver:^1 tags=semver:^2", "tags= is given twice"),
    ],
)
def test_malformed_selectors_are_named_by_line_offline(
    tmp_path: Path, line: str, message: str
) -> None:
    images = parse_list(f"alpine:3.19\n{line}\n", "l")
    assert [(p.line, message in p.message) for p in images.errors] == [(2, True)], images.errors
    (tmp_path / "source-images.list").write_text(f"alpine:3.19\n{line}\n")
    assert main(["check", "-C", str(tmp_path)]) == 1


def test_plain_lines_keep_their_meaning() -> None:
    images = parse_list("nginx\n$(touch x) y\nbusybox:1 # tags=x\n", "l")
    assert [e.key for e in images.entries] == [
        "docker.io/library/nginx:latest",
        "docker.io/library/busybox:1",
    ]
    assert [p.line for p in images.errors] == [2]


def test_latest_orders_by_version_for_regex_where_it_can() -> None:
    selector = parse_selector(1, "web tags=regex:^v?1\\.2[56]\\.\\d+$ latest=2")
    assert selector.select(TAGS) == ["1.26.0", "1.26.2"]
    by_registry = parse_selector(1, "web tags=regex:^(latest|1\\.27\\.0)$ latest=1")
    assert by_registry.select(TAGS) == ["latest"]  # not all versions: the registry's order


def _seed(tmp_path: Path, upstream: Registry, tags: list[str]) -> dict[str, str]:
    digests = {}
    for tag in tags:
        layout = tmp_path / "oci" / tag
        digests[tag] = build_image(layout, f"web {tag}", tag)
        push_image(layout, tag, f"{upstream.host}/{REPO}:{tag}")
    return digests


def _dest_tags(destination: Registry) -> list[str]:
    url = f"http://{destination.host}/v2/third/{REPO}/tags/list"
    with urllib.request.urlopen(url) as response:
        return sorted(json.loads(response.read())["tags"])


@pytest.mark.integration
def test_exactly_the_selected_tags_land_and_new_ones_come_with_the_schedule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, upstream: Registry, destination: Registry
) -> None:
    _seed(tmp_path, upstream, TAGS)
    with FaultyProxy(upstream.host, tags_per_page=2) as pages:  # Link-header pagination
        conf = write_registries_conf(tmp_path / "r.conf", pages.host, destination.host)
        remote = Remote(
            tmp_path, {"syncer.yaml": syncer_yaml(destination, conf) + "signatures: false\n"}
        )
        before, sha = remote.commit(
            {"source-images.list": "web tags=semver:>=1.25,<1.27 latest=2\n"}, "web"
        )
        gitlab_push(monkeypatch, before, sha)
        assert main(["run", "-C", str(remote.checkout(tmp_path / "ci-1", sha))]) == 0
        assert _dest_tags(destination) == ["1.26.0", "1.26.2"]
        assert sum("/tags/list" in path for _, path, _ in pages.requests) == 4  # 8 tags, 2 a page
        state = remote_state(remote)
        assert (
            state[f"{REPO}:1.26.2"]["selected_by"]
            == "docker.io/library/web tags=semver:>=1.25,<1.27 latest=2"
        )

        # Upstream releases 1.26.3: the scheduled re-sync brings it in; 1.26.0 stays.
        _seed(tmp_path, upstream, ["1.26.3"])
        head = remote.head() or sha  # the schedule runs at main's head, report commit included
        gitlab_push(monkeypatch, head, head)
        monkeypatch.setenv("CI_PIPELINE_SOURCE", "schedule")
        assert main(["run", "--all", "-C", str(remote.checkout(tmp_path / "ci-2", head))]) == 0
    assert _dest_tags(destination) == ["1.26.0", "1.26.2", "1.26.3"]
    state = remote_state(remote)
    assert state[f"{REPO}:1.26.0"]["unselected"] is True
    assert state[f"{REPO}:1.26.3"]["unselected"] is False
    report = remote.show("main", "MAPPING.md")
    assert "no longer selected" in report
    assert "(by `docker.io/library/web tags=semver:>=1.25,<1.27 latest=2`)" in report


@pytest.mark.integration
def test_a_selector_that_matches_nothing_fails_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, upstream: Registry, destination: Registry,
    conf: Path, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    _seed(tmp_path, upstream, ["1.0.0"])
    remote = Remote(tmp_path, {"syncer.yaml": syncer_yaml(destination, conf)})
    before, sha = remote.commit({"source-images.list": "web tags=semver:^9\n"}, "nothing")
    gitlab_push(monkeypatch, before, sha)
    assert main(["run", "-C", str(remote.checkout(tmp_path / "ci", sha))]) == 1
    err = capsys.readouterr().err
    assert "docker.io/library/web tags=semver:^9: selects none of the 1 tags" in err
    state = remote_state(remote)["docker.io/library/web tags=semver:^9"]
    assert state["reason"] == "selector"
    assert "FAILED (selector)" in remote.show("main", "MAPPING.md")


@pytest.mark.integration
def test_show_images_lists_the_selector_offline_and_its_tags_with_expand(
    tmp_path: Path,
    upstream: Registry,
    destination: Registry,
    conf: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _seed(tmp_path, upstream, ["1.0.0", "1.1.0", "2.0.0"])
    (tmp_path / "syncer.yaml").write_text(syncer_yaml(destination, conf))
    (tmp_path / "source-images.list").write_text("web tags=semver:^1\n")
    assert main(["show-images", "-C", str(tmp_path)]) == 0
    assert (
        capsys.readouterr().out.strip()
        == f"web tags=semver:^1 -> {destination.host}/third/{REPO}:<selected tags>"
    )
    assert main(["show-images", "--expand", "-C", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{REPO}:1.0.0 -> {destination.host}/third/{REPO}:1.0.0",
        f"{REPO}:1.1.0 -> {destination.host}/third/{REPO}:1.1.0",
    ]


@pytest.mark.integration
def test_the_plan_shows_the_concrete_tags_a_new_selector_would_copy(
    tmp_path: Path,
    upstream: Registry,
    destination: Registry,
    conf: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _seed(tmp_path, upstream, ["1.0.0", "1.1.0", "2.0.0"])
    remote = Remote(
        tmp_path, {"syncer.yaml": syncer_yaml(destination, conf), "source-images.list": ""}
    )
    before, sha = remote.commit(
        {"source-images.list": "web tags=semver:^1\nweb tags=semver:^7\n"}, "MR"
    )
    checkout = remote.checkout(tmp_path / "mr", sha)
    capsys.readouterr()
    assert main(["plan", "--base", before, "--no-comment", "--json", "-C", str(checkout)]) == 1
    plan = json.loads(capsys.readouterr().out)
    rows = {r["source"]: r["problem"] for r in plan["images"]}
    assert rows[f"{REPO}:1.0.0"] is None
    assert rows[f"{REPO}:1.1.0"] is None
    assert f"{REPO}:2.0.0" not in rows
    assert rows["docker.io/library/web tags=semver:^7"].startswith("selector: selects none")
