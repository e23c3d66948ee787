import pytest

from syncer.imagelist.diff import added_images, removed_images
from syncer.imagelist.parse import map_destinations, parse_line, parse_list
from syncer.imagelist.reference import InvalidReference


def test_comments_blanks_spaces_crlf_and_bom_are_fine() -> None:
    text = "\ufeff# header\r\n\r\n  nginx  \t# web\r\n\tquay.io/a/b:1\r\n   \n"
    images = parse_list(text, "source-images.list")
    assert images.errors == ()
    assert [(e.line, e.key) for e in images.entries] == [
        (3, "docker.io/library/nginx:latest"),
        (4, "quay.io/a/b:1"),
    ]


def test_every_bad_line_is_reported_with_its_number() -> None:
    text = "alpine:3\n$(touch /tmp/x)\n--src-creds=a:b\nok/image:1\nhttps://x.io/a\na b\nUPPER\n"
    images = parse_list(text, "list")
    assert [str(p).split(":")[1] for p in images.errors] == ["2", "3", "5", "6", "7"]
    assert [e.line for e in images.entries] == [1, 4]
    assert all(str(p).startswith("list:") for p in images.errors)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("--src-creds=a:b", "command-line option"),
        ("-h", "command-line option"),
        ("https://quay.io/a/b", "is a URL"),
        ("nginx latest", "holds spaces"),
        ("a" * 5000, "characters long"),
        ("$(id)", "not a valid image reference"),
        ("a;b", "not a valid image reference"),
        ("nginx:1\x00", "not a valid image reference"),
    ],
)
def test_bad_line_says_why(line: str, reason: str) -> None:
    with pytest.raises(InvalidReference, match=reason):
        parse_line(line)


def test_bad_line_is_shown_escaped_and_short() -> None:
    images = parse_list("x\x1b[31m" + "y" * 100 + "\n", "l")
    (problem,) = images.errors
    assert "\x1b" not in str(problem)
    assert len(str(problem)) < 250


def test_same_image_twice_is_a_duplicate_kept_once() -> None:
    images = parse_list("nginx\ndocker.io/library/nginx:latest\n", "l")
    assert len(images.entries) == 1
    assert [str(p) for p in images.duplicates] == [
        "l:2: docker.io/library/nginx:latest is the same image as line 1 "
        "(docker.io/library/nginx:latest)"
    ]


def test_added_ignores_spelling_order_and_comments() -> None:
    base = parse_list("nginx\nquay.io/a/b:1\n", "l")
    head = parse_list(
        "# sorted\nquay.io/a/b:1  # x\r\ndocker.io/library/nginx:latest\nbusybox:1\n", "l"
    )
    assert [e.key for e in added_images(base, head)] == ["docker.io/library/busybox:1"]
    assert removed_images(base, head) == ()


def test_removed_and_all_new_without_base() -> None:
    base = parse_list("nginx\nalpine:3\n", "l")
    head = parse_list("alpine:3\n", "l")
    assert [e.key for e in removed_images(base, head)] == ["docker.io/library/nginx:latest"]
    assert added_images(None, head) == head.entries


def test_unmappable_entry_is_a_problem_with_its_line() -> None:
    images = parse_list("alpine:3\n[fc00::1]:5000/a:1\n", "l")
    mappings, problems = map_destinations(images.entries, "r.example.com/m", "l")
    assert [str(m.destination) for m in mappings] == ["r.example.com/m/docker.io/library/alpine:3"]
    assert [p.line for p in problems] == [2]
