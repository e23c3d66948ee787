"""Names and settings the integration tests share."""

from __future__ import annotations

from pathlib import Path

from testing.registry import Registry

ALPINE = "docker.io/library/alpine:3.19"
PAUSE = "registry.k8s.io/pause:3.9"
OPERATOR = "quay.io/prometheus-operator/prometheus-operator:v0.47.0"


def syncer_yaml(destination: Registry, conf: Path) -> str:
    """The mirror repository's configuration: local plain-HTTP registries, fail fast."""
    return (
        f"destination: {destination.host}/third\n"
        f"registries_conf: {conf}\n"
        f"insecure_registries: [{destination.host}]\n"
        "retry_times: 0\n"
        "timeout: 60\n"
    )
