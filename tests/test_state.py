"""mapping.json is read strictly: a hand edit that syncer cannot trust stops it before any
work, naming the file, the image and the key; files written by earlier versions still load."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncer.record.compiled import line as _line
from syncer.record.fields import STATE_NAMES
from syncer.record.image import Copied, ImageState
from syncer.record.statefile import VERSION, StateError, load_state
from syncer.workspace import load_state_file
from testing.records import dump_state

DATA = Path(__file__).parent / "data"
ALPINE = "docker.io/library/alpine:3.19"


def _good() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / "mapping-v1.json").read_text())
    return data


def _with(key: str, value: object) -> str:
    data = _good()
    data["images"][ALPINE][key] = value
    return json.dumps(data, indent=2)


def test_a_version_1_file_of_an_earlier_release_loads_and_migrates() -> None:
    text = (DATA / "mapping-v1.json").read_text()
    state = load_state(text, "mapping.json")
    assert state[ALPINE].platforms == ("linux/amd64", "linux/arm64")
    assert state["quay.io/prometheus-operator/prometheus-operator:v0.47.0"].failed
    # The one digest version 1 knew becomes the start of the history (when: unknown).
    assert [(h.digest, h.at, h.commit) for h in state[ALPINE].history] == [
        (state[ALPINE].digest, None, "0f3a6c1e2b7d9a8c4e5f60718293a4b5c6d7e8f9")
    ]
    written = dump_state(state)
    assert json.loads(written)["version"] == VERSION == 4
    assert load_state(written, "mapping.json") == state  # and the new version round-trips
    assert dump_state(load_state(written, "mapping.json")) == written


def test_a_version_2_file_loads_with_everything_it_recorded_and_is_rewritten_one_line_an_image() -> (
    None
):
    text = (DATA / "mapping-v2.json").read_text()  # written by the release before version 3
    assert json.loads(text)["version"] == 2
    state = load_state(text, "mapping.json")
    alpine, nginx = state[ALPINE], state["docker.io/library/nginx:1.26.0"]
    assert alpine.companions == ("attestation", "signature")
    assert alpine.verified == "cosign.pub"
    assert alpine.drift is not None
    assert alpine.drift.endswith("(updated)")
    assert [h.at for h in alpine.history] == ["2026-03-01T10:00:00Z", "2026-06-01T10:00:00Z"]
    assert nginx.unselected
    assert nginx.selected_by == "docker.io/library/nginx tags=semver:~1.26"
    written = dump_state(state)
    lines = written.splitlines()
    assert lines[:3] == ["{", '  "version": 4,', '  "images": {']
    assert len(lines) == 3 + len(state) + 2  # one line an image
    assert all(line.startswith('    "') for line in lines[3:-2])
    failed = json.loads(lines[-3].rstrip(",").partition(": ")[2])
    assert "digest" not in failed  # defaults are left out
    assert "history" not in failed
    assert load_state(written, "mapping.json") == state
    assert json.loads(written) == {"version": 4, "images": json.loads(written)["images"]}


def test_a_version_3_file_loads_line_by_line_and_is_rewritten_as_version_4(tmp_path: Path) -> None:
    text = (DATA / "mapping-v3.json").read_text()  # written by the release before version 4
    assert json.loads(text)["version"] == 3
    path = tmp_path / "mapping.json"
    path.write_text(text)
    state = load_state_file(path, "mapping.json")
    assert (
        state
        == load_state(text, "mapping.json")
        == load_state((DATA / "mapping-v2.json").read_text(), "mapping.json")
    )
    written = dump_state(state)
    assert written == text.replace('"version": 3', '"version": 4', 1)  # nothing else changes
    assert all(entry.source_digest is None and entry.content is None for entry in state.values())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_with("digest", 1), 'images["docker.io/library/alpine:3.19"].digest: expected a digest'),
        (_with("digest", "latest"), ".digest: expected a digest like 'sha256:<hex>', got 'latest'"),
        (_with("platforms", "linux/amd64"), ".platforms: expected a list of strings, got 'linux/amd64'"),
        (_with("status", "mirrored"), ".status: expected 'copied', 'failed' or 'deferred', got 'mirrored'"),
        (_with("status", None), ".status: expected 'copied', 'failed' or 'deferred', got None"),
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


_text = st.text(max_size=12)
_maybe = st.none() | _text
_states = st.builds(
    ImageState,
    source=_text,
    destination=_text,
    status=st.sampled_from(["copied", "failed"]),
    digest=_maybe,
    platforms=st.lists(_text, max_size=3).map(tuple),
    commit=_maybe,
    reason=_maybe,
    error=_maybe,
    companions=st.lists(_text, max_size=3).map(tuple),
    verified=_maybe,
    drift=_maybe,
    history=st.lists(st.builds(Copied, _text, _maybe, _maybe), max_size=2).map(tuple),
    selected_by=_maybe,
    unselected=st.booleans(),
)


@given(_states)
def test_an_image_line_is_the_json_encoders_own_bytes(image: ImageState) -> None:
    # The line is built field by field for speed; it must be what json.dumps would write.
    as_dict = {
        name: value
        for name, value in image._asdict().items()
        if (value not in (None, False, ()) or name in ("source", "destination", "status"))
        and name in STATE_NAMES  # a run's own fields (seconds) are not recorded
    }
    del as_dict["source"]  # the line's key
    as_dict["history"] = [h._asdict() for h in image.history]
    if not image.history:
        del as_dict["history"]
    assert _line(image) == json.dumps(as_dict, sort_keys=True)


def _v3(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mapping.json"
    path.write_bytes(text.encode())
    return path


def test_a_version_3_file_is_read_a_line_at_a_time_with_the_same_answers_as_whole(
    tmp_path: Path,
) -> None:
    state = load_state((DATA / "mapping-v2.json").read_text(), "mapping.json")
    written = dump_state(state)
    assert load_state_file(_v3(tmp_path, written), "mapping.json") == state
    # Layouts the line reader does not take are read whole, with the same result.
    for variant in (
        written.replace("\n", "\r\n"),  # a Windows checkout
        json.dumps(json.loads(written), indent=2),  # reformatted by hand
        written.replace('"status": "failed"}', '"status": "failed"\n    }'),  # one entry
    ):
        assert load_state_file(_v3(tmp_path, variant), "mapping.json") == state
    assert load_state_file(tmp_path / "none.json", "mapping.json") == {}


def test_a_state_of_many_blocks_is_one_line_an_image_and_reads_back(tmp_path: Path) -> None:
    from syncer.files import BLOCK

    one = load_state((DATA / "mapping-v2.json").read_text(), "mapping.json")
    image = next(iter(one.values()))
    keys = [f"quay.io/org/app{i:05d}:v1" for i in range(2 * BLOCK + 1)]
    state = {key: image._replace(source=key) for key in keys}
    written = dump_state(state)
    assert written.count("\n") == len(state) + 5  # `{`, version, `"images": {`, `}` and `}`
    assert list(json.loads(written)["images"]) == sorted(state)
    assert load_state_file(_v3(tmp_path, written), "mapping.json") == state


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace('"status": "failed"', '"status": "gone"'), 'images["quay.io/prometheus-operator/prometheus-operator:v0.47.0"].status: expected'),
        (lambda t: t.replace('"platforms": ["linux/amd64"]', '"platforms": "linux/amd64"'), 'images["docker.io/library/nginx:1.26.0"].platforms: expected a list'),
        (lambda t: t[: t.index("docker.io/library/nginx")], "mapping.json:5: not valid JSON"),
        (lambda t: t.replace("\n    \"docker.io/library/nginx", "\n<<<<<<< HEAD\n    \"docker.io/library/nginx", 1), "mapping.json:5: git conflict markers"),
        (lambda t: t.replace('{"commit": "2222', '{"source": "x", "commit": "2222'), "source: 'x' differs from the entry's key"),
        (lambda t: t.replace('"destination": "harbor.example.com:5000/third/docker.io/library/nginx:1.26.0", ', ""), 'images["docker.io/library/nginx:1.26.0"].destination: expected a string, got None'),
    ],
)  # fmt: skip
def test_a_bad_line_of_a_version_3_file_names_the_image_or_line(
    tmp_path: Path, edit: Callable[[str], str], message: str
) -> None:
    written = dump_state(load_state((DATA / "mapping-v2.json").read_text(), "mapping.json"))
    with pytest.raises(StateError) as raised:
        load_state_file(_v3(tmp_path, edit(written)), "mapping.json")
    assert message in str(raised.value)


def test_a_file_that_already_holds_the_bytes_is_left_alone(tmp_path: Path) -> None:
    from syncer.files import Pieces, Text
    from syncer.publish import write_files
    from syncer.record.statedump import state_lines

    state = load_state((DATA / "mapping-v2.json").read_text(), "mapping.json")
    files: dict[str, Text] = {
        "mapping.json": Pieces(lambda: state_lines(state)),
        "MAPPING.md": "# report\n",
    }
    assert write_files(tmp_path, files) == (["mapping.json", "MAPPING.md"], None)
    assert (tmp_path / "mapping.json").read_text() == dump_state(state)
    before = {name: (tmp_path / name).stat() for name in files}
    assert write_files(tmp_path, files) == (["mapping.json", "MAPPING.md"], None)
    for name, stat in before.items():  # not rewritten: same file, same time
        now = (tmp_path / name).stat()
        assert (now.st_ino, now.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)
    write_files(tmp_path, {"MAPPING.md": "# report, changed\n"})
    assert (tmp_path / "MAPPING.md").stat().st_ino != before["MAPPING.md"].st_ino


_KEYS = ["source", "destination", "status", "digest", "platforms", "companions", "commit",
         "reason", "error", "verified", "drift", "selected_by", "unselected", "history", "colour"]  # fmt: skip
_values = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=8)
    | st.sampled_from(["copied", "failed", "sha256:" + "a" * 64])
    | st.lists(st.text(max_size=4), max_size=2)
    | st.lists(st.builds(Copied, st.text(max_size=4), st.none(), st.none()), max_size=2)
    | st.lists(st.integers(), max_size=2)
)
# A valid entry with some of its fields changed or dropped: both answers get exercised.
_entries = st.builds(
    lambda changes, dropped: {
        key: value
        for key, value in {"source": "a", "destination": "b", "status": "copied", **changes}.items()
        if key not in dropped
    },
    st.dictionaries(st.sampled_from(_KEYS), _values, max_size=3),
    st.sets(st.sampled_from(_KEYS), max_size=1),
)


@given(_entries)
def test_the_fast_entry_check_agrees_with_the_one_that_says_why(entry: dict[str, object]) -> None:
    from syncer.record.compiled import entry_decode
    from syncer.record.fields import entry_problem

    as_read = dict(entry)
    assert entry_decode(entry, {}) == (entry_problem(as_read) is None)
    if entry_problem(as_read) is not None:
        assert entry == as_read  # refused: untouched, so the words are about what was read
