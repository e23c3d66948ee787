"""mapping.json is read strictly: a hand edit that syncer cannot trust stops it before any
work, naming the file, the image and the key; files written by earlier versions still load."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from syncer.state import VERSION, StateError, dump_state, load_state

DATA = Path(__file__).parent / "data"
ALPINE = "docker.io/library/alpine:3.19"


def _good() -> dict[str, object]:
    return json.loads((DATA / "mapping-v1.json").read_text())  # type: ignore[no-any-return]


def _with(key: str, value: object) -> str:
    data = _good()
    data["images"][ALPINE][key] = value  # type: ignore[index]
    return json.dumps(data, indent=2)


def test_a_version_1_file_of_an_earlier_release_loads_and_migrates_to_version_2() -> None:
    text = (DATA / "mapping-v1.json").read_text()
    state = load_state(text, "mapping.json")
    assert state[ALPINE].platforms == ("linux/amd64", "linux/arm64")
    assert state["quay.io/prometheus-operator/prometheus-operator:v0.47.0"].failed
    # The one digest version 1 knew becomes the start of the history (when: unknown).
    assert [(h.digest, h.at, h.commit) for h in state[ALPINE].history] == [
        (state[ALPINE].digest, None, "0f3a6c1e2b7d9a8c4e5f60718293a4b5c6d7e8f9")
    ]
    written = dump_state(state)
    assert json.loads(written)["version"] == VERSION == 2
    assert load_state(written, "mapping.json") == state  # and version 2 round-trips
    assert dump_state(load_state(written, "mapping.json")) == written


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_with("digest", 1), 'images["docker.io/library/alpine:3.19"].digest: expected a digest'),
        (_with("digest", "latest"), ".digest: expected a digest like 'sha256:<hex>', got 'latest'"),
        (_with("platforms", "linux/amd64"), ".platforms: expected a list of strings, got 'linux/amd64'"),
        (_with("status", "mirrored"), ".status: expected 'copied' or 'failed', got 'mirrored'"),
        (_with("status", None), ".status: expected 'copied' or 'failed', got None"),
        (_with("source", "alpine"), ".source: 'alpine' differs from the entry's key"),
        (_with("destination", 5), ".destination: expected a string, got 5"),
        (_with("error", ["x"]), ".error: expected a string or null"),
        (_with("colour", "red"), ".unknown key 'colour'"),
        ('{"version": 1, "images": []}', "not a syncer state file (no 'images' object)"),
        ('{"version": 9, "images": {}}', "written by a newer syncer (state version 9"),
        (_with("history", [{"digest": "sha256:x"}]), ".history: expected a list of {digest, at, commit}"),
        (_with("companions", "signature"), ".companions: expected a list of strings"),
        ('{"version": "one", "images": {}}', "version: expected a number"),
        ((DATA / "mapping-v1.json").read_text()[:400], "mapping.json:12: not valid JSON (Expecting"),
        ('{\n<<<<<<< HEAD\n"version": 1,\n=======\n>>>>>>> other\n}', "mapping.json:2: git conflict markers"),
    ],
)  # fmt: skip
def test_a_hand_edited_state_is_refused_with_file_key_and_the_way_forward(
    text: str, message: str
) -> None:
    with pytest.raises(StateError) as raised:
        load_state(text, "mapping.json")
    assert message in str(raised.value)
    assert str(raised.value).startswith("mapping.json")
    assert "syncer repair-state" in str(raised.value) or "upgrade syncer" in str(raised.value)
    assert raised.value.exit_code == 2


def test_the_cli_stops_before_any_copy_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "source-images.list").write_text("alpine:3.19\n")
    (tmp_path / "mapping.json").write_text(_with("digest", 1))
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    # git alone on PATH, no skopeo: the state must be refused before anything would copy.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "git").symlink_to(shutil.which("git") or "/usr/bin/git")
    env = {**os.environ, "SYNCER_DESTINATION": "127.0.0.1:9/m", "PATH": str(bin_dir)}
    result = subprocess.run(
        [sys.executable, "-m", "syncer", "run", "--all", "--no-push", "-C", str(tmp_path)],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        'syncer: error: mapping.json: images["docker.io/library/alpine:3.19"].digest: expected '
        "a digest like 'sha256:<hex>', got 1; fix it by hand, or run 'syncer repair-state' to "
        "rebuild it from the destination"
    ]
