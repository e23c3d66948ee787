"""syncer scan: the images manifests name, found offline; the real CLI in a real git repo."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from syncer.cli import main
from syncer.imagelist.parse import parse_list
from syncer.imagelist.scan import Found, covers, findings, reference_of, scan_file
from syncer.imagelist.yamltree import MAX_FIELDS
from testing.gitrepo import Remote, git

DATA = Path(__file__).parent / "data" / "scan"
DIGEST = "sha256:" + "0123456789abcdef" * 4
LIST = "# what we mirror\nnginx\ndocker.io/library/postgres:16\n"
# What `syncer scan deploy` prints for tests/data/scan/manifests with LIST: first found first.
MANIFESTS = [
    "ghcr.io/acme/migrate:2.1  # from deploy/10-app.yaml",
    "docker.io/library/nginx:1.25  # from deploy/10-app.yaml",
    f"docker.io/envoyproxy/envoy@{DIGEST}  # from deploy/10-app.yaml",
    "docker.io/library/busybox:1.36  # from deploy/10-app.yaml",
    "registry.k8s.io/etcd:3.5.9-0  # from deploy/10-app.yaml",
    "quay.io/prometheus/node-exporter:v1.7.0  # from deploy/10-app.yaml",
    "docker.io/library/alpine:3.19  # from deploy/10-app.yaml",
    "docker.io/nicolaka/netshoot:v0.11  # from deploy/10-app.yaml",
    "ghcr.io/acme/api:1.4.2  # from deploy/20-list.yml",
    "docker.io/library/redis:7.2  # from deploy/20-list.yml",
    "ghcr.io/acme/worker:0.9  # from deploy/more/30-broken.yaml",
]
BROKEN = [  # deploy/more/30-broken.yaml, line by line
    (11, "holds a template placeholder"),
    (13, "holds a template placeholder"),
    (15, "holds a template placeholder"),
    (17, "must be lowercase"),
    (19, "image is empty"),
]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def problem_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if not line.startswith("syncer: ")]


def texts(data: str | bytes, name: str = "f.yaml") -> list[str]:
    scan = scan_file(data.encode() if isinstance(data, str) else data, name)
    return [found.text for found in scan.found]


# --- where images are found (pure) ---


@pytest.mark.parametrize(
    ("document", "image"),
    [
        ("kind: Pod\nspec: {containers: [{image: a:1}]}", "a:1"),
        ("kind: Deployment\nspec: {template: {spec: {containers: [{image: a:1}]}}}", "a:1"),
        ("kind: StatefulSet\nspec: {template: {spec: {initContainers: [{image: a:1}]}}}", "a:1"),
        ("kind: DaemonSet\nspec: {template: {spec: {containers: [{image: a:1}]}}}", "a:1"),
        ("kind: ReplicaSet\nspec: {template: {spec: {containers: [{image: a:1}]}}}", "a:1"),
        ("kind: Job\nspec: {template: {spec: {containers: [{image: a:1}]}}}", "a:1"),
        (
            "kind: CronJob\nspec: {jobTemplate: {spec: {template: {spec: {containers: [{image: a:1}]}}}}}",
            "a:1",
        ),
        ("kind: PodTemplate\ntemplate: {spec: {containers: [{image: a:1}]}}", "a:1"),
        ("kind: Rollout\nspec: {template: {spec: {containers: [{image: a:1}]}}}", "a:1"),
        ("kind: Pod\nspec: {ephemeralContainers: [{image: a:1}]}", "a:1"),
        ("kind: PodList\nitems: [{kind: Pod, spec: {containers: [{image: a:1}]}}]", "a:1"),
        ("services: {web: {image: a:1}}", "a:1"),
    ],
)
def test_each_place_an_image_is_named(document: str, image: str) -> None:
    assert texts(document) == [image]


@pytest.mark.parametrize(
    "document",
    [
        "kind: ConfigMap\ndata: {image: a:1}",
        "kind: CustomResourceDefinition\nspec: {versions: [{schema: {image: {type: string}}}]}",
        "image: {repository: a, tag: '1'}\n",  # a chart's values.yaml
        "kind: Deployment\nspec: {image: b:1, template: {spec: {image: c:1}}}",
        "kind: Pod\nspec: {containers: [{name: no-image}, a:1]}",
        "kind: List\nitems: [{kind: List, items: [{kind: Pod, spec: {containers: [{image: a:1}]}}]}]",
        "services: [a:1]",
        "- kind: Pod\n",
        "just text",
        "",
    ],
)
def test_what_names_no_image_to_mirror(document: str) -> None:
    scan = scan_file(document.encode(), "f.yaml")
    assert (scan.found, scan.problems) == ([], [])


def test_lines_are_those_of_the_image_values() -> None:
    scan = scan_file((DATA / "manifests" / "10-app.yaml").read_bytes(), "m.yaml")
    assert [(f.text, f.line) for f in scan.found][:3] == [
        ("ghcr.io/acme/migrate:2.1", 16),
        ("nginx:1.25", 19),
        (f"envoyproxy/envoy@{DIGEST}", 21),
    ]


def test_compose_merge_keys_follow_yaml() -> None:
    scan = scan_file((DATA / "compose.yaml").read_bytes(), "compose.yaml")
    # worker inherits the anchor's image (named on line 3, once), scheduler overrides it
    assert [(f.text, f.line) for f in scan.found] == [
        ("ghcr.io/acme/base:3", 3),
        ("nginx:1.25", 8),
        ("ghcr.io/acme/scheduler:3", 15),
        ("postgres:16", 19),
    ]


def test_aliases_name_one_field_once() -> None:
    document = (
        "kind: Pod\nspec:\n  containers:\n  - &c {name: a, image: 'x:1'}\n  - *c\n"
        "  - {<<: *c, name: b}\n  initContainers: [*c]\n"
    )
    assert [(f.text, f.line) for f in scan_file(document.encode(), "f").found] == [("x:1", 4)]


def test_helm_sources_name_the_template() -> None:
    scan = scan_file((DATA / "helm-template.yaml").read_bytes(), "-")
    assert [f.origin for f in scan.found] == [
        "- (shop/templates/deployment.yaml)",
        "- (shop/templates/deployment.yaml)",  # '<no value>': refused later, by findings
        "- (shop/charts/redis/templates/statefulset.yaml)",
        "- (shop/charts/redis/templates/statefulset.yaml)",
    ]
    # a document after `---` without a Source comment is no template's
    later = scan_file(
        b"# Source: c/t.yaml\nkind: Pod\n---\nkind: Pod\nspec: {containers: [{image: a}]}\n", "-"
    )
    assert [f.origin for f in later.found] == ["-"]


def test_malformed_yaml_is_one_line_and_earlier_documents_count() -> None:
    scan = scan_file((DATA / "malformed.yaml").read_bytes(), "malformed.yaml")
    assert [f.text for f in scan.found] == ["alpine:3.19"]
    [problem] = scan.problems
    assert (problem.path, problem.line) == ("malformed.yaml", 9)
    assert problem.message.startswith("malformed YAML: ")
    assert "\n" not in str(problem)


@pytest.mark.parametrize(
    ("data", "line", "message"),
    [
        (b"kind: Pod\nspec: {containers: [{image: a}]}\nx: \xff\n", 3, "not UTF-8"),
        (b"kind: Pod\nspec: {containers: [{image: *nowhere}]}\n", 2, "undefined alias"),
        (b"a: 'unclosed\n", 2, "malformed YAML"),
        (b"kind: Pod\nspec: {containers: [{image: [a]}]}\n", 2, "image is a sequence"),
        (b"kind: Pod\nspec: {containers: [{image: ~}]}\n", 2, "image is empty"),
    ],
)
def test_unreadable_yaml_and_images_are_file_line_messages(
    data: bytes, line: int, message: str
) -> None:
    [problem] = scan_file(data, "f.yaml").problems
    assert (problem.path, problem.line) == ("f.yaml", line)
    assert message in problem.message


def test_a_yaml_bomb_is_never_expanded() -> None:
    # billion laughs: nine levels of ten aliases each, used as containers, list items and
    # compose services; constructed, it would be 10**9 nodes
    levels = ["a0: &a0 {image: 'bomb:1'}"]
    levels += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 10)]
    text = "\n".join(levels)
    bomb = (
        f"{text}\nkind: List\nitems: [{', '.join(['{kind: Pod, spec: {containers: *a1}}'] * 10)}]\n"
        f"---\n{text}\nkind: Pod\nspec: {{containers: *a9, initContainers: *a1}}\n"
        f"---\n{text}\nservices: {{a: *a0, b: *a0}}\n"
    )
    started = time.monotonic()
    scan = scan_file(bomb.encode(), "bomb.yaml")
    assert time.monotonic() - started < 2
    assert scan.problems == []
    assert [(f.text, f.line) for f in scan.found] == [("bomb:1", 1), ("bomb:1", 14), ("bomb:1", 27)]


def test_a_document_that_keeps_too_much_is_refused_and_the_next_still_read() -> None:
    many = "".join(f"  - image: a:{n}\n" for n in range(MAX_FIELDS))
    data = f"kind: List\nitems: [{{kind: Pod, spec: {{containers: [a]}}}}]\nx:\n{many}---\nkind: Pod\nspec: {{containers: [{{image: b:1}}]}}\n"
    scan = scan_file(data.encode(), "big.yaml")
    assert [f.text for f in scan.found] == ["b:1"]
    [problem] = scan.problems
    assert problem.line == 1
    assert "not scanned" in problem.message


# --- which images the list lacks (pure) ---


@pytest.mark.parametrize(
    ("line", "image", "covered"),
    [
        ("docker.io/library/nginx:latest", "nginx", True),
        ("nginx", "index.docker.io/library/nginx:latest", True),
        ("nginx:1.25", "nginx", False),
        (f"nginx@{DIGEST}", f"docker.io/library/nginx@{DIGEST}", True),
        ("nginx:1.25", f"nginx:1.25@{DIGEST}", False),  # the tag may have moved
        ("web tags=semver:>=1.25,<1.27", "web:1.26.1", True),
        ("web tags=semver:>=1.25,<1.27", "web:1.27.0", False),
        ("web tags=semver:>=1.25,<1.27", "other:1.26.1", False),
        ("web tags=semver:>=1.25,<1.27 latest=2", "web:1.26.1", False),  # needs the registry
        ("web tags=regex:^1\\.26\\..*$", "web:1.26.1", True),
        ("web tags=regex:^1\\.26\\..*$", f"web:1.26.1@{DIGEST}", False),
    ],
)
def test_what_the_list_covers(line: str, image: str, covered: bool) -> None:
    images = parse_list(line + "\n", "l")
    assert covers(images, images.keys, reference_of(image)) is covered


def test_findings_once_each_with_every_origin_and_refusals_where_named() -> None:
    one = scan_file(b"services: {a: {image: nginx}, b: {image: 'ghcr.io/x/y:1'}}\n", "one.yml")
    two = scan_file(
        b"services: {a: {image: docker.io/library/nginx:latest}, c: {image: 'quay.io/"
        + b"z" * 40
        + b":1'}}\n",
        "two.yml",
    )
    result = findings(
        [one, two],
        parse_list("", "l"),
        allowed=[r"docker\.io/.*", r"quay\.io/.*"],
        destination="r.example.com/" + "p" * 220,
    )
    assert [(m.entry.key, m.origins) for m in result.missing] == [
        ("docker.io/library/nginx:latest", ["one.yml", "two.yml"])
    ]
    first, second = result.problems
    assert str(first) == "one.yml:1: ghcr.io/x/y:1 is outside allowed_sources"
    assert str(second).startswith(f"two.yml:1: quay.io/{'z' * 40}:1: destination path ")
    assert second.message.endswith("over the registry limit of 255")


def test_placeholders_and_invalid_references_are_not_images() -> None:
    for text in ("{{ .Values.image }}", "app:${TAG}", "$IMAGE", "a:{{.v}}", "<no value>"):
        with pytest.raises(ValueError, match="template placeholder"):
            reference_of(text)
    for text in ("$(touch x)", "a b", "Upper/Case", "-h", "http://x/y"):
        with pytest.raises(ValueError, match=r"'.*'"):
            reference_of(text)
    found = Found("a:${X}", "f", 3, "c/t.yaml")
    assert str(found.problem("p")) == "f:3: p (in c/t.yaml)"


# --- the real CLI, in a real git repository ---


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    remote = Remote(
        tmp_path, {"source-images.list": LIST, "syncer.yaml": "list: source-images.list\n"}
    )
    shutil.copytree(DATA / "manifests", remote.human / "deploy")
    shutil.copy(DATA / "compose.yaml", remote.human / "compose.yaml")
    monkeypatch.chdir(remote.human)
    return remote.human


def test_scan_prints_the_images_the_list_lacks(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "scan", "deploy")
    assert code == 1  # the broken file's lines
    assert out.splitlines() == MANIFESTS
    problems = problem_lines(err)
    assert [p.split(":")[:2] for p in problems] == [
        ["deploy/more/30-broken.yaml", str(line)] for line, _ in BROKEN
    ]
    assert all(message in p for (_, message), p in zip(BROKEN, problems, strict=True))
    assert "hidden" not in out + err
    assert "not-yaml" not in out


def test_scan_of_a_compose_file_and_files_in_order(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "scan", "compose.yaml", "deploy/20-list.yml", "compose.yaml")
    assert code == 0
    assert out.splitlines() == [
        "ghcr.io/acme/base:3  # from compose.yaml",
        "docker.io/library/nginx:1.25  # from compose.yaml",
        "ghcr.io/acme/scheduler:3  # from compose.yaml",
        "ghcr.io/acme/api:1.4.2  # from deploy/20-list.yml",
        "docker.io/library/redis:7.2  # from deploy/20-list.yml",
    ]  # postgres:16 is in the list; each file once though named twice


def test_scan_reads_helm_template_output_on_stdin(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = (DATA / "helm-template.yaml").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    code, out, err = run(capsys, "scan", "-")
    assert code == 1
    assert out.splitlines() == [
        "ghcr.io/acme/shop:1.0.0  # from - (shop/templates/deployment.yaml)",
        "docker.io/bitnami/os-shell:12  # from - (shop/charts/redis/templates/statefulset.yaml)",
        "docker.io/bitnami/redis:7.2.4  # from - (shop/charts/redis/templates/statefulset.yaml)",
    ]
    assert problem_lines(err) == [
        "-:20: '<no value>' holds a template placeholder: render it first (helm template, "
        "docker compose config); not added (in shop/templates/deployment.yaml)"
    ]


def test_add_appends_only_the_missing_and_keeps_every_byte(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (
        "# what we mirror\r\nnginx:1.25\r\ndocker.io/library/postgres:16  # no newline at the end"
    )
    (repo / "source-images.list").write_bytes(before.encode())
    code, out, err = run(capsys, "scan", "compose.yaml", "--add")
    assert code == 0
    after = (repo / "source-images.list").read_bytes().decode()
    added = [
        "ghcr.io/acme/base:3  # from compose.yaml",
        "ghcr.io/acme/scheduler:3  # from compose.yaml",
    ]
    assert after == before + "\r\n" + "".join(line + "\r\n" for line in added)
    assert out.splitlines() == added
    assert "added 2 to source-images.list" in err
    # a second --add finds nothing to add and leaves the file alone
    code, out, _ = run(capsys, "scan", "compose.yaml", "--add")
    assert (code, out) == (0, "")
    assert (repo / "source-images.list").read_bytes().decode() == after
    assert run(capsys, "check")[0] == 0


def test_add_then_check_and_git_sees_only_additions(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, "scan", "deploy", "compose.yaml", "--add", "--dest", "r.example.com/m"
    )
    assert code == 1  # the broken file's lines, never added
    assert len(out.splitlines()) == len(MANIFESTS) + 2
    numstat = git(repo, "diff", "--numstat", "--", "source-images.list").split()
    assert numstat[:2] == [str(len(MANIFESTS) + 2), "0"]
    assert (repo / "source-images.list").read_text().startswith(LIST)
    code, out, err = run(capsys, "check", "--dest", "r.example.com/m")
    assert (code, err) == (0, "")
    assert f"{len(MANIFESTS) + 4} images, no problems" in out
    assert run(capsys, "scan", "deploy", "compose.yaml", "--add")[1] == ""


def test_add_creates_a_list_that_does_not_exist(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "--list", "new.list", "scan", "deploy/20-list.yml", "--add")
    assert code == 0
    assert "no such file yet" in err
    assert (repo / "new.list").read_text() == out
    assert run(capsys, "check", "--list", "new.list")[0] == 0


def test_add_refuses_a_list_that_is_not_utf8(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "source-images.list").write_bytes(b"nginx\n\xff\n")
    code, _, err = run(capsys, "scan", "compose.yaml", "--add")
    assert code == 1
    assert "not UTF-8 text; --add would change its bytes" in err
    assert (repo / "source-images.list").read_bytes() == b"nginx\n\xff\n"


def test_json(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "scan", "compose.yaml", "deploy/more", "--json")
    data = json.loads(out)
    assert code == 1
    assert data["images"][0] == {
        "source": "ghcr.io/acme/base:3",
        "from": ["compose.yaml"],
        "line": "ghcr.io/acme/base:3  # from compose.yaml",
    }
    assert data["covered"] == ["docker.io/library/postgres:16"]
    assert data["added"] == 0
    assert [(p["path"], p["line"]) for p in data["problems"]] == [
        ("deploy/more/30-broken.yaml", line) for line, _ in BROKEN
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["scan", "nowhere.yaml"], "nowhere.yaml: no such file or directory"),
        (["scan", "deploy", "--no-such-flag"], "No such option"),
        (["scan", "broken-link"], "broken-link: cannot read"),
        (["scan", "."], "syncer: error: link.yaml: cannot read"),
    ],
)
def test_what_cannot_be_read_is_exit_2_in_one_line(
    repo: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    (repo / "broken-link").symlink_to(repo / "gone.yaml")
    (repo / "link.yaml").symlink_to(repo / "gone.yaml")
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert message in err
    assert "Traceback" not in err


def test_hostile_names_and_values_stay_one_line_and_run_nothing(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = repo / "pwned"
    evil = repo / "evil\nalpine:3"
    evil.mkdir()
    (evil / "x.yaml").write_text(
        "kind: Pod\nspec:\n  containers:\n"
        f"  - image: '$(touch {marker})'\n  - image: '`touch {marker}`'\n"
        f"  - image: 'a;touch {marker}'\n  - image: \"b\\nghcr.io/evil/two:1\"\n"
        "  - image: ghcr.io/fine/one:1\n"
    )
    code, out, err = run(capsys, "scan", str(evil.relative_to(repo)), "--add")
    assert code == 1
    assert len(problem_lines(err)) == 4
    assert out.splitlines() == ["ghcr.io/fine/one:1  # from 'evil\\nalpine:3/x.yaml'"]
    assert not marker.exists()
    listed = parse_list((repo / "source-images.list").read_text(), "l")
    assert [e.key for e in listed.entries][-1] == "ghcr.io/fine/one:1"
    assert "docker.io/library/alpine:3" not in listed.keys
    assert run(capsys, "check")[0] == 0


def test_a_large_document_costs_little_memory(tmp_path: Path) -> None:
    # 10 MB in one document: yaml.compose would build a node per item (hundreds of MB)
    big = tmp_path / "big.yaml"
    with big.open("w") as out:
        out.write("kind: Pod\nspec: {containers: [{image: 'ghcr.io/a/b:1'}]}\nx:\n")
        out.write("- a\n" * 2_500_000)
    (tmp_path / "source-images.list").write_text("")
    # VmHWM is this address space's peak; ru_maxrss would carry the forking parent's over exec
    probe = (
        "import re, sys\nfrom syncer.cli import main\ncode = main(sys.argv[1:])\n"
        "status = open('/proc/self/status').read()\n"
        "print(re.search(r'VmHWM:\\s+(\\d+) kB', status).group(1), file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, "-C", str(tmp_path), "scan", str(big)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"ghcr.io/a/b:1  # from {big}\n"
    peak_kib = int(result.stderr.splitlines()[-1])
    assert peak_kib < 150 * 1024


def test_the_console_entry_point_reads_stdin(repo: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "syncer", "scan"],
        input=(DATA / "helm-template.yaml").read_text()
        + "---\n"
        + (DATA / "compose.yaml").read_text(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert (
        result.stdout.splitlines()[0]
        == "ghcr.io/acme/shop:1.0.0  # from - (shop/templates/deployment.yaml)"
    )
    assert "ghcr.io/acme/base:3  # from -" in result.stdout.splitlines()
    assert "-:20: '<no value>'" in result.stderr


def test_an_input_over_the_limit_is_a_problem_not_read_whole(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from syncer.commands import scan as command

    monkeypatch.setattr(command, "MAX_INPUT_BYTES", 100)
    code, out, err = run(capsys, "scan", "compose.yaml", "deploy/20-list.yml")
    assert code == 1
    assert out == ""
    assert [p.partition(": larger than ")[0] for p in problem_lines(err)] == [
        "compose.yaml:1",
        "deploy/20-list.yml:1",
    ]


def test_no_path_at_a_terminal_is_a_usage_error(repo: Path) -> None:
    leader, follower = os.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "syncer", "scan"],
            stdin=follower,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
    finally:
        os.close(leader)
        os.close(follower)
    assert result.returncode == 2
    assert result.stderr == "syncer: error: give PATH... to scan, or - and pipe the manifests in\n"
