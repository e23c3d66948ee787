"""The files of a thin mirror repository, as `syncer init` writes them: the list, syncer.yaml,
the pipeline files pinned to one syncer version, and a README saying what to set. Pure: values
in, file texts out; the command does the writing.

The templates are package data beside this module (`*.tmpl`); `%%NAME%%` marks a value.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib.resources import files

PROVIDERS = ("gitlab", "github", "both")
# Where syncer itself lives: the project on the team's GitLab instance that holds the component
# (components are included from the same instance), the GitHub repository holding the action.
HOME = "tools/syncer"
_GITLAB_PROJECT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)+")
_GITHUB_REPOSITORY = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9_.-]+")
_PLACEHOLDER = re.compile(r"%%([A-Z_]+)%%")

_COMMON = {
    "source-images.list": "source-images.list.tmpl",
    "syncer.yaml": "syncer.yaml.tmpl",
    ".gitignore": "gitignore.tmpl",
}
_GITLAB = {".gitlab-ci.yml": "gitlab-ci.yml.tmpl"}
_GITHUB = {
    ".github/workflows/validate.yml": "github-validate.yml.tmpl",
    ".github/workflows/sync.yml": "github-sync.yml.tmpl",
    ".github/workflows/resync.yml": "github-resync.yml.tmpl",
}


@dataclass(frozen=True)
class Scaffold:
    version: str  # the running syncer's: what the pipeline files pin
    provider: str = "both"  # gitlab, github or both
    destination: str | None = None  # a checked prefix, or None (set as a CI variable)
    gitlab_project: str = HOME
    github_repository: str = HOME

    @property
    def gitlab(self) -> bool:
        return self.provider in ("gitlab", "both")

    @property
    def github(self) -> bool:
        return self.provider in ("github", "both")


def problems(scaffold: Scaffold) -> list[str]:
    """What is wrong with the values, in words; empty when they can be written."""
    found = []
    if scaffold.provider not in PROVIDERS:
        found.append(f"--provider {scaffold.provider!r}: expected one of {', '.join(PROVIDERS)}")
    if scaffold.gitlab and not _GITLAB_PROJECT.fullmatch(scaffold.gitlab_project):
        found.append(f"--gitlab-project {scaffold.gitlab_project!r}: expected GROUP/PROJECT")
    if scaffold.github and not _GITHUB_REPOSITORY.fullmatch(scaffold.github_repository):
        found.append(f"--github-repository {scaffold.github_repository!r}: expected OWNER/REPO")
    return found


def _template(name: str) -> str:
    return files(__package__).joinpath(name).read_text(encoding="utf-8")


def _rendered(text: str, values: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def _values(scaffold: Scaffold) -> dict[str, str]:
    destination = (
        f"destination: {json.dumps(scaffold.destination)}"  # quoted: `12:30` is no number
        if scaffold.destination
        else "# destination: registry.example.com/third   # else the SYNCER_DESTINATION CI variable"
    )
    where = (
        f"`{scaffold.destination}`"
        if scaffold.destination
        else "the prefix that `syncer.yaml` or the `SYNCER_DESTINATION` CI variable sets"
    )
    providers = "".join(
        _template(name)
        for name, wanted in (
            ("README-gitlab.md.tmpl", scaffold.gitlab),
            ("README-github.md.tmpl", scaffold.github),
        )
        if wanted
    )
    return {
        "VERSION": scaffold.version,
        "DESTINATION": destination,
        "WHERE": where,
        "GITLAB_PROJECT": scaffold.gitlab_project,
        "GITHUB_REPOSITORY": scaffold.github_repository,
        "PROVIDERS": _rendered(
            providers,
            {
                "GITLAB_PROJECT": scaffold.gitlab_project,
                "GITHUB_REPOSITORY": scaffold.github_repository,
            },
        ),
    }


def scaffold_files(scaffold: Scaffold) -> dict[str, str]:
    """Each file's path in the repository and its text, in the order they are written."""
    chosen = {
        **_COMMON,
        **(_GITLAB if scaffold.gitlab else {}),
        **(_GITHUB if scaffold.github else {}),
        "README.md": "README.md.tmpl",
    }
    values = _values(scaffold)
    return {path: _rendered(_template(name), values) for path, name in chosen.items()}
