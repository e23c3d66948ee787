"""A report too large for one file: `MAPPING.md` keeps what needs attention and links to pages
that show every image once; the pages are written, compared and removed like the report."""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import TypedDict
from urllib.parse import unquote

import pytest

from syncer.cli import main
from syncer.config import Config, load_config
from syncer.errors import UsageError
from syncer.files import Text, holds, write_atomic
from syncer.imagelist.parse import Mapping, map_destinations, parse_list
from syncer.record.image import Content, Image, Reason, State, Status
from syncer.record.pages import PAGE_ROWS, Group, file_names, plan_pages, repository
from syncer.record.report import report_files, report_pieces
from syncer.record.state import apply_results
from syncer.workspace import PageFolder, show_changes
from testing.gitrepo import Remote, git
from testing.records import dump_state

PREFIX = "harbor.example.com/third"
MB, LINES = 1_000_000, 5_000  # what each file may hold at most
A, B = "sha256:" + "a" * 64, "sha256:" + "b" * 64


class _Names(TypedDict):
    prefix: str
    list_file: str
    state_file: str


NAMES: _Names = {"prefix": PREFIX, "list_file": "source-images.list", "state_file": "mapping.json"}


def _names(count: int) -> list[str]:
    """`count` list lines over five registries, most of them Docker Hub's, several tags a
    repository, and one repository (busybox) with more tags than a page holds."""
    shares = [
        ("docker.io", 0.45),
        ("quay.io", 0.2),
        ("ghcr.io", 0.1),
        ("registry.k8s.io", 0.05),
        ("localhost:5000", 0.02),
    ]
    names = [f"busybox:1.{i}" for i in range(count // 8)]
    for registry, share in shares:
        names += [
            f"{registry}/team{i % 37}/app{i // 5}:v{i % 5}.{i}" for i in range(int(count * share))
        ]
    names += [f"nginx:1.{i}" for i in range(count - len(names))]
    return names


def _mirror(
    count: int, failed: int = 30, deferred: int = 10, drifted: int = 10, pending: int = 20,
    names: list[str] | None = None,
) -> tuple[list[Mapping], State]:  # fmt: skip
    """A `count`-image list and its state: most mirrored; every 97th of the first ones
    failed (a few of them unverified), deferred or drifted; the last few never copied."""
    lines = "\n".join(names or _names(count)) + "\n"
    mappings, problems = map_destinations(
        parse_list(lines, "source-images.list").entries, PREFIX, "l"
    )
    assert not problems
    results = []
    for i, mapping in enumerate(mappings[: count - pending]):
        image = Image(mapping.key, str(mapping.destination), Status.COPIED, digest=A,
                      platforms=("linux/amd64", "linux/arm64"), companions=("signature",))  # fmt: skip
        n = i // 97 if i % 97 == 0 else None
        if n is not None and n < failed:
            reason = Reason.UNVERIFIED if n % 6 == 0 else Reason.NOT_FOUND
            image = image._replace(status=Status.FAILED, reason=reason, error="manifest unknown")
        elif n is not None and n < failed + deferred:
            image = image._replace(status=Status.DEFERRED, reason=Reason.QUOTA, digest=None)
        elif n is not None and n < failed + deferred + drifted:
            image = image._replace(drift=f"{B} -> {A} (updated)")
        results.append(image)
    return mappings, apply_results({}, results, "c" * 40, "2026-01-01T00:00:00Z")


def _render(mappings: list[Mapping], state: State, page_size: int | None = None) -> dict[str, Text]:
    return report_files(mappings, state, report="MAPPING.md", folder="mapping",
                        page_size=page_size or PAGE_ROWS, **NAMES)  # fmt: skip


def _write(root: Path, files: dict[str, Text]) -> dict[str, str]:
    texts = {}
    for name, content in files.items():
        write_atomic(root / name, content)
        texts[name] = (root / name).read_text(encoding="utf-8")
    return texts


def _links(text: str, start: str) -> list[str]:
    """The paths of the markdown files `text` (the file `start`) links to."""
    found = re.findall(r"\]\(([^)\s]+\.md)\)", text)
    return [posixpath.normpath(posixpath.join(posixpath.dirname(start), unquote(f))) for f in found]


def _sources(text: str) -> list[str]:
    return [line.split("`")[1] for line in text.splitlines() if line.startswith("| `")]


def _within_limits(texts: dict[str, str]) -> None:
    for name, text in texts.items():
        assert len(text.encode()) <= MB, name
        assert text.count("\n") <= LINES, name


def test_a_20000_image_report_is_a_book_of_small_pages_every_image_on_one_and_stable(
    tmp_path: Path,
) -> None:
    mappings, state = _mirror(20_000)
    files = _render(mappings, state)
    texts = _write(tmp_path, files)
    assert next(iter(texts)) == "MAPPING.md"
    assert len(texts) > 10  # Docker Hub alone is 11,000 images
    _within_limits(texts)
    report = texts["MAPPING.md"]
    assert (
        "20000 images: 19940 mirrored, 30 failed, 20 pending, 10 deferred, 10 drifted, 5 unverified."
        in report
    )

    # What needs attention is on MAPPING.md itself, each image named, failed ones first.
    attention = _sources(report.partition("## Needs attention")[2].partition("\n## ")[0])
    failed = [k for k, s in state.items() if s.failed]
    deferred = [k for k, s in state.items() if s.status is Status.DEFERRED]
    drifted = [k for k, s in state.items() if s.drift and not s.failed]
    assert attention == sorted(failed) + sorted(deferred) + sorted(drifted)
    assert "FAILED (unverified): manifest unknown" in report

    # Every page is linked from MAPPING.md, and every image is on exactly one of them.
    linked = _links(report, "MAPPING.md")
    assert sorted(set(linked)) == sorted(name for name in texts if name != "MAPPING.md")
    on_pages = [source for page in sorted(set(linked)) for source in _sources(texts[page])]
    assert sorted(on_pages) == sorted(m.key for m in mappings)
    for page in set(linked):  # and each page links back
        assert "MAPPING.md" in _links(texts[page], page)

    # A repository larger than a page is split; others stay whole on one page.
    pages_of: dict[str, set[str]] = {}
    for page in set(linked):
        for source in _sources(texts[page]):
            pages_of.setdefault(source.rpartition(":")[0], set()).add(page)
    assert len(pages_of["docker.io/library/busybox"]) == 2
    assert all(len(pages) == 1 for repo, pages in pages_of.items() if "busybox" not in repo)

    # The same state again: the same files, the same bytes.
    again = _render(mappings, state)
    assert list(again) == list(files)
    assert all(holds(tmp_path / name, content) for name, content in again.items())


def test_a_huge_attention_list_is_cut_failed_first_and_many_removed_images_get_pages(
    tmp_path: Path,
) -> None:
    mappings, state = _mirror(3000, failed=25, deferred=5, drifted=0, pending=0)
    state = {k: s._replace(status=Status.FAILED, reason=Reason.NETWORK) for k, s in state.items()}
    charts = [m.key for m in mappings[:150]]
    state.update((k, state[k]._replace(content=Content.CHART, platforms=())) for k in charts)
    removed = {f"quay.io/old/gone{i}:1": Image(f"quay.io/old/gone{i}:1", f"{PREFIX}/quay.io/old/gone{i}:1",
                                               Status.COPIED, digest=A, removed_at="2026-02-01T00:00:00Z")
               for i in range(700)}  # fmt: skip
    state.update(removed)
    texts = _write(tmp_path, _render(mappings, state, page_size=500))
    _within_limits(texts)
    report = texts["MAPPING.md"]
    attention = _sources(report.partition("## Needs attention")[2].partition("\n## ")[0])
    assert len(attention) == 1000
    assert "The first 1000 of 3000 images that failed" in report
    assert report.count("\nhelm pull oci://") == 100
    assert "And 50 more charts: their pages show each one's mirror name." in report
    removed_section = report.partition("## Removed from the list")[2]
    assert "700 images, on pages of their own: [Removed from the list (1 of 2)]" in removed_section
    removed_pages = _links(removed_section, "MAPPING.md")
    assert len(removed_pages) == 2
    listed = [source for page in removed_pages for source in _sources(texts[page])]
    assert sorted(listed) == sorted(removed)
    image_pages = set(_links(report, "MAPPING.md")) - set(removed_pages)
    on_pages = [source for page in image_pages for source in _sources(texts[page])]
    assert sorted(on_pages) == sorted(m.key for m in mappings)


def test_a_report_that_fits_one_page_is_one_file_with_the_bytes_it_always_had() -> None:
    from tests.test_report import GOLDEN, PREFIX, _golden_inputs

    mappings, state, selected = _golden_inputs()
    names: _Names = {**NAMES, "prefix": PREFIX}
    files = report_files(
        mappings, state, report="MAPPING.md", folder="mapping", selected=selected, **names
    )
    assert list(files) == ["MAPPING.md"]
    assert "".join(files["MAPPING.md"]) == GOLDEN.read_text()
    paged = report_files(
        mappings, state, report="MAPPING.md", folder="m", selected=selected, page_size=2, **names
    )
    assert list(paged) == [
        "MAPPING.md", "m/docker.io.md", "m/ghcr.io.md", "m/quay.io.md", "m/registry.k8s.io.md",
    ]  # fmt: skip


def test_a_custom_template_renders_the_report_alone_whatever_its_size(tmp_path: Path) -> None:
    template = tmp_path / "mine.md.j2"
    template.write_text("{{ summary }} {{ rows | length }} {{ pages | length }}\n")
    mappings, state = _mirror(300)
    files = report_files(mappings, state, report="R.md", folder="p", template=template,
                         page_size=10, **NAMES)  # fmt: skip
    assert list(files) == ["R.md"]
    text = "".join(files["R.md"])
    assert text == "".join(report_pieces(mappings, state, template=template, **NAMES))
    assert text.endswith(" 300 0\n")


def test_pages_break_between_repositories_unless_one_fills_a_page_alone() -> None:
    keys = [f"r.io/a:{i}" for i in range(3)] + [f"r.io/b:{i}" for i in range(7)] + ["r.io/c:1"]
    pages = plan_pages([Group("r.io", "r.io", sorted(keys))], lambda key: 1, "f", rows=4)
    assert [list(p.keys) for p in pages] == [
        ["r.io/a:0", "r.io/a:1", "r.io/a:2"],
        ["r.io/b:0", "r.io/b:1", "r.io/b:2", "r.io/b:3"],
        ["r.io/b:4", "r.io/b:5", "r.io/b:6", "r.io/c:1"],
    ]
    assert [p.path for p in pages] == ["f/r.io-1.md", "f/r.io-2.md", "f/r.io-3.md"]
    assert pages[1].title == "r.io (2 of 3)"
    by_size = plan_pages([Group("r.io", "x", sorted(keys))], lambda key: 10, "f", budget=35)
    assert [len(p.keys) for p in by_size] == [3, 3, 3, 2]
    one = plan_pages([Group("r.io", "x", keys[:2])], lambda key: 1, "f")
    assert [(p.path, p.title) for p in one] == [("f/x.md", "r.io")]


def test_a_page_name_is_the_registry_made_safe_and_different_from_every_other() -> None:
    names = file_names(["removed", "localhost:5000", "Quay.io", "quay.io", "[::1]:5000", "Removed"])
    assert names == {"removed": "removed", "localhost:5000": "localhost_5000",
                     "Quay.io": "quay.io", "quay.io": "quay.io_2", "[::1]:5000": "___1__5000",
                     "Removed": "removed_2"}  # fmt: skip
    assert repository("docker.io/library/alpine:3") == "library/alpine"
    assert repository("localhost:5000/a/b:1") == "a/b"
    assert repository(f"localhost:5000/a/b@{A}") == "a/b"
    assert repository(f"quay.io/a/b:1@{A}") == "a/b"


def test_the_pages_folder_is_beside_the_report_and_owns_only_pages(tmp_path: Path) -> None:
    assert Config().pages == "mapping"
    assert Config(report="docs/MAPPING.md").pages == "docs/mapping"
    assert Config(report_pages="./out/pages/").pages == "out/pages"
    folder = PageFolder("mapping")
    (tmp_path / "mapping").mkdir()
    (tmp_path / "mapping" / "old.md").write_text("# Mirrored images: old\n")
    (tmp_path / "mapping" / "README.md").write_text("# Our notes\n")
    (tmp_path / "mapping" / "keep.txt").write_text("# Mirrored images: not markdown\n")
    assert folder.stale(tmp_path, ["mapping/new.md"]) == ["mapping/old.md"]
    assert folder.stale(tmp_path, ["mapping/old.md"]) == []
    assert folder.owns("mapping/gone.md")
    assert not folder.owns("mapping/sub/x.md")
    assert not folder.owns("MAPPING.md")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("report_page_size: 0\n", "report_page_size must be at least 1, got 0"),
        ("report_page_size: lots\n", "report_page_size must be a whole number"),
        ("report_pages: /etc\n", "report_pages must be a folder inside the repository"),
        ("report_pages: ../elsewhere\n", "report_pages must be a folder inside the repository"),
        ("report_pages: .\n", "report_pages must be a folder inside the repository"),
    ],
)
def test_the_page_keys_say_what_is_wrong_with_them(
    tmp_path: Path, content: str, message: str
) -> None:
    (tmp_path / "syncer.yaml").write_text(content)
    with pytest.raises(UsageError, match=message):
        load_config(tmp_path, {}, {})
    (tmp_path / "syncer.yaml").write_text("report_pages: docs/images\n")
    config = load_config(tmp_path, {"SYNCER_REPORT_PAGE_SIZE": "7"}, {})
    assert (config.pages, config.report_page_size) == ("docs/images", 7)


