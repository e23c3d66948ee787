"""What may enter the mirror: allowed_sources, and never a link-local host."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from syncer.imagelist.parse import parse_list
from syncer.imagelist.policy import apply_policy, is_link_local
from syncer.review.plan import PlanRow, render_plan

LIST = """\
alpine:3.19
quay.io/prometheus/node-exporter:v1.8.0
registry.evil.example/x:1
169.254.169.254/latest/meta-data:1
169.254.169.254:80/x:1
ghcr.io/org/tool:2
"""


@pytest.mark.parametrize(
    ("domain", "expected"),
    [("169.254.169.254", True), ("169.254.169.254:80", True), ("[fe80::1]:5000", True),
     ("[fe80::1]", True), ("10.0.0.1:5000", False), ("docker.io", False), ("[::1]:5000", False)],
)  # fmt: skip
def test_link_local_hosts(domain: str, expected: bool) -> None:
    assert is_link_local(domain) is expected


def test_allowed_sources_and_link_local_lines_are_errors_naming_the_line() -> None:
    allowed = [r"docker\.io/.*", r"quay\.io/.*", r"ghcr\.io/.*", r"169\.254\..*"]
    images = apply_policy(parse_list(LIST, "l"), allowed)
    assert [e.key for e in images.entries] == [
        "docker.io/library/alpine:3.19",
        "quay.io/prometheus/node-exporter:v1.8.0",
        "ghcr.io/org/tool:2",
    ]
    assert [str(p) for p in images.errors] == [
        "l:3: registry.evil.example/x:1 is outside allowed_sources",
        "l:4: 169.254.169.254/latest/meta-data:1: a link-local host is never a registry (refused)",
        "l:5: 169.254.169.254:80/x:1: a link-local host is never a registry (refused)",
    ]


def test_without_allowed_sources_only_link_local_is_refused() -> None:
    images = apply_policy(parse_list(LIST, "l"), [])
    assert len(images.entries) == 4
    assert [p.line for p in images.errors] == [4, 5]


def test_check_reports_them_and_nothing_is_contacted(tmp_path: Path) -> None:
    (tmp_path / "source-images.list").write_text(LIST)
    (tmp_path / "syncer.yaml").write_text(
        'allowed_sources: ["docker\\\\.io/.*", "quay\\\\.io/.*", "ghcr\\\\.io/.*"]\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "syncer", "check"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert (
        "source-images.list:3: registry.evil.example/x:1 is outside allowed_sources" in done.stderr
    )
    assert "source-images.list:4:" in done.stderr


def test_a_registry_error_in_the_plan_is_capped() -> None:
    text = render_plan([PlanRow("a", "d/a", problem="other: " + "x" * 5000)], [], "base")
    assert len(text) < 1000


def test_a_tag_selector_is_held_to_allowed_sources_before_any_request() -> None:
    text = (
        "quay.io/prometheus/node-exporter tags=semver:^1\n"
        "evil.example/x tags=semver:^1\n"
        "169.254.169.254/meta tags=regex:.*\n"
    )
    images = apply_policy(parse_list(text, "l"), [r"quay\.io/.*", r"169\.254\..*"])
    assert [s.key for s in images.selectors] == ["quay.io/prometheus/node-exporter tags=semver:^1"]
    assert [(p.line, p.message.rpartition(": ")[2]) for p in images.errors] == [
        (2, "evil.example/x is outside allowed_sources"),
        (3, "a link-local host is never a registry (refused)"),
    ]


def test_the_tags_a_selector_selects_are_held_to_allowed_sources_too() -> None:
    from syncer.imagelist.expansion import Expansion, selected_mappings

    (selector,) = parse_list("quay.io/org/app tags=regex:.*\n", "l").selectors
    expansion = Expansion(selector, ("1.0", "debug"))
    mappings, problems = selected_mappings(
        [expansion], "r.example.com/m", "l", [r"quay\.io/org/app:\d.*"]
    )
    assert [m.key for m in mappings] == ["quay.io/org/app:1.0"]
    assert [str(p) for p in problems] == ["l:1: quay.io/org/app:debug is outside allowed_sources"]
