from pathlib import Path
from typing import TypedDict

import pytest

from syncer.imagelist.parse import Mapping, map_destinations, parse_list
from syncer.record.image import ImageResult, Reason, State, Status
from syncer.record.rows import cell
from syncer.record.state import apply_results, merge, needs_work
from syncer.record.statefile import load_state
from syncer.registry.manifest import platforms_of
from testing.records import dump_state, render_report

PREFIX = "r.example.com/m"
DIGEST = "sha256:" + "b" * 64


class _Names(TypedDict):
    """The file names render_report takes as keywords, passed as one **kwargs."""

    prefix: str
    list_file: str
    state_file: str


def _mappings(text: str) -> list[Mapping]:
    return map_destinations(parse_list(text, "l").entries, PREFIX, "l")[0]


def test_render_is_sorted_deterministic_and_summarised() -> None:
    mappings = _mappings("quay.io/a/b:1\nalpine:3\n")
    results = [
        ImageResult("docker.io/library/alpine:3", f"{PREFIX}/docker.io/library/alpine:3",
                    Status.COPIED, 1.0, DIGEST, ("linux/amd64", "linux/arm64")),
        ImageResult("quay.io/a/b:1", f"{PREFIX}/quay.io/a/b:1", Status.FAILED,
                    reason=Reason.NOT_FOUND, error="manifest unknown | <b>x</b>"),
    ]  # fmt: skip
    state = apply_results({}, results, "c0ffee" * 6 + "abcd")
    kwargs: _Names = {"prefix": PREFIX, "list_file": "l", "state_file": "mapping.json"}
    first = render_report(mappings, state, **kwargs)
    assert first == render_report(mappings, state, **kwargs)
    assert "2 images: 1 mirrored, 1 failed." in first
    rows = [line for line in first.splitlines() if line.startswith("| `")]
    assert rows[0].startswith("| `docker.io/library/alpine:3`")
    assert "linux/amd64, linux/arm64" in rows[0]
    assert "c0ffeec0ff" in rows[0]
    assert "<b>" not in first
    assert "manifest unknown \\| &lt;b&gt;x&lt;/b&gt;" in rows[1]
    assert rows[1].count(" | ") == 6


def test_state_round_trips_and_keeps_the_last_good_copy_on_failure() -> None:
    ok = ImageResult("s", "d", Status.COPIED, 1, DIGEST, ("linux/amd64",))
    state = apply_results({}, [ok], "c1")
    assert load_state(dump_state(state), "x") == state
    failed = apply_results(
        state, [ImageResult("s", "d", Status.FAILED, reason=Reason.NETWORK)], "c2"
    )
    assert failed["s"].failed
    assert failed["s"].history == state["s"].history
    assert failed["s"].digest == DIGEST
    assert failed["s"].commit == "c1"
    skipped = apply_results(state, [ImageResult("s", "d", Status.SKIPPED, digest=DIGEST)], "c3")
    assert skipped["s"].commit == "c1"


def test_merge_keeps_other_jobs_results_and_drops_removed_images() -> None:
    theirs = apply_results(
        {}, [ImageResult("a", "d", Status.COPIED), ImageResult("gone", "d", Status.COPIED)], "t"
    )
    ours = apply_results({}, [ImageResult("b", "d", Status.COPIED)], "o")
    assert sorted(merge(theirs, ours, ["a", "b"])) == ["a", "b"]


def test_needs_work_failed_unknown_moved_or_incomplete() -> None:
    state = apply_results(
        {},
        [
            ImageResult("a", "d", Status.COPIED, digest=DIGEST, platforms=("linux/amd64",)),
            ImageResult("b", "d", Status.FAILED),
            ImageResult("no-platforms", "d", Status.COPIED, digest=DIGEST),
            ImageResult("no-digest", "d", Status.COPIED, platforms=("linux/amd64",)),
        ],
        "c",
    )
    mappings = [(name, "d") for name in ("a", "b", "c", "no-platforms", "no-digest")]
    assert needs_work(state, mappings) == {"b", "c", "no-platforms", "no-digest"}
    assert needs_work(state, [("a", "elsewhere")]) == {"a"}


def test_a_long_error_is_short_in_the_table_and_whole_in_the_state() -> None:
    error = "reading manifest: " + "x" * 300
    result = ImageResult("quay.io/a/b:1", f"{PREFIX}/quay.io/a/b:1", Status.FAILED,
                         reason=Reason.OTHER, error=error)  # fmt: skip
    state = apply_results({}, [result], "c")
    text = render_report(
        _mappings("quay.io/a/b:1\n"), state, prefix=PREFIX, list_file="l", state_file="s"
    )
    row = next(line for line in text.splitlines() if line.startswith("| `quay.io"))
    assert "FAILED (other): reading manifest: xxx" in row
    assert "…" in row
    assert len(row) < 250
    assert load_state(dump_state(state), "s")["quay.io/a/b:1"].error == error


