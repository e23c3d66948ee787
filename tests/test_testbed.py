"""The test bed itself: real skopeo copies the seed's images by their real names, offline."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from syncer.imagelist.reference import destination_for, parse_normalized
from testing.images import digest_of, inspect_raw
from testing.registry import Registry

pytestmark = pytest.mark.integration


def test_seed_images_copy_by_real_names_with_both_platforms(
    seed_upstream: dict[str, str], destination: Registry, registries_conf: Path
) -> None:
    prefix = f"{destination.host}/third"
    for source, upstream_digest in seed_upstream.items():
        dest = destination_for(parse_normalized(source), prefix)
        subprocess.run(
            [
                "skopeo",
                "--registries-conf",
                str(registries_conf),
                "copy",
                "--all",
                "--quiet",
                f"docker://{source}",
                f"docker://{dest}",
            ],
            check=True,
            capture_output=True,
        )
        index = inspect_raw(str(dest), "--tls-verify=false")
        platforms = {m["platform"]["architecture"] for m in index["manifests"]}
        assert platforms == {"amd64", "arm64"}
        assert digest_of(str(dest), "--tls-verify=false") == upstream_digest


def test_registry_logs_requests(upstream: Registry, seed_upstream: dict[str, str]) -> None:
    upstream.clear_log()
    name = "docker.io/library/rockylinux"
    inspect_raw(f"{upstream.host}/{name}:9.0.20220720", "--tls-verify=false")
    assert upstream.count("GET", "manifests", name) == 1
    assert json.dumps(upstream.requests())
