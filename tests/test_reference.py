import json
from pathlib import Path
from typing import Any

import pytest

from syncer.imagelist.reference import (
    InvalidReference,
    Reference,
    destination_for,
    parse,
    parse_canonical,
    parse_normalized,
    validate_destination_prefix,
)

CASES = json.loads((Path(__file__).parent / "data" / "reference_cases.json").read_text())


def _cases(func: str) -> list[Any]:
    return [
        pytest.param(case, id=f"{case['source']}:{case['input'][:60]}")
        for case in CASES
        if case["func"] == func
    ]


def _assert_agrees(case: dict[str, Any], ref: Reference) -> None:
    if "normalized" in case:
        assert str(ref) == case["normalized"]
    if "name" in case:
        assert ref.name == case["name"]
    for field in ("domain", "path", "tag", "digest"):
        if field in case:
            assert getattr(ref, field) == case[field], field
    if case.get("has_tag"):
        assert ref.tag is not None
    if case.get("has_digest"):
        assert ref.digest is not None


@pytest.mark.parametrize("case", _cases("ParseNormalizedNamed"))
def test_parse_normalized_agrees_with_docker(case: dict[str, Any]) -> None:
    if not case["valid"]:
        with pytest.raises(InvalidReference):
            parse_normalized(case["input"])
        return
    _assert_agrees(case, parse_normalized(case["input"]))


@pytest.mark.parametrize("case", _cases("Parse"))
def test_parse_agrees_with_docker(case: dict[str, Any]) -> None:
    if case.get("env_dependent"):
        pytest.skip("Go's test binary enables sha256 only; Docker and skopeo accept sha512")
    if not case["valid"]:
        with pytest.raises(InvalidReference) as info:
            parse(case["input"])
        if "error" in case:
            assert str(info.value) == case["error"]
        return
    _assert_agrees(case, parse(case["input"]))


def test_every_normalized_named_case_is_checked() -> None:
    assert len(_cases("ParseNormalizedNamed")) == 109


def test_invalid_reference_is_a_value_error_that_says_why() -> None:
    with pytest.raises(ValueError, match="must be lowercase"):
        parse_normalized("docker/Docker")


PREFIX = "jcr.local.liaosirui.com:5000/third"


@pytest.mark.parametrize(
    ("source", "destination"),
    [
        ("rockylinux:9.0.20220720", f"{PREFIX}/docker.io/library/rockylinux:9.0.20220720"),
        ("docker/dockerfile:1.4.3-labs", f"{PREFIX}/docker.io/docker/dockerfile:1.4.3-labs"),
        ("k8s.gcr.io/pause:3.6", f"{PREFIX}/k8s.gcr.io/pause:3.6"),
        (
            "quay.io/prometheus-operator/prometheus-operator:v0.47.0",
            f"{PREFIX}/quay.io/prometheus-operator/prometheus-operator:v0.47.0",
        ),
        ("nginx", f"{PREFIX}/docker.io/library/nginx:latest"),
        ("localhost:5000/a/b:1", f"{PREFIX}/localhost_5000/a/b:1"),
        ("Registry.Example.COM/a:1", f"{PREFIX}/registry.example.com/a:1"),
        (
            "busybox:1.36@sha256:" + "a" * 64,
            f"{PREFIX}/docker.io/library/busybox:1.36@sha256:" + "a" * 64,
        ),
        ("busybox@sha256:" + "b" * 64, f"{PREFIX}/docker.io/library/busybox@sha256:" + "b" * 64),
    ],
)
def test_destination_is_prefix_plus_scoped_source(source: str, destination: str) -> None:
    assert str(destination_for(parse_normalized(source), PREFIX)) == destination


def test_destination_without_prefix_path() -> None:
    dest = destination_for(parse_normalized("alpine:3"), "127.0.0.1:5000")
    assert str(dest) == "127.0.0.1:5000/docker.io/library/alpine:3"


def test_ipv6_source_is_rejected_clearly() -> None:
    with pytest.raises(InvalidReference, match="IPv6"):
        destination_for(parse_normalized("[fc00::1]:5000/a:1"), PREFIX)


def test_destination_path_over_255_is_rejected() -> None:
    source = parse_normalized("quay.io/" + "a" * 245 + ":1")
    with pytest.raises(InvalidReference, match="over the registry limit of 255"):
        destination_for(source, PREFIX)


@pytest.mark.parametrize(
    "prefix", ["", "third", "https://harbor.example.com", "harbor.example.com/Third", "[::1]:5000"]
)
def test_bad_destination_prefix(prefix: str) -> None:
    with pytest.raises(InvalidReference):
        validate_destination_prefix(prefix)


def test_destination_prefix_trailing_slash_is_dropped() -> None:
    assert validate_destination_prefix("harbor.example.com:5000/third/") == (
        "harbor.example.com:5000/third"
    )


@pytest.mark.parametrize(
    "text",
    sorted(
        {c["input"] for c in CASES} | {c["input"] + ":1.0" for c in CASES if ":" not in c["input"]}
    ),
)
def test_the_fast_path_for_normalized_lines_answers_as_the_full_grammar(text: str) -> None:
    fast = parse_canonical(text)
    if fast is None:
        return  # the full grammar decides
    assert fast == parse(text)  # valid as written, and nothing to normalize
    assert str(fast) == text
