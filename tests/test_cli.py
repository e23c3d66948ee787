"""The real CLI: in-process through `main` and, where the entry point matters, as a process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from syncer.cli import main

PREFIX = "jcr.local.liaosirui.com:5000/third"
SEED_TABLE = f"""\
rockylinux:9.0.20220720 -> {PREFIX}/docker.io/library/rockylinux:9.0.20220720
docker/dockerfile:1.4.3-labs -> {PREFIX}/docker.io/docker/dockerfile:1.4.3-labs
k8s.gcr.io/pause:3.6 -> {PREFIX}/k8s.gcr.io/pause:3.6
quay.io/prometheus-operator/prometheus-operator:v0.47.0 -> \
{PREFIX}/quay.io/prometheus-operator/prometheus-operator:v0.47.0
"""
REPO_ROOT = Path(__file__).parent.parent


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_show_images_prints_the_seed_table_to_the_letter(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "show-images", "-C", str(REPO_ROOT), "--dest", PREFIX)
    assert (code, out) == (0, SEED_TABLE)


def test_show_raw_images_normalized_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "l").write_text("nginx\nquay.io/a/b:1\ndocker.io/library/nginx:latest\n")
    code, out, err = run(capsys, "show-raw-images", "--list", str(tmp_path / "l"))
    assert code == 0
    assert out.split() == ["docker.io/library/nginx:latest", "quay.io/a/b:1"]
    assert "warning" in err
    assert ":3:" in err


def test_check_names_every_bad_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "l").write_text("alpine:3\nBad/Name\n\n--src-creds=a:b\nnginx\nnginx:latest\n")
    code, _, err = run(capsys, "check", "--list", str(tmp_path / "l"))
    assert code == 1
    assert [line.split(":")[1] for line in err.splitlines()] == ["2", "4", "6"]


def test_check_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "l").write_text("alpine:3\n[fc00::1]:5000/x:1\n")
    code, out, _ = run(capsys, "check", "--list", str(tmp_path / "l"), "--dest", PREFIX, "--json")
    data = json.loads(out)
    assert code == 1
    assert data["ok"] is False
    assert [p["line"] for p in data["problems"]] == [2]


def test_show_images_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "show-images", "-C", str(REPO_ROOT), "--dest", PREFIX, "--json")
    assert code == 0
    assert json.loads(out)[2] == {
        "source": "k8s.gcr.io/pause:3.6",
        "destination": f"{PREFIX}/k8s.gcr.io/pause:3.6",
    }


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["show-images", "--list", "/nonexistent/list"], 2, "no such file"),
        (["show-images", "--list", "source-images.list"], 2, "no destination set"),
        (["check", "--no-such-flag"], 2, "No such option"),
        (["show-images", "--dest", "not a host"], 2, "destination"),
    ],
)
def test_expected_failures_are_one_line_without_traceback(
    capsys: pytest.CaptureFixture[str], argv: list[str], code: int, message: str
) -> None:
    got, _, err = run(capsys, *argv, "-C", str(REPO_ROOT))
    assert got == code
    assert message in err
    assert "Traceback" not in err


def test_malformed_config_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "syncer.yaml").write_text("destination: [\n")
    code, _, err = run(capsys, "check", "-C", str(tmp_path))
    assert code == 2
    assert len(err.strip().splitlines()) == 1


def test_hostile_lines_run_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    (tmp_path / "source-images.list").write_text(
        f"$(touch {marker})\n`touch {marker}`\na;touch {marker}\n--src-creds=a:b\n-h\nalpine:3\n"
    )
    for command in ("check", "show-raw-images", "show-images"):
        result = subprocess.run(
            [sys.executable, "-m", "syncer", command],
            cwd=tmp_path,
            env={**os.environ, "SYNCER_DESTINATION": "r.example.com/m"},
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert len(result.stderr.splitlines()) >= 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["source-images.list"]


def test_console_script_help_lists_commands() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "syncer", "--help"], capture_output=True, text=True, check=True
    )
    for command in ("show-raw-images", "show-images", "check"):
        assert command in result.stdout


def test_set_overrides_any_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "syncer.yaml").write_text("destination: file.example.com/m\n")
    monkeypatch.setenv("SYNCER_DESTINATION", "env.example.com/m")
    (tmp_path / "l").write_text("alpine:3\n")
    code, out, _ = run(
        capsys,
        "--set",
        "destination=flag.example.com/m",
        "show-images",
        "-C",
        str(tmp_path),
        "--list",
        str(tmp_path / "l"),
    )
    assert (code, out) == (0, "alpine:3 -> flag.example.com/m/docker.io/library/alpine:3\n")
    code, _, err = run(capsys, "--set", "concurrency", "check", "-C", str(tmp_path))
    assert code == 2
    assert "expected KEY=VALUE" in err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["show-images", "--set", "a=1"], ["--set", "a=1", "show-images"]),
        (["--dest", "x.io/m", "show-images", "--dest", "y.io/m", "--json"],
         ["--dest", "x.io/m", "--dest", "y.io/m", "show-images", "--json"]),
        (["-C", "dir", "run", "--all", "-v", "--list=l"], ["-C", "dir", "-v", "--list=l", "run", "--all"]),
        (["sync", "--", "--dest"], ["sync", "--", "--dest"]),  # after --, an argument
        (["--version"], ["--version"]),
    ],
)  # fmt: skip
def test_global_options_may_follow_the_command(argv: list[str], expected: list[str]) -> None:
    from syncer.cli import hoisted

    assert hoisted(argv) == expected


def test_set_after_the_command_wins_as_the_readme_says(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "source-images.list").write_text("alpine:3\n")
    code, out, _ = run(
        capsys, "--set", "destination=a.example.com/x", "show-images", "-C", str(tmp_path),
        "--set", "destination=r.example.com/x",
    )  # fmt: skip
    assert (code, out) == (0, "alpine:3 -> r.example.com/x/docker.io/library/alpine:3\n")
