"""syncer: mirror third-party container images into a private registry, driven by git.

The version is pyproject.toml's, read when asked for (`syncer.__version__`), never written twice:
from the source tree's pyproject.toml when syncer runs from one (an editable install stays right
after a version bump), else from the installed distribution's metadata.
"""

from __future__ import annotations

import sys
from pathlib import Path

DISTRIBUTION = "syncer-mirror"
UNKNOWN_VERSION = "0+unknown"


def _source_tree_version() -> str | None:
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    if not pyproject.is_file():
        return None
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    if project.get("name") != DISTRIBUTION or not isinstance(project.get("version"), str):
        return None
    return str(project["version"])


def version() -> str:
    """syncer's version: pyproject.toml's `version`."""
    found = _source_tree_version()
    if found is not None:
        return found
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed(DISTRIBUTION)
    except PackageNotFoundError:
        return UNKNOWN_VERSION


def __getattr__(name: str) -> str:
    # computed on first use: reading metadata costs start-up time that most commands do not need
    if name == "__version__":
        return version()
    raise AttributeError(f"module 'syncer' has no attribute {name!r}")
