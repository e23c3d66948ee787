"""`syncer where` answers what skopeo does: the same endpoints (checked against skopeo's own
--debug log), no contact with a blocked registry, a rejected registries.conf stops at once."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from syncer.cli import main
from testing.images import make_upstream_image
from testing.registry import Registry
from testing.scenario import syncer_yaml

SYSTEM_DROPINS = Path("/etc/containers/registries.conf.d")


def _where(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, Any]]:
    capsys.readouterr()
    main([*args, "where", "--json", "app.example.test/team/app:1"])
    return list(json.loads(capsys.readouterr().out))


def _skopeo_tries(conf: Path, image: str) -> list[str]:
    """The references skopeo says it tries, from its --debug log."""
    done = subprocess.run(
        ["skopeo", "--debug", "--registries-conf", str(conf), "inspect", "--raw", "--retry-times", "0", f"docker://{image}"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    return re.findall(r'Trying to access \\"([^\\]+)\\"', done.stderr)


@pytest.fixture
def system_dropin() -> Iterator[Path]:
    """A drop-in in the directory skopeo always reads (root only; removed afterwards)."""
    if not os.access(SYSTEM_DROPINS, os.W_OK):
        pytest.skip(f"{SYSTEM_DROPINS} is not writable here (the test needs root)")
    path = SYSTEM_DROPINS / f"zz-syncer-test-{uuid.uuid4().hex[:8]}.conf"
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


@pytest.mark.integration
def test_where_names_what_skopeo_reads_with_a_wildcard_and_a_dropin(
    tmp_path: Path,
    upstream: Registry,
    system_dropin: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    make_upstream_image(tmp_path / "oci", upstream.host, "dropin/team/app:1")
    conf = tmp_path / "registries.conf"
    conf.write_text(
        f'[[registry]]\nprefix = "*.example.test"\nlocation = "{upstream.host}/main-file"\n'
        "insecure = true\n"
    )
    # The drop-in replaces the entry with the same prefix: the image is read from there.
    system_dropin.write_text(
        f'[[registry]]\nprefix = "*.example.test"\nlocation = "{upstream.host}/dropin"\n'
        "insecure = true\n"
    )
    answer = _where(capsys, "--set", f"registries_conf={conf}")
    locations = [e["location"] for e in answer[0]["endpoints"]]
    assert locations == [f"{upstream.host}/dropin/team/app:1"]
    assert answer[0]["endpoints"][0]["insecure"] is True
    assert _skopeo_tries(conf, "app.example.test/team/app:1") == locations

    # And syncer's own check asks exactly there (the access log of the upstream).
    (tmp_path / "syncer.yaml").write_text(
        f"registries_conf: {conf}\ninsecure_registries: [{upstream.host}]\n"
    )
    (tmp_path / "source-images.list").write_text("app.example.test/team/app:1\n")
    upstream.clear_log()
    main(
        [
            "sync",
            "-C",
            str(tmp_path),
            "--dest",
            f"{upstream.host}/copy",
            "app.example.test/team/app:1",
        ]
    )
    paths = {path for _, path, _ in upstream.requests() if "/manifests/" in path}
    assert "/v2/dropin/team/app/manifests/1" in paths
    assert not any("main-file" in p for p in paths)


@pytest.mark.integration
@pytest.mark.parametrize("rewritten", [False, True])
def test_a_blocked_registry_is_never_contacted(
    tmp_path: Path, upstream: Registry, destination: Registry, rewritten: bool
) -> None:
    """Blocked where prefix and location agree: neither syncer nor skopeo asks it. Blocked
    with a prefix that rewrites to another location: syncer still asks nothing there, while
    skopeo 1.9.3 tries the location (containers/image checks `blocked` on the location's
    own entry), over TLS, which this plain-HTTP registry refuses."""
    make_upstream_image(tmp_path / "oci", upstream.host, "blk/x:1")
    source = "blocked.example.test/x:1" if rewritten else f"{upstream.host}/blk/x:1"
    prefix = "blocked.example.test" if rewritten else f"{upstream.host}/blk"
    conf = tmp_path / "registries.conf"
    conf.write_text(
        f'[[registry]]\nprefix = "{prefix}"\nlocation = "{upstream.host}/blk"\nblocked = true\n'
        f'\n[[registry]]\nlocation = "{destination.host}"\ninsecure = true\n'
    )
    (tmp_path / "syncer.yaml").write_text(syncer_yaml(destination, conf))
    upstream.clear_log()
    done = subprocess.run(
        [sys.executable, "-m", "syncer", "sync", source],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert ("failed (TLS)" if rewritten else "failed (blocked)") in done.stdout, done.stdout
    assert upstream.requests() == []
    where = subprocess.run(
        [sys.executable, "-m", "syncer", "where", source],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert where.returncode == 1  # nothing syncer may read
    assert "never read by syncer: blocked by [[registry]] prefix" in where.stdout
    assert ("skopeo still tries it" in where.stdout) == rewritten


@pytest.mark.parametrize("command", [["where", "alpine"], ["sync", "alpine"]])
def test_a_registries_conf_that_skopeo_rejects_is_one_line_and_exit_2(
    tmp_path: Path, command: list[str]
) -> None:
    conf = tmp_path / "registries.conf"
    conf.write_text(
        'unqualified-search-registries = ["a.com"]\n[registries.block]\nregistries = ["b.com"]\n'
    )
    (tmp_path / "syncer.yaml").write_text(f"registries_conf: {conf}\ndestination: 127.0.0.1:9/m\n")
    done = subprocess.run(
        [sys.executable, "-m", "syncer", *command],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        f"syncer: error: {conf}: mixing sysregistry v1/v2 is not supported"
    ]


def test_where_shows_the_credentials_entry_never_the_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    auth = tmp_path / "auth.json"
    auth.write_text(
        json.dumps(
            {"auths": {"quay.io/org": {"auth": "cm9ib3Q6czNjcjN0"}, "quay.io": {"auth": "eDp5"}}}
        )
    )
    (tmp_path / "r.conf").write_text("")
    capsys.readouterr()
    settings = ["--set", f"authfile={auth}", "--set", f"registries_conf={tmp_path / 'r.conf'}"]
    assert main([*settings, "where", "quay.io/org/app:1", "quay.io/other/app:1"]) == 0
    out = capsys.readouterr().out
    assert f"credentials: {auth}: auths quay.io/org" in out
    assert f"credentials: {auth}: auths quay.io\n" in out
    assert "s3cr3t" not in out
    assert "cm9ib3Q6czNjcjN0" not in out