def test_a_dry_run_counts_unchanged_pages_and_names_the_ones_no_longer_needed(
    tmp_path: Path,
) -> None:
    mappings, state = _mirror(300)
    config = Config(root=tmp_path, report_page_size=40)
    files = report_files(mappings, state, report=config.report, folder=config.pages,
                         page_size=config.report_page_size, **NAMES)  # fmt: skip
    _write(tmp_path, files)
    write_atomic(tmp_path / "mapping" / "nobody.io.md", "# Mirrored images: nobody.io\n")
    shown: list[str] = []
    show_changes(config, files, shown.append)
    assert shown == [
        "MAPPING.md: unchanged",
        f"mapping/: {len(files) - 1} pages unchanged",
        "mapping/nobody.io.md: removed (no longer needed)",
    ]
    state |= apply_results(state, [state[mappings[1].key]._replace(digest=B)], "d" * 40)
    files = report_files(mappings, state, report=config.report, folder=config.pages,
                         page_size=config.report_page_size, **NAMES)  # fmt: skip
    shown.clear()
    show_changes(config, files, shown.append)
    diff = next(line for line in shown if line.startswith("--- mapping/"))
    assert "+| `docker.io/library/busybox:1.1` |" in diff
    assert f"mapping/: {len(files) - 2} pages unchanged" in shown


