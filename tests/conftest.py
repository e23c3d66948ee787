from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from testing.gitrepo import IDENTITY, Remote
from testing.images import make_upstream_image
from testing.mirrors import write_registries_conf
from testing.registry import Registry
from testing.scenario import ALPINE, OPERATOR, PAUSE, syncer_yaml

SEED = (
    "docker.io/library/rockylinux:9.0.20220720",
    "docker.io/docker/dockerfile:1.4.3-labs",
    "k8s.gcr.io/pause:3.6",
    "quay.io/prometheus-operator/prometheus-operator:v0.47.0",
)


@pytest.fixture
def start_registry(tmp_path: Path) -> Iterator[Callable[..., Registry]]:
    """Start real registries; every one is stopped at teardown, also when the test fails."""
    started: list[Registry] = []

    def start(name: str, **kwargs: Any) -> Registry:  # Registry's keywords
        registry = Registry(tmp_path / f"registry-{name}", **kwargs)
        started.append(registry.start())
        return registry

    yield start
    for registry in started:
        registry.stop()


@pytest.fixture
def upstream(start_registry: Callable[..., Registry]) -> Registry:
    return start_registry("upstream")


@pytest.fixture
def destination(start_registry: Callable[..., Registry]) -> Registry:
    return start_registry("destination")


@pytest.fixture
def registries_conf(tmp_path: Path, upstream: Registry, destination: Registry) -> Path:
    return write_registries_conf(tmp_path / "registries.conf", upstream.host, destination.host)


@pytest.fixture
def seed_upstream(tmp_path: Path, upstream: Registry) -> dict[str, str]:
    """The seed list's images, by their real names, in the local upstream: name -> digest."""
    return {name: make_upstream_image(tmp_path / "oci", upstream.host, name) for name in SEED}


@pytest.fixture(autouse=True)
def _identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in IDENTITY.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def conf(tmp_path: Path, upstream: Registry, destination: Registry) -> Path:
    return write_registries_conf(tmp_path / "registries.conf", upstream.host, destination.host)


@pytest.fixture
def images(tmp_path: Path, upstream: Registry) -> dict[str, str]:
    return {
        name: make_upstream_image(tmp_path / "oci", upstream.host, name)
        for name in (ALPINE, PAUSE, OPERATOR)
    }


@pytest.fixture
def remote(tmp_path: Path, destination: Registry, conf: Path) -> Remote:
    """A git remote holding syncer.yaml and, as a user's fork would, the CI helper scripts."""
    root = Path(__file__).parent.parent
    files = {"syncer.yaml": syncer_yaml(destination, conf)}
    for script in ("ci/job-setup.sh", "ci/write-authfile.sh"):
        files[script] = (root / script).read_text()
    return Remote(tmp_path, files)
