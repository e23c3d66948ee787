from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from testing.images import make_upstream_image
from testing.mirrors import write_registries_conf
from testing.registry import Registry

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

    def start(name: str, **kwargs: object) -> Registry:
        registry = Registry(tmp_path / f"registry-{name}", **kwargs)  # type: ignore[arg-type]
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