def _report(work: Path, *args: str) -> None:
    assert main(["report", *args, "-C", str(work)]) == 0


@pytest.mark.integration
def test_a_page_no_longer_needed_is_removed_in_the_report_commit_and_pushed_later(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listed = [*_names(10), "localhost:5000/a/b:1"]
    mappings, state = _mirror(11, failed=1, deferred=0, drifted=0, pending=0, names=listed)
    names = "\n".join(m.key for m in mappings) + "\n"
    remote = Remote(tmp_path, {
        "syncer.yaml": f"destination: {PREFIX}\nreport_page_size: 2\n",
        "source-images.list": names, "mapping.json": dump_state(state),
        "mapping/README.md": "# Notes of our own, kept\n",
    })  # fmt: skip
    work = tmp_path / "work"
    git(tmp_path, "clone", "--quiet", remote.url, str(work))
    _report(work)
    tree = git(remote.bare, "ls-tree", "-r", "--name-only", "main").splitlines()
    pages = [name for name in tree if name.startswith("mapping/") and name != "mapping/README.md"]
    assert "mapping/localhost_5000.md" in pages
    assert len(pages) > 4

    # The list loses localhost:5000's image: its page goes, in the report's commit.
    shrunk = "".join(line + "\n" for line in names.splitlines() if "localhost" not in line)
    git(work, "pull", "--quiet")
    (work / "source-images.list").write_text(shrunk)
    git(work, "commit", "--quiet", "-am", "drop localhost")
    git(work, "push", "--quiet")
    _report(work, "--no-push")
    changed = git(work, "show", "--name-status", "--format=", "HEAD").splitlines()
    assert "D\tmapping/localhost_5000.md" in changed
    assert {"M\tMAPPING.md", "M\tmapping.json"} <= set(changed)
    assert not (work / "mapping" / "localhost_5000.md").exists()
    capsys.readouterr()
    _report(work)  # the unpushed commit that removed a page is syncer's own: pushed now
    assert "pushing 1 report commit(s) that an earlier run left unpushed" in capsys.readouterr().out
    assert remote.head() == git(work, "rev-parse", "HEAD")

    # Larger pages: the report fits one file again, and every page goes but the team's own.
    (work / "syncer.yaml").write_text(f"destination: {PREFIX}\n")
    git(work, "commit", "--quiet", "-am", "one file")
    _report(work)
    tree = git(remote.bare, "ls-tree", "-r", "--name-only", "main").splitlines()
    assert [name for name in tree if name.startswith("mapping/")] == ["mapping/README.md"]
    assert "## docker.io" in remote.show("main", "MAPPING.md")
    _report(work)
    assert "report unchanged, nothing to commit" in capsys.readouterr().out
