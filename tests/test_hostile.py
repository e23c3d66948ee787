"""Hostile and broken input: nothing crashes, nothing runs, every bad line is named."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncer.cli import main
from syncer.imagelist.parse import parse_line, parse_list
from syncer.imagelist.reference import InvalidReference

VALID = ["alpine", "alpine:3.19", "quay.io/org/app:v1", "localhost:5000/a/b:1", "k8s.gcr.io/pause:3.6",
         "busybox@sha256:" + "a" * 64, "ghcr.io/o/r:1.0-rc.1"]  # fmt: skip
NASTY = [
    "--src-creds=a:b", "-h", "--help", "$(touch {marker})", "`touch {marker}`", "a;touch {marker}",
    "a|touch {marker}", "a&&touch {marker}", "a>{marker}", "x\x1b[31mred", "tab\there", "nul\x00byte",
    "../x", "a//b", "/etc/passwd", "\u0430lpine", "\uff41\uff4c\uff50\uff49\uff4e\uff45", "docker.io/library/alpine:\u0661",
    "https://quay.io/a/b:1", "a b", "docker/Docker", ":tag", "@sha256:" + "f" * 64, "a" * 300 + ":1",
]  # fmt: skip

line_text = st.one_of(
    st.sampled_from(VALID),
    st.sampled_from(NASTY).map(lambda s: s.format(marker="/tmp/never")),
    st.text(max_size=60),
    st.text(alphabet="abc:/@._-#$`;| \t", max_size=30),
)


@given(st.lists(line_text, max_size=30))
@settings(max_examples=300, deadline=None)
def test_parser_reports_every_bad_line_and_keeps_the_good_ones(lines: list[str]) -> None:
    # Lines must not contain the separators themselves, or numbering changes under us.
    lines = [line.replace("\n", " ").replace("\r", " ") for line in lines]
    images = parse_list("\n".join(lines), "l")
    reported = {p.line for p in images.errors} | {p.line for p in images.duplicates}
    used = {e.line for e in images.entries}
    for number, line in enumerate(lines, start=1):
        content = line.split("#", 1)[0].strip(" \t\f\v")
        if not content:
            assert number not in reported | used
            continue
        try:
            parse_line(content)
        except InvalidReference:
            assert number in reported
            assert number not in used
        else:
            assert number in used or any(p.line == number for p in images.duplicates)
    assert all(str(p).startswith(f"l:{p.line}: ") for p in images.errors)


@given(
    st.lists(
        st.one_of(line_text, st.binary(max_size=40).map(lambda b: b.decode("latin-1"))), max_size=15
    )
)
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_cli_check_never_crashes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], lines: list[str]
) -> None:
    path = tmp_path / "list"
    path.write_bytes("\n".join(lines).encode("utf-8", errors="surrogateescape"))
    code = main(["check", "--list", str(path), "--dest", "r.example.com/m"])
    _, err = capsys.readouterr()
    assert code in (0, 1)
    assert "Traceback" not in err
    assert (code == 1) == bool(err.strip())


def test_nasty_corpus_runs_nothing_creates_nothing_and_names_every_line(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    marker = tmp_path / "pwned"
    lines = [s.format(marker=marker).encode() for s in NASTY]
    lines += [b"\xff\xfe not utf-8 \xc3\x28", b"x" * (10 * 1024 * 1024), b"alpine:3.19"]
    (work / "source-images.list").write_bytes(b"\n".join(lines) + b"\n")
    env = {**os.environ, "SYNCER_DESTINATION": "r.example.com/m"}
    before = sorted(p.name for p in tmp_path.rglob("*"))
    for command in (["check"], ["show-raw-images"], ["show-images"]):
        result = subprocess.run(
            [sys.executable, "-m", "syncer", *command], cwd=work, env=env,
            capture_output=True, text=True, errors="replace", check=False, timeout=120,
        )  # fmt: skip
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        lines_said = [line.removeprefix("syncer: warning: ") for line in result.stderr.splitlines()]
        numbers = {
            int(line.split(":")[1]) for line in lines_said if line.startswith("source-images.list:")
        }
        assert numbers == set(range(1, len(lines))), command  # every line but the last, good one
        assert len(result.stderr) < 100_000  # the 10 MB line is not echoed
        if command != ["check"]:
            assert "alpine:3.19" in result.stdout
    assert not marker.exists()
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
