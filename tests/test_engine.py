"""Skip what is already mirrored, with HEAD requests, against real registries and skopeo."""

from __future__ import annotations

import dataclasses
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from syncer.config import Config
from syncer.copy.runner import run_sync
from syncer.imagelist.parse import Mapping, map_destinations, parse_list
from syncer.record.image import ImageResult, Status
from testing.httpproxy import FaultyProxy
from testing.images import layout_dir, make_upstream_image, push_image
from testing.mirrors import write_registries_conf
from testing.registry import Registry

pytestmark = pytest.mark.integration

# a started FaultyProxy in front of the upstream registry, from FaultyProxy's keywords
ProxyFactory = Callable[..., FaultyProxy]

IMAGE = "docker.io/library/alpine:3.19"
OTHER = "docker.io/library/busybox:1.36"


@pytest.fixture
def skopeo_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put a `skopeo` first on PATH that writes down each call, then runs the real one."""
    bin_dir, log = tmp_path / "bin", tmp_path / "skopeo-calls.log"
    bin_dir.mkdir()
    shim = bin_dir / "skopeo"
    shim.write_text(f'#!/bin/sh\necho "$@" >> {log}\nexec /usr/bin/skopeo "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    log.touch()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return log


@pytest.fixture
def digests(tmp_path: Path, upstream: Registry) -> dict[str, str]:
    return {
        name: make_upstream_image(tmp_path / "oci", upstream.host, name) for name in (IMAGE, OTHER)
    }


def _config(tmp_path: Path, source_host: str, destination: Registry, **extra: Any) -> Config:
    """A Config for these tests; `extra` are more Config fields, each of its own type."""
    conf = write_registries_conf(tmp_path / "proxy-registries.conf", source_host, destination.host)
    return dataclasses.replace(
        Config(root=tmp_path),
        destination=f"{destination.host}/m",
        registries_conf=str(conf),
        insecure_registries=(destination.host,),
        retry_times=0,
        timeout=60,
        **extra,
    )


def _mappings(config: Config, *lines: str) -> list[Mapping]:
    assert config.destination
    return map_destinations(parse_list("\n".join(lines), "l").entries, config.destination, "l")[0]


def _sync(config: Config, *lines: str) -> tuple[list[ImageResult], list[str]]:
    logged: list[str] = []
    return run_sync(_mappings(config, *lines), config, logged.append), logged


@pytest.fixture
def proxy_factory(upstream: Registry) -> Iterator[ProxyFactory]:
    started: list[FaultyProxy] = []

    class Started(FaultyProxy):
        def __init__(self, **faults: Any) -> None:  # FaultyProxy's keywords
            super().__init__(upstream.host, **faults)
            started.append(self.start())

    yield Started
    for proxy in started:
        proxy.stop()


def _mirror_first(config: Config) -> None:
    """Copy everything once, so the destination already holds it."""
    results, _ = _sync(config, IMAGE, OTHER)
    assert {r.status for r in results} == {Status.COPIED}, [r.error for r in results]


def test_equal_digests_are_skipped_without_any_skopeo_process(
    tmp_path: Path,
    digests: dict[str, str],
    destination: Registry,
    proxy_factory: ProxyFactory,
    skopeo_calls: Path,
) -> None:
    proxy = proxy_factory()
    config = _config(tmp_path, proxy.host, destination)
    _mirror_first(config)
    skopeo_calls.write_text("")
    proxy.requests.clear()

    results, _ = _sync(config, IMAGE, OTHER)
    assert [r.status for r in results] == [Status.SKIPPED, Status.SKIPPED]
    assert [r.digest for r in results] == [digests[IMAGE], digests[OTHER]]
    assert results[0].platforms == ("linux/amd64", "linux/arm64")
    assert skopeo_calls.read_text() == ""
    assert proxy.count("GET") == 0
    assert proxy.count("HEAD") == 2


def test_a_different_digest_is_copied(
    tmp_path: Path,
    digests: dict[str, str],
    destination: Registry,
    proxy_factory: ProxyFactory,
    skopeo_calls: Path,
) -> None:
    config = _config(tmp_path, proxy_factory().host, destination)
    # The destination holds another image under the same name and tag.
    push_image(layout_dir(tmp_path / "oci", OTHER), "1.36", f"{destination.host}/m/{IMAGE}")
    results, _ = _sync(config, IMAGE)
    assert results[0].status is Status.COPIED
    assert results[0].digest == digests[IMAGE]
    assert "copy" in skopeo_calls.read_text()


@pytest.mark.parametrize("fault", [{"head_without_digest": True}, {"refuse_head": True}])
def test_when_head_cannot_tell_the_image_is_copied(
    tmp_path: Path,
    digests: dict[str, str],
    destination: Registry,
    proxy_factory: ProxyFactory,
    skopeo_calls: Path,
    fault: dict[str, bool],
) -> None:
    _mirror_first(_config(tmp_path, proxy_factory().host, destination))
    config = _config(tmp_path, proxy_factory(**fault).host, destination)
    skopeo_calls.write_text("")
    results, _ = _sync(config, IMAGE)
    assert results[0].status is Status.COPIED
    assert "copy" in skopeo_calls.read_text()


def test_rate_limited_head_waits_as_retry_after_says_then_succeeds(
    tmp_path: Path, digests: dict[str, str], destination: Registry, proxy_factory: ProxyFactory
) -> None:
    _mirror_first(_config(tmp_path, proxy_factory().host, destination))
    proxy = proxy_factory(rate_limit_first=1, retry_after="1")
    config = _config(tmp_path, proxy.host, destination)
    results, logged = _sync(config, IMAGE)
    assert results[0].status is Status.SKIPPED
    assert any("rate limited by" in line and "Retry-After" in line for line in logged)
    assert [status for _, path, status in proxy.requests if "/manifests/" in path] == [429, 200]


def test_rate_limited_copy_backs_off_and_succeeds(
    tmp_path: Path, digests: dict[str, str], destination: Registry, proxy_factory: ProxyFactory
) -> None:
    proxy = proxy_factory(rate_limit_first=1, retry_after="1")
    config = _config(tmp_path, proxy.host, destination)
    results, _ = _sync(config, IMAGE)
    assert results[0].status is Status.COPIED
    # skopeo itself honours Retry-After; syncer retries a copy that still ends rate limited.
    manifest_statuses = [status for _, path, status in proxy.requests if "/manifests/3.19" in path]
    assert manifest_statuses[:2] == [429, 200]


def test_digest_pinned_and_immutable_tags_never_ask_the_source(
    tmp_path: Path, digests: dict[str, str], destination: Registry, proxy_factory: ProxyFactory
) -> None:
    proxy = proxy_factory()
    config = _config(tmp_path, proxy.host, destination, immutable_tags=r"^\d+\.\d+$")
    pinned = f"alpine:3.19@{digests[IMAGE]}"
    results, _ = _sync(config, pinned, "busybox:1.36")
    assert [r.status for r in results] == [Status.COPIED, Status.COPIED]
    proxy.requests.clear()
    results, _ = _sync(config, pinned, "busybox:1.36")
    assert [r.status for r in results] == [Status.SKIPPED, Status.SKIPPED]
    assert proxy.requests == []


def test_an_identity_token_is_used_as_an_oauth2_refresh_token(
    tmp_path: Path,
    digests: dict[str, str],
    destination: Registry,
    proxy_factory: ProxyFactory,
    skopeo_calls: Path,
) -> None:
    import base64
    import json

    # Basic credentials are refused by the token server: only the refresh token works.
    proxy = proxy_factory(token_auth=True, basic_credentials="nobody:never", refresh_token="rt-1")
    authfile = tmp_path / "auth.json"
    user = base64.b64encode(b"00000000-0000-0000-0000-000000000000:").decode()
    authfile.write_text(
        json.dumps({"auths": {proxy.host: {"auth": user, "identitytoken": "rt-1"}}})
    )
    config = _config(tmp_path, proxy.host, destination, authfile=str(authfile))
    _mirror_first(config)
    skopeo_calls.write_text("")
    results, _ = _sync(config, IMAGE)
    assert results[0].status is Status.SKIPPED
    assert skopeo_calls.read_text() == ""
    assert ("POST", "/token", 200) in [(m, p.partition("?")[0], s) for m, p, s in proxy.requests]


@pytest.mark.parametrize("credentials", [None, "robot:s3cret"])
def test_head_follows_the_token_flow(
    tmp_path: Path,
    digests: dict[str, str],
    destination: Registry,
    proxy_factory: ProxyFactory,
    skopeo_calls: Path,
    credentials: str | None,
) -> None:
    import base64
    import json

    proxy = proxy_factory(token_auth=True, basic_credentials=credentials)
    authfile = tmp_path / "auth.json"
    auths = (
        {proxy.host: {"auth": base64.b64encode(credentials.encode()).decode()}}
        if credentials
        else {}
    )
    authfile.write_text(json.dumps({"auths": auths}))
    config = _config(tmp_path, proxy.host, destination, authfile=str(authfile))
    _mirror_first(config)
    skopeo_calls.write_text("")
    results, _ = _sync(config, IMAGE)
    assert results[0].status is Status.SKIPPED
    assert skopeo_calls.read_text() == ""
