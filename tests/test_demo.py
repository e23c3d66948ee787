"""The README's first command: the main job, offline, against local registries."""

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def test_demo_runs_the_job_end_to_end(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "testing.demo", "--workdir", str(tmp_path)],
        cwd=Path(__file__).parent.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = (tmp_path / "clone" / "MAPPING.md").read_text()
    assert "4 images: 4 mirrored, 0 failed." in report
    assert report.endswith("|\n")
    assert "registries stopped" in result.stdout
