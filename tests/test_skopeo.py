from pathlib import Path

import pytest

from syncer.copy.skopeo import (
    SkopeoOptions,
    classify_failure,
    copy_command,
    inspect_command,
)
from syncer.imagelist.reference import parse_normalized
from syncer.record.image import Reason

DIGEST = "sha256:" + "a" * 64
OPTIONS = SkopeoOptions(
    registries_conf="/etc/r.conf",
    authfile="/run/auth.json",
    retry_times=2,
    insecure_registries=("r.local:5000",),
)


def test_copy_command_is_a_tuple_with_auth_file_and_tls_only_where_asked() -> None:
    cmd = copy_command(
        parse_normalized("alpine:3"),
        parse_normalized("r.local:5000/m/docker.io/library/alpine:3"),
        OPTIONS,
        Path("/tmp/d"),
    )
    assert cmd == (
        "skopeo", "--registries-conf", "/etc/r.conf", "copy", "--all", "--preserve-digests", "--retry-times", "2",
        "--src-authfile", "/run/auth.json", "--dest-authfile", "/run/auth.json",
        "--dest-tls-verify=false", "--digestfile", "/tmp/d",
        "docker://docker.io/library/alpine:3",
        "docker://r.local:5000/m/docker.io/library/alpine:3",
    )  # fmt: skip


def test_tls_is_verified_by_default() -> None:
    cmd = copy_command(
        parse_normalized("alpine:3"), parse_normalized("h.io/m/a:3"), SkopeoOptions(), Path("d")
    )
    assert not any("tls-verify" in arg for arg in cmd)
    assert not any("creds" in arg for arg in cmd)


def test_tag_and_digest_reads_by_digest_and_writes_the_tag() -> None:
    cmd = copy_command(
        parse_normalized(f"busybox:1.36@{DIGEST}"),
        parse_normalized(f"h.io/m/docker.io/library/busybox:1.36@{DIGEST}"),
        SkopeoOptions(),
        Path("d"),
    )
    assert cmd[-2:] == (
        f"docker://docker.io/library/busybox@{DIGEST}",
        "docker://h.io/m/docker.io/library/busybox:1.36",
    )


def test_digest_only_is_written_by_digest() -> None:
    cmd = copy_command(
        parse_normalized(f"busybox@{DIGEST}"),
        parse_normalized(f"h.io/m/docker.io/library/busybox@{DIGEST}"),
        SkopeoOptions(),
        Path("d"),
    )
    assert cmd[-1] == f"docker://h.io/m/docker.io/library/busybox@{DIGEST}"


def test_inspect_command() -> None:
    ref = parse_normalized("r.local:5000/m/x:1")
    assert inspect_command(ref, OPTIONS, config=True) == (
        "skopeo", "--registries-conf", "/etc/r.conf", "inspect", "--raw", "--retry-times", "2",
        "--config", "--authfile", "/run/auth.json", "--tls-verify=false", "docker://r.local:5000/m/x:1",
    )  # fmt: skip


def _fatal(msg: str) -> str:
    escaped = msg.replace('"', '\\"')
    return f'Getting image source signatures\ntime="2026-01-01T00:00:00Z" level=fatal msg="{escaped}"\n'


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("reading manifest nope in r/x: manifest unknown: manifest unknown", Reason.NOT_FOUND),
        ("reading manifest 1 in docker.io/x: requested access to the resource is denied", Reason.UNAUTHORIZED),
        ("initializing source: unable to retrieve auth token: invalid username/password: unauthorized: authentication required", Reason.UNAUTHORIZED),
        ("reading manifest: toomanyrequests: You have reached your pull rate limit", Reason.RATE_LIMITED),
        ('pinging container registry r: Get "https://r/v2/": x509: certificate signed by unknown authority', Reason.TLS),
        ('Get "https://r/v2/": http: server gave HTTP response to HTTPS client', Reason.TLS),
        ('Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused', Reason.NETWORK),
        ("dial tcp: lookup ghcr.io on 10.0.0.1:53: no such host", Reason.NETWORK),
        ('Manifest list must be converted to type "application/vnd.docker.distribution.manifest.list.v2+json" to be written to destination, but we cannot modify it: "Instructed to preserve digests"', Reason.DIGEST),
        ('registry quay.io/private is blocked in /tmp/w.conf or /root/.config/containers/registries.conf.d', Reason.BLOCKED),
        ("writing blob: something odd", Reason.OTHER),
    ],
)  # fmt: skip
def test_failures_are_classified(message: str, reason: Reason) -> None:
    got, line = classify_failure(_fatal(message))
    assert got is reason
    assert line == message


def test_the_misleading_parsing_prefix_of_skopeo_inspect_is_dropped() -> None:
    stderr = _fatal(
        'Error parsing image name "docker://ghcr.io/a/b:1": pinging container registry ghcr.io: Get "https://ghcr.io/v2/": dial tcp: lookup ghcr.io: no such host'
    )
    assert classify_failure(stderr) == (
        Reason.NETWORK,
        'pinging container registry ghcr.io: Get "https://ghcr.io/v2/": dial tcp: lookup ghcr.io: no such host',
    )


def test_timeout_wins() -> None:
    assert classify_failure("", timed_out=True) == (Reason.TIMEOUT, "")
