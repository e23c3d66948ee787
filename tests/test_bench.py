"""The benchmark runs and writes the figures it promises (its timings are not asserted)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def test_bench_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    subprocess.run(
        [sys.executable, "bench/run.py", "--images", "3", "--rounds", "1", "--latency-ms", "1",
         "--scale-lines", "50", "--scale-base-lines", "20", "--json", str(out)],
        cwd=Path(__file__).parent.parent, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    data = json.loads(out.read_text())
    assert set(data["first_sync"]) == {"syncer_s", "skopeo_sync_s", "ratio"}
    assert set(data["noop_resync"]) >= {
        "syncer_s", "skopeo_sync_s", "ratio",
        "source_manifest_gets", "source_manifest_heads", "source_blob_gets",
    }  # fmt: skip
    assert data["noop_resync"]["source_manifest_gets"] == 0
    assert data["noop_resync"]["source_blob_gets"] == 0
    # one HEAD an image, and one for each companion (a signed image carries a .sig and an .att)
    assert (
        data["noop_resync"]["source_manifest_heads"] <= 3 + 2 * data["parameters"]["signed_images"]
    )
    for key in ("scale", "scale_10k"):
        assert set(data[key]) >= {"seconds", "peak_rss_mb", "check_s", "diff_s", "dry_run_s"}
    assert data["parameters"]["images"] == 3
