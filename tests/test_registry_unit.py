import base64
import json
import os
from pathlib import Path

import pytest

from syncer.containers.auth import AuthFile, DockerAuth
from syncer.containers.pull_sources import Endpoint, RegistriesConf
from syncer.errors import UsageError
from syncer.imagelist.reference import parse_normalized
from syncer.registry.http import response
from syncer.registry.throttle import retry_after

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


def _hosts(endpoints: list[Endpoint]) -> list[tuple[str, bool]]:
    return [(e.location, e.insecure) for e in endpoints]


def test_endpoints_follow_mirrors_in_order(tmp_path: Path) -> None:
    (tmp_path / "r.conf").write_text(CONF)
    conf = RegistriesConf.load(str(tmp_path / "r.conf"), str(tmp_path / "no-dropins"))
    assert _hosts(conf.endpoints(parse_normalized("alpine:3"))) == [
        ("127.0.0.1:5000/hub/library/alpine", True),
        ("docker.io/library/alpine", False),
    ]
    pinned = parse_normalized("alpine@sha256:" + "a" * 64)
    assert [e.host for e in conf.endpoints(pinned)] == [
        "127.0.0.1:5000",
        "mirror.example.com",
        "docker.io",
    ]
    # Blocked: the registry itself is never asked, its mirror is (as skopeo tries it).
    private = parse_normalized("quay.io/private/app:1")
    assert [(e.location, e.blocked_by) for e in conf.endpoints(private)] == [
        ("127.0.0.1:5001/app", None),
        ("quay.io/private/app", "quay.io/private"),
    ]
    assert [e.location for e in conf.readable(private)] == ["127.0.0.1:5001/app"]
    assert _hosts(conf.endpoints(parse_normalized("ghcr.io/a/b:1"))) == [("ghcr.io/a/b", False)]
    # insecure belongs to the endpoint whose own entry says so, never to its host elsewhere
    assert not conf.destination(parse_normalized("127.0.0.1:5000/x:1")).insecure
    # skopeo --src-tls-verify=false (insecure_registries) turns TLS off for every endpoint
    assert all(e.insecure for e in conf.endpoints(parse_normalized("alpine:3"), insecure=True))


def test_broken_registries_conf_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "r.conf").write_text("[[registry]\n")
    with pytest.raises(UsageError, match="not valid TOML"):
        RegistriesConf.load(str(tmp_path / "r.conf"))


def test_docker_config_auths(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(
        json.dumps(
            {
                "auths": {
                    "https://index.docker.io/v1/": {"auth": base64.b64encode(b"hub:pw1").decode()},
                    # not read by containers/image, so not by syncer: only `auth` counts
                    "harbor.example.com:5000": {"username": "robot", "password": "pw2"},
                }
            }
        )
    )
    auth = DockerAuth([AuthFile(path)])
    hub = auth.for_reference("docker.io/library/alpine")
    assert hub is not None
    assert (hub.username, hub.password) == ("hub", "pw1")
    assert "pw1" not in repr(hub)
    assert auth.for_reference("harbor.example.com:5000/a") is None
    assert auth.for_reference("quay.io/a/b") is None


def test_unreadable_auth_file_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(UsageError, match="auth file"):
        DockerAuth([AuthFile(tmp_path / "config.json")])


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
    assert retry_after(response(429, headers)) == seconds


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
    auth = DockerAuth([AuthFile(config)])
    found = auth.for_reference("harbor.example.com/team/app")
    assert found is not None
    assert (found.username, found.password) == ("robot", "from-helper")
    assert auth.for_reference("quay.io/a/b") is None  # credsStore is not read, as by skopeo
