"""Versioned releases: one version (pyproject's) everywhere it is shown or pinned; ci/release.sh
checks a tag and builds the wheel offline; that wheel, installed by the GitLab component's own
set-up into a fresh virtual environment, runs `syncer --version`, `syncer init` (its package
data) and a real sync."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from syncer import version
from syncer.cli import main
from testing.cijobs import ROOT, component_documents, gitlab_job
from testing.registry import Registry
from testing.scenario import ALPINE, syncer_yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PYPROJECT_VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
# what ci/release.sh reads and checks; the release jobs build from the same files
SOURCE = ("pyproject.toml", "README.md", "CHANGELOG.md", "syncer", "templates", ".github", "ci")


def test_syncer_version_is_pyprojects(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"syncer {PYPROJECT_VERSION}\n"
    assert version() == PYPROJECT_VERSION


def test_the_pinned_copies_of_the_version_are_pyprojects() -> None:
    """The component and the reusable workflows pin the syncer they install to the version of
    the commit they are released with; CHANGELOG.md has the version's section."""
    header, _ = component_documents(ROOT / "templates" / "mirror" / "template.yml")
    assert header["spec"]["inputs"]["version"]["default"] == PYPROJECT_VERSION
    for name in ("syncer-validate", "syncer-sync", "syncer-resync"):
        workflow = yaml.safe_load((ROOT / ".github" / "workflows" / f"{name}.yml").read_text())
        inputs = workflow[True]["workflow_call"]["inputs"]  # PyYAML reads `on` as True
        assert inputs["version"]["default"] == PYPROJECT_VERSION, name
    assert f"\n## {PYPROJECT_VERSION}\n" in (ROOT / "CHANGELOG.md").read_text()


def _source_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "source"
    copy.mkdir()
    for name in SOURCE:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / name, copy / name)
    return copy


def _release(source: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "ci/release.sh", *args],
        cwd=source,
        env={**os.environ, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_release_refuses_a_tag_or_a_pinned_copy_that_is_not_the_version(tmp_path: Path) -> None:
    source = _source_copy(tmp_path)
    result = _release(source, "9.9.9")
    assert result.returncode == 1
    assert f"tag 9.9.9 is not pyproject.toml's version {PYPROJECT_VERSION}" in result.stderr
    sync = source / ".github" / "workflows" / "syncer-sync.yml"
    sync.write_text(sync.read_text().replace(f'"{PYPROJECT_VERSION}"', '"0.0.1"'))
    result = _release(source, PYPROJECT_VERSION)
    assert result.returncode == 1
    assert "syncer-sync.yml: the version input defaults to '0.0.1'" in result.stderr
    changelog = source / "CHANGELOG.md"
    changelog.write_text(changelog.read_text().replace(f"## {PYPROJECT_VERSION}\n", "## next\n"))
    result = _release(source)
    assert result.returncode == 1
    assert f"CHANGELOG.md: no section '## {PYPROJECT_VERSION}'" in result.stderr
    assert not (source / "dist").exists()


@pytest.mark.integration
def test_the_wheel_builds_offline_and_a_fresh_venv_runs_version_init_and_a_sync(
    tmp_path: Path, images: dict[str, str], destination: Registry, conf: Path
) -> None:
    source = _source_copy(tmp_path)
    built = _release(source, PYPROJECT_VERSION)  # setuptools' bdist_wheel, no build isolation
    assert built.returncode == 0, built.stdout + built.stderr
    wheel = Path(source / built.stdout.strip())
    # the name ci/Dockerfile copies into the job image
    copied = re.search(r"^COPY (dist/\S+) ", (ROOT / "ci" / "Dockerfile").read_text(), re.M)
    assert copied is not None
    assert copied.group(1).replace("${SYNCER_VERSION}", PYPROJECT_VERSION) == f"dist/{wheel.name}"
    notes = (source / "dist" / "RELEASE-NOTES.md").read_text()
    assert notes.strip()
    assert "\n## " not in notes  # this version's section alone
    # the component's own set-up, in a job without syncer (skopeo and git there, as on a shell
    # runner or in the default image after apt): a fresh virtual environment with the wheel,
    # its dependencies from the package index pip is configured with
    project = tmp_path / "project"
    project.mkdir()
    (project / "syncer.yaml").write_text(syncer_yaml(destination, conf))
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("skopeo", "git"):
        (tools / tool).symlink_to(shutil.which(tool) or f"/usr/bin/{tool}")
    (tools / "python3").symlink_to(Path(sys.base_prefix) / "bin" / "python3")
    job = gitlab_job("sync")
    variables = {**job["variables"], "SYNCER_INSTALL": str(wheel), "CI_PROJECT_DIR": str(project)}
    env = {"PATH": f"{tools}{os.pathsep}/usr/bin:/bin", "HOME": str(tmp_path)}
    setup = subprocess.run(
        ["bash", "-c", "set -eo pipefail\n" + "\n".join(job["before_script"]) + "\ncommand -v syncer"],
        cwd=project, env={**env, **variables}, capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert setup.returncode == 0, setup.stdout + setup.stderr
    bin_dir = project / ".syncer-venv" / "bin"
    assert setup.stdout.splitlines()[-2:] == [
        f"syncer {PYPROJECT_VERSION}",
        str(bin_dir / "syncer"),
    ]

    def syncer(*args: str, cwd: Path = tmp_path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(bin_dir / "syncer"), *args],
            cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=300,
        )  # fmt: skip

    shown = syncer("--version")
    assert shown.stdout == f"syncer {PYPROJECT_VERSION}\n", shown.stderr
    assert syncer("init", "mirror", "--provider", "gitlab").returncode == 0
    assert f"/mirror@{PYPROJECT_VERSION}\n" in (tmp_path / "mirror" / ".gitlab-ci.yml").read_text()
    synced = syncer("sync", "alpine:3.19", cwd=project)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert "copied" in synced.stdout
    assert destination.count("PUT", "manifests", "alpine") >= 1
    assert f"{ALPINE} ->" in synced.stdout
