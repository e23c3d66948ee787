"""`syncer init`: a thin mirror repository, its pipeline files checked by the providers' schemas
and actionlint, and run: the GitLab push pipeline under gitlab-ci-local with the component as
released, the GitHub push job through the released reusable workflow and action."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from syncer import version
from syncer.cli import main
from syncer.config import load_config
from testing.cijobs import ROOT, run_gitlab_ci_local
from testing.gitrepo import Remote, git
from testing.registry import Registry
from testing.scenario import ALPINE, OPERATOR, syncer_yaml
from testing.workflows import run_github_job

BIN = Path(sys.executable).parent
GITLAB_FILES = ["source-images.list", "syncer.yaml", ".gitignore", ".gitlab-ci.yml", "README.md"]
GITHUB_FILES = [
    "source-images.list",
    "syncer.yaml",
    ".gitignore",
    ".github/workflows/validate.yml",
    ".github/workflows/sync.yml",
    ".github/workflows/resync.yml",
    "README.md",
]


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed (ci/setup.sh installs it)")
    return found


def _written(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def _init(folder: Path, *args: str) -> int:
    return main(["init", str(folder), *args])


@pytest.mark.parametrize(
    ("provider", "files"),
    [("gitlab", GITLAB_FILES), ("github", GITHUB_FILES), ("both", [*GITLAB_FILES, *GITHUB_FILES])],
)
def test_init_writes_a_thin_repository_that_syncer_check_accepts(
    tmp_path: Path, provider: str, files: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "mirror"
    assert (
        _init(repo, "--provider", provider, "--destination", "harbor.example.com:5000/third") == 0
    )
    assert _written(repo) == sorted(set(files))
    git(repo.parent, "init", "--quiet", str(repo))
    capsys.readouterr()
    assert main(["-C", str(repo), "check"]) == 0
    assert "source-images.list: 0 images, no problems" in capsys.readouterr().out
    assert load_config(repo, {}, {}).destination == "harbor.example.com:5000/third"
    readme = (repo / "README.md").read_text()
    assert ("SYNCER_PUSH_TOKEN" in readme) == (provider != "github")
    assert ("REGISTRY_AUTH_JSON" in readme) == (provider != "gitlab")
    assert "MAPPING.md" in readme  # where the report appears
    # what the jobs keep between runs (the blob locations) stays out of the mirror's history
    (repo / ".syncer").mkdir()
    (repo / ".syncer" / "blob-locations").write_text("{}")
    ignored = git(repo, "check-ignore", ".syncer/blob-locations", ".syncer-venv/bin/python")
    assert ignored.split() == [".syncer/blob-locations", ".syncer-venv/bin/python"]


def test_init_pins_every_pipeline_file_to_the_running_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "mirror"
    assert (
        _init(repo, "--gitlab-project", "platform/ci/syncer", "--github-repository", "acme/syncer")
        == 0
    )
    running = version()
    gitlab = (repo / ".gitlab-ci.yml").read_text()
    assert f"component: $CI_SERVER_FQDN/platform/ci/syncer/mirror@{running}\n" in gitlab
    for name in ("validate", "sync", "resync"):
        workflow = (repo / ".github" / "workflows" / f"{name}.yml").read_text()
        assert f"uses: acme/syncer/.github/workflows/syncer-{name}.yml@{running}\n" in workflow
        assert f'version: "{running}"\n' in workflow
        assert "syncer-repository: acme/syncer\n" in workflow
    assert "%%" not in "".join(p.read_text() for p in repo.rglob("*") if p.is_file())
    # without a destination, syncer.yaml says where to set it instead
    other = tmp_path / "other"
    assert _init(other, "--provider", "gitlab") == 0
    assert "\ndestination:" not in (other / "syncer.yaml").read_text()
    assert "SYNCER_DESTINATION" in (other / "syncer.yaml").read_text()


def test_init_refuses_to_overwrite_naming_the_files_and_force_overwrites(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "mirror"
    assert _init(repo, "--provider", "gitlab") == 0
    (repo / "source-images.list").write_text("alpine:3.19\n")
    capsys.readouterr()
    assert _init(repo, "--provider", "gitlab") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1  # one line, no traceback
    for name in GITLAB_FILES:
        assert name in err
    assert "--force" in err
    assert (repo / "source-images.list").read_text() == "alpine:3.19\n"  # untouched
    assert _init(repo, "--provider", "gitlab", "--force") == 0
    assert (repo / "source-images.list").read_text().startswith("# The images to mirror")
    # only the files it would write count: a GitHub set beside the GitLab one is fine
    assert _init(repo, "--provider", "github") == 2
    assert ".gitlab-ci.yml" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--provider", "jenkins"], "--provider 'jenkins': expected one of gitlab, github, both"),
        (["--destination", "https://h.example.com/x"], "--destination: 'https://h.example.com/x' has a URL scheme"),
        (["--gitlab-project", "syncer"], "--gitlab-project 'syncer': expected GROUP/PROJECT"),
        (["--github-repository", "a/b/c"], "--github-repository 'a/b/c': expected OWNER/REPO"),
    ],
)  # fmt: skip
def test_init_bad_values_are_one_line_and_exit_2(
    tmp_path: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _init(tmp_path / "mirror", *args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "mirror").exists()


def test_init_pipeline_files_pass_the_schemas_and_actionlint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The generated files, and their calls of syncer's reusable workflows checked against this
    checkout's (actionlint reads a local reusable workflow's inputs and secrets)."""
    repo = tmp_path / "mirror"
    assert _init(repo) == 0
    workflows = sorted((repo / ".github" / "workflows").glob("*.yml"))
    checks = [
        ("vendor.gitlab-ci", [repo / ".gitlab-ci.yml"]),
        ("vendor.github-workflows", workflows),
    ]
    for schema, paths in checks:
        result = subprocess.run(
            [_tool("check-jsonschema"), "--builtin-schema", schema, *map(str, paths)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
    result = subprocess.run(
        [_tool("actionlint"), *map(str, workflows)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    local = repo / ".github" / "workflows"
    for reusable in (ROOT / ".github" / "workflows").glob("syncer-*.yml"):
        shutil.copy(reusable, local / reusable.name)
    for workflow in workflows:
        text = workflow.read_text().replace(
            "tools/syncer/.github/workflows/", "./.github/workflows/"
        )
        workflow.write_text(text.replace(f".yml@{version()}", ".yml"))
    git(repo.parent, "init", "--quiet", str(repo))
    result = subprocess.run(
        [_tool("actionlint"), *map(str, workflows)], cwd=repo, capture_output=True, text=True, check=False
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def _mirror_remote(tmp_path: Path, destination: Registry, conf: Path, provider: str) -> Remote:
    """A mirror repository made by `syncer init`, its syncer.yaml the test bed's (local
    registries), pushed to a bare remote."""
    scaffold = tmp_path / "scaffold"
    assert _init(scaffold, "--provider", provider) == 0
    files = {name: (scaffold / name).read_text() for name in _written(scaffold)}
    files["syncer.yaml"] = syncer_yaml(destination, conf)
    return Remote(tmp_path, files)


@pytest.mark.integration
def test_init_gitlab_repository_mirrors_a_push_under_gitlab_ci_local(
    tmp_path: Path, destination: Registry, conf: Path, images: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """The generated .gitlab-ci.yml with the component as released: gitlab-ci-local reads an
    include of another project from its cache (what it would download), here this checkout's."""
    remote = _mirror_remote(tmp_path, destination, conf, "gitlab")
    before, sha = remote.commit({"source-images.list": "alpine:3.19\n"}, "add alpine")
    checkout = remote.checkout(tmp_path / "ci", sha)
    cached = checkout / ".gitlab-ci-local/includes/gitlab.com/tools/syncer" / version()
    (cached / "templates/mirror").mkdir(parents=True)
    shutil.copy(ROOT / "templates/mirror/template.yml", cached / "templates/mirror/template.yml")
    variables = {"GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BEFORE_SHA": before,
                 "CI_COMMIT_BRANCH": "main", "CI_DEFAULT_BRANCH": "main"}  # fmt: skip
    result = run_gitlab_ci_local(checkout, variables, "--no-evaluate-rule-changes")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS  sync" in result.stdout
    assert "validate" not in result.stdout
    assert remote.log()[0].endswith("[skip ci]")
    assert set(json.loads(remote.show("main", "mapping.json"))["images"]) == {ALPINE}


@pytest.mark.integration
def test_init_github_repository_mirrors_a_push_through_the_released_workflow(
    tmp_path: Path, destination: Registry, conf: Path, images: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    remote = _mirror_remote(tmp_path, destination, conf, "github")
    before, sha = remote.commit({"source-images.list": f"{OPERATOR}\n"}, "add the operator")
    checkout = remote.checkout(tmp_path / "ci", sha)
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"before": before, "repository": {"default_branch": "main"}}))
    env = {"GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": str(event), "GITHUB_REF_NAME": "main",
           "GITHUB_SHA": sha, "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}  # fmt: skip
    workflow = checkout / ".github" / "workflows" / "sync.yml"
    result = run_github_job(workflow, "sync", checkout, env, {}, released="tools/syncer")
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(json.loads(remote.show("main", "mapping.json"))["images"]) == {OPERATOR}
    assert "1 images: 1 copied, 0 skipped, 0 failed." in (tmp_path / "summary.md").read_text()
