import base64
import json
import os
from pathlib import Path

import httpx
import pytest

from syncer.auth import DockerAuth
from syncer.errors import UsageError
from syncer.reference import parse_normalized
from syncer.registries_conf import Endpoint, RegistriesConf
from syncer.registry import retry_after

CONF = """
[[registry]]
prefix = "docker.io"
location = "docker.io"
[[registry.mirror]]
location = "127.0.0.1:5000/hub"
insecure = true
[[registry.mirror]]
location = "mirror.example.com"
pull-from-mirror = "digest-only"

[[registry]]
prefix = "quay.io/private"
location = "quay.io/private"
blocked = true
[[registry.mirror]]
location = "127.0.0.1:5001"
"""


def test_endpoints_follow_mirrors_in_order(tmp_path: Path) -> None:
    (tmp_path / "r.conf").write_text(CONF)
    conf = RegistriesConf.load(str(tmp_path / "r.conf"))
    assert conf.endpoints(parse_normalized("alpine:3")) == [
        Endpoint("127.0.0.1:5000", "hub/library/alpine", True),
        Endpoint("docker.io", "library/alpine", False),
    ]
    pinned = parse_normalized("alpine@sha256:" + "a" * 64)
    assert [e.host for e in conf.endpoints(pinned)] == [
        "127.0.0.1:5000",
        "mirror.example.com",
        "docker.io",
    ]
    assert conf.endpoints(parse_normalized("quay.io/private/app:1")) == [
        Endpoint("127.0.0.1:5001", "app", False)
    ]
    assert conf.endpoints(parse_normalized("ghcr.io/a/b:1")) == [Endpoint("ghcr.io", "a/b", False)]
    assert conf.is_insecure("127.0.0.1:5000") is False  # insecure on the mirror entry only


def test_broken_registries_conf_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "r.conf").write_text("[[registry]\n")
    with pytest.raises(UsageError, match="cannot be read"):
        RegistriesConf.load(str(tmp_path / "r.conf"))


def test_docker_config_auths(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(
        json.dumps(
            {
                "auths": {
                    "https://index.docker.io/v1/": {"auth": base64.b64encode(b"hub:pw1").decode()},
                    "harbor.example.com:5000": {"username": "robot", "password": "pw2"},
                }
            }
        )
    )
    auth = DockerAuth([path])
    hub = auth.for_host("docker.io")
    assert hub is not None
    assert (hub.username, hub.password) == ("hub", "pw1")
    assert "pw1" not in repr(hub)
    harbor = auth.for_host("harbor.example.com:5000")
    assert harbor is not None
    assert harbor.username == "robot"
    assert auth.for_host("quay.io") is None


def test_unreadable_auth_file_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(UsageError, match="auth file"):
        DockerAuth([tmp_path / "config.json"])


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"ratelimit-reset": "3"}, 3.0),
        ({}, None),
        ({"Retry-After": "soon"}, None),
    ],
)
def test_retry_after(headers: dict[str, str], seconds: float | None) -> None:
    assert retry_after(httpx.Response(429, headers=headers)) == seconds


def test_credential_helper_is_asked_over_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real `docker-credential-*` program, speaking the helper protocol on stdin/stdout."""
    helper = tmp_path / "docker-credential-testhelper"
    helper.write_text(
        "#!/bin/sh\nread host\n"
        'if [ "$1" = get ] && [ "$host" = "harbor.example.com" ]; then\n'
        '  echo \'{"ServerURL":"harbor.example.com","Username":"robot","Secret":"from-helper"}\'\n'
        "else echo 'credentials not found' >&2; exit 1; fi\n"
    )
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {"credHelpers": {"harbor.example.com": "testhelper"}, "credsStore": "nonexistent"}
        )
    )
    auth = DockerAuth([config])
    found = auth.for_host("harbor.example.com")
    assert found is not None
    assert (found.username, found.password) == ("robot", "from-helper")
    assert auth.for_host("quay.io") is None  # the store's program does not exist: no credentials
