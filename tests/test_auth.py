"""Credentials picked as containers/image picks them: the tables of its
`pkg/docker/config/config_test.go`, ported case by case with the files of its `testdata/`
(see tests/data/README.md for the commit). Go test names are kept in the test names.

Left out, with the reason: cases of SystemContext fields skopeo's CLI never sets
(DockerAuthConfig, RootForImplicitAbsolutePaths, LegacyFormatAuthFilePath), other operating
systems' paths, and everything about writing credentials (syncer only reads them).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from syncer.containers.auth import (
    AuthFile,
    Credentials,
    DockerAuth,
    default_auth_files,
    key_problem,
    lookup_order,
)
from syncer.containers.pull_sources import RegistriesConf
from syncer.errors import UsageError

DATA = Path(__file__).parent / "data" / "containers-image" / "docker" / "config" / "testdata"


@pytest.fixture(autouse=True)
def _helper_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The upstream test's credential helper program, on PATH as the Go test puts it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helper = bin_dir / "docker-credential-helper-registry"
    shutil.copy(DATA / "docker-credential-helper-registry", helper)
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")


def _creds(found: Credentials | None) -> tuple[str, str, str]:
    return (found.username, found.password, found.identity_token) if found else ("", "", "")


# TestGetPathToAuth (Linux cases; skopeo's --authfile is AuthFilePath)
def test_get_path_to_auth(tmp_path: Path) -> None:
    home = tmp_path / "home"
    uid = os.getuid()
    tail = [
        AuthFile(home / ".config" / "containers" / "auth.json"),
        AuthFile(home / ".docker" / "config.json"),
        AuthFile(home / ".dockercfg", legacy=True),
    ]
    assert default_auth_files({}, home) == [
        AuthFile(Path(f"/run/containers/{uid}/auth.json")),
        *tail,
    ]
    assert default_auth_files({"XDG_RUNTIME_DIR": str(tmp_path)}, home) == [
        AuthFile(tmp_path / "containers" / "auth.json"),
        *tail,
    ]
    # XDG_RUNTIME_DIR that does not exist: skopeo warns and reads the others.
    assert default_auth_files({"XDG_RUNTIME_DIR": str(tmp_path / "nope")}, home) == tail
    assert default_auth_files({"REGISTRY_AUTH_FILE": "/absolute/path"}, home) == [
        AuthFile(Path("/absolute/path"))
    ]
    assert default_auth_files(
        {"XDG_CONFIG_HOME": "/xdg", "DOCKER_CONFIG": "/dc", "XDG_RUNTIME_DIR": str(tmp_path)}, home
    )[1:3] == [AuthFile(Path("/xdg/containers/auth.json")), AuthFile(Path("/dc/config.json"))]


# TestGetAuth: each case once in the first file skopeo reads, once in ~/.docker/config.json
GET_AUTH = [
    ("no auth config", "index.docker.io", None, ("", "", "")),
    ("empty hostname", "", "example.json", ("", "", "")),
    ("match one", "example.org", "example.json", ("example", "org", "")),
    ("match none", "registry.example.org", "example.json", ("", "", "")),
    ("match docker.io", "docker.io", "full.json", ("docker", "io", "")),
    ("match docker.io normalized", "docker.io", "abnormal.json", ("index", "docker.io", "")),
    ("normalize registry", "normalize.example.org", "full.json", ("normalize", "example", "")),
    ("match localhost", "localhost", "full.json", ("local", "host", "")),
    ("match ip", "10.10.30.45:5000", "full.json", ("10.10", "30.45-5000", "")),
    ("match port", "localhost:5000", "abnormal.json", ("local", "host-5000", "")),
    ("identity token", "example.org", "example_identitytoken.json",
     ("00000000-0000-0000-0000-000000000000", "", "some very long identity token")),
    ("match none (empty.json)", "localhost:5000", "empty.json", ("", "", "")),
    ("match ref image", "example.org/repo/image", "refpath.json", ("example", "org", "")),
    ("match ref repo", "example.org/repo", "refpath.json", ("example", "org", "")),
    ("match ref host", "example.org/image", "refpath.json", ("local", "host", "")),
    ("docker.io library repo match", "docker.io/library/busybox", "refpath.json", ("library", "busybox", "")),
    ("docker.io library namespace match", "docker.io/library/notbusybox", "refpath.json", ("library", "other", "")),
    ("docker.io vendor repo match", "docker.io/vendor/product", "refpath.json", ("first", "level", "")),
    ("docker.io vendor namespace match", "docker.io/vendor", "refpath.json", ("first", "level", "")),
    ("docker.io host-only match", "docker.io/other-vendor/other-product", "refpath.json", ("top", "level", "")),
]  # fmt: skip


@pytest.mark.parametrize("where", ["runtime", "docker"])
@pytest.mark.parametrize(
    ("name", "key", "data", "expected"), GET_AUTH, ids=[c[0] for c in GET_AUTH]
)
def test_get_auth(
    tmp_path: Path,
    where: str,
    name: str,
    key: str,
    data: str | None,
    expected: tuple[str, str, str],
) -> None:
    home, runtime = tmp_path / "home", tmp_path / "run"
    target = (
        runtime / "containers" / "auth.json"
        if where == "runtime"
        else home / ".docker" / "config.json"
    )
    target.parent.mkdir(parents=True)
    if data:
        shutil.copy(DATA / data, target)
    auth = DockerAuth(default_auth_files({"XDG_RUNTIME_DIR": str(runtime)}, home))
    assert _creds(auth.for_reference(key)) == expected


# "credhelper from registries.conf", "identity token credhelper from registries.conf"
@pytest.mark.parametrize(
    ("key", "expected"),
    [("registry-a.com", ("foo", "bar", "")), ("registry-b.com", ("", "", "fizzbuzz"))],
)
def test_get_auth_from_the_credential_helpers_of_registries_conf(
    tmp_path: Path, key: str, expected: tuple[str, str, str]
) -> None:
    conf = RegistriesConf.load(str(DATA / "cred-helper.conf"), str(DATA / "IdoNotExist"))
    auth = DockerAuth(default_auth_files({}, tmp_path), conf.config.helpers)
    found = auth.lookup(key)
    assert found is not None
    assert _creds(found.credentials) == expected
    assert found.source == "credential helper helper-registry"
    assert "bar" not in found.source + repr(found)


def test_a_helper_without_credentials_falls_through_to_the_files(tmp_path: Path) -> None:
    """cred-helper-with-auth-files.conf: the auth files first, then the helper."""
    conf = RegistriesConf.load(str(DATA / "cred-helper-with-auth-files.conf"), str(tmp_path / "x"))
    config = tmp_path / "home" / ".docker" / "config.json"
    config.parent.mkdir(parents=True)
    shutil.copy(DATA / "example.json", config)
    auth = DockerAuth(default_auth_files({}, tmp_path / "home"), conf.config.helpers)
    assert _creds(auth.for_reference("example.org/x")) == ("example", "org", "")
    assert _creds(auth.for_reference("registry-a.com/x")) == ("foo", "bar", "")
    assert auth.for_reference("registry-no-creds.com/x") is None


# TestGetAuthFromLegacyFile
@pytest.mark.parametrize(
    ("host", "expected"),
    [("localhost", ("local", "host-legacy", "")), ("docker.io", ("docker", "io-legacy", ""))],
)
def test_get_auth_from_legacy_file(
    tmp_path: Path, host: str, expected: tuple[str, str, str]
) -> None:
    shutil.copy(DATA / "legacy.json", tmp_path / ".dockercfg")
    auth = DockerAuth(default_auth_files({"XDG_RUNTIME_DIR": str(tmp_path)}, tmp_path))
    assert _creds(auth.for_reference(host)) == expected


# TestGetAuthPreferNewConfig
def test_get_auth_prefer_new_config(tmp_path: Path) -> None:
    (tmp_path / ".docker").mkdir()
    shutil.copy(DATA / "full.json", tmp_path / ".docker" / "config.json")
    shutil.copy(DATA / "legacy.json", tmp_path / ".dockercfg")
    auth = DockerAuth(default_auth_files({"XDG_RUNTIME_DIR": str(tmp_path)}, tmp_path))
    assert _creds(auth.for_reference("docker.io")) == ("docker", "io", "")


# TestGetAuthFailsOnBadInput
@pytest.mark.parametrize("where", [("containers", "auth.json"), (".dockercfg",)])
def test_get_auth_fails_on_bad_input(tmp_path: Path, where: tuple[str, ...]) -> None:
    bad = tmp_path.joinpath(*where)
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_text("Json rocks! Unless it doesn't.")
    with pytest.raises(UsageError, match="unmarshaling JSON"):
        DockerAuth(default_auth_files({"XDG_RUNTIME_DIR": str(tmp_path)}, tmp_path))


# TestAuthKeyLookupOrder
@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("quay.io/image", ["quay.io/image", "quay.io"]),
        ("quay.io/user/image", ["quay.io/user/image", "quay.io/user", "quay.io"]),
        ("quay.io/a/b/c/d/image", ["quay.io/a/b/c/d/image", "quay.io/a/b/c/d", "quay.io/a/b/c", "quay.io/a/b", "quay.io/a", "quay.io"]),
        ("docker.io/library/busybox", ["docker.io/library/busybox", "docker.io/library", "docker.io"]),
        ("docker.io/vendor/busybox", ["docker.io/vendor/busybox", "docker.io/vendor", "docker.io"]),
    ],
)  # fmt: skip
def test_auth_key_lookup_order(key: str, expected: list[str]) -> None:
    assert list(lookup_order(key, legacy=False)) == expected
    assert list(lookup_order(key, legacy=True)) == [key.partition("/")[0]]


# TestValidateKey
@pytest.mark.parametrize(
    "key",
    ["https://my-registry.local", "host/foo:tag", "host/foo@digest", "localhost:5000/repo:tag", "localhost:5000/repo@digest"],
)  # fmt: skip
def test_invalid_keys(key: str) -> None:
    assert key_problem(key) is not None


@pytest.mark.parametrize(
    "key", ["my-registry.local", "my-registry.local/path", "quay.io/a/b/c/d", "localhost:5000", "localhost:5000/repo"]
)  # fmt: skip
def test_valid_keys(key: str) -> None:
    assert key_problem(key) is None