def test_cell_escapes_markdown_and_html() -> None:
    assert cell("a|b\n`c` <i>") == "a\\|b \\`c\\` &lt;i&gt;"


def test_platforms_of_index_and_single_manifest() -> None:
    index = '{"manifests": [{"platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}}, {"platform": {"os": "unknown", "architecture": "unknown"}}]}'
    assert platforms_of(index) == ("linux/arm64/v8",)
    assert platforms_of('{"config": {}}') is None


def test_report_template_can_be_replaced(tmp_path: Path) -> None:
    template = tmp_path / "mine.md.j2"
    template.write_text(
        "{% for row in rows %}{{ row.source }} => {{ row.destination }}\n{% endfor %}"
    )
    text = render_report(
        _mappings("alpine:3\n"), {}, prefix=PREFIX, list_file="l", state_file="s", template=template
    )
    assert text == f"docker.io/library/alpine:3 => {PREFIX}/docker.io/library/alpine:3\n"


GOLDEN = Path(__file__).parent / "data" / "MAPPING.golden.md"


def _golden_inputs() -> tuple[list[Mapping], State, list[str]]:
    mappings = _mappings(
        "quay.io/prometheus/node-exporter:v1.8.0\nalpine:3.19\nregistry.k8s.io/pause:3.9\nghcr.io/x/gone:1\n"
    )
    a, b = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    selector = "docker.io/library/web tags=semver:^1.26 latest=1"
    results = [
        ImageResult("docker.io/library/alpine:3.19", f"{PREFIX}/docker.io/library/alpine:3.19", Status.COPIED,
                    digest=a, platforms=("linux/amd64", "linux/arm64"), companions=("signature", "attestation", "SBOM"),
                    verified="keys/cosign.pub"),
        ImageResult("quay.io/prometheus/node-exporter:v1.8.0", f"{PREFIX}/quay.io/prometheus/node-exporter:v1.8.0",
                    Status.COPIED, digest=b, platforms=("linux/amd64",), drift=f"{a} -> {b} (updated)"),
        ImageResult("registry.k8s.io/pause:3.9", f"{PREFIX}/registry.k8s.io/pause:3.9", Status.FAILED,
                    reason=Reason.NOT_FOUND, error="manifest unknown | " + "x" * 200),
        ImageResult("docker.io/library/web:1.26.3", f"{PREFIX}/docker.io/library/web:1.26.3", Status.COPIED,
                    digest=a, platforms=("linux/amd64",), selected_by=selector),
    ]  # fmt: skip
    state = apply_results({}, results, "c0ffee" * 6 + "abcd", "2026-11-28T12:00:00Z")
    return mappings, state, [*[k for k, v in state.items() if v.selected_by]]


def test_the_report_layout_is_the_golden_file_and_the_same_bytes_twice() -> None:
    mappings, state, selected = _golden_inputs()
    kwargs: _Names = {
        "prefix": PREFIX,
        "list_file": "source-images.list",
        "state_file": "mapping.json",
    }
    text = render_report(mappings, state, selected=selected, **kwargs)
    assert text == render_report(mappings, state, selected=selected, **kwargs)
    assert text == GOLDEN.read_text()
    assert all(line.count("\n") == 0 for line in text.splitlines())


def test_a_custom_template_gets_rows_groups_and_tables_and_its_errors_name_it(
    tmp_path: Path,
) -> None:
    from syncer.errors import SyncerError

    template = tmp_path / "mine.md.j2"
    template.write_text(
        "{{ rows | length }} {{ rows[0].source }}\n"
        "{% for registry, group in groups %}{{ registry }}: {{ group | length }}\n{{ tables[registry] }}\n{% endfor %}"
    )
    mappings = _mappings("alpine:3\nquay.io/a/b:1\nbusybox:1\n")
    text = render_report(
        mappings, {}, prefix=PREFIX, list_file="l", state_file="s", template=template
    )
    lines = text.splitlines()
    assert lines[0] == "3 docker.io/library/alpine:3"
    assert lines[1] == "docker.io: 2"
    assert lines[2].startswith("| `docker.io/library/alpine:3` |")
    assert lines[2].endswith("| pending |")
    assert lines[4] == "quay.io: 1"
    template.write_text("{{ rows[0].nothing_like_this }}")
    with pytest.raises(SyncerError) as raised:
        render_report(mappings, {}, prefix=PREFIX, list_file="l", state_file="s", template=template)
    assert str(raised.value).startswith(f"{template}: report template:")
    template.write_text("{% for row in rows %}")
    with pytest.raises(SyncerError, match=r"mine.md.j2:1: report template:"):
        render_report(mappings, {}, prefix=PREFIX, list_file="l", state_file="s", template=template)
