"""Configuration: `syncer.yaml`, then `SYNCER_*` environment variables, then flags.

All keys live in one table, `KEYS`; a later source beats an earlier one.
"""

from __future__ import annotations

import dataclasses
import difflib
import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syncer import config_values as values
from syncer.errors import UsageError
from syncer.record.pages import PAGE_ROWS
from syncer.trust.drift import DriftMode
from syncer.trust.spec import VerifyRule

CONFIG_FILE = "syncer.yaml"
ENV_PREFIX = "SYNCER_"


@dataclass(frozen=True)
class Config:
    root: Path = Path()
    destination: str | None = None
    list: str = "source-images.list"
    report: str = "MAPPING.md"
    state: str = "mapping.json"
    report_template: str | None = None
    report_pages: str | None = None  # the folder of a large report's pages (None: see pages)
    report_page_size: int = PAGE_ROWS  # table lines of one page, and of a report in one file
    concurrency: int = 8  # copies wait on the network, not the CPU (README: Performance)
    retry_times: int = 3
    timeout: int = 600
    authfile: str | None = None
    insecure_registries: tuple[str, ...] = ()
    registries_conf: str | None = None
    registries_conf_dir: str | None = None  # None: where skopeo reads its drop-ins
    git_author_name: str = "syncer-bot"
    git_author_email: str = "syncer-bot@users.noreply.localhost"
    push_tries: int = 5
    git_timeout: int = 300  # seconds a git command may take (fetch and push wait on a remote)
    relay: bool = True  # skopeo reads sources through syncer's relay: each blob pulled once
    blob_locations: str | None = ".syncer/blob-locations"  # where blobs are in the mirror
    check_concurrency: int = 16
    immutable_tags: str | None = None
    allowed_sources: tuple[str, ...] = ()  # regular expressions on the normalized source
    signatures: bool = True  # mirror signatures, attestations, SBOMs and referrers too
    verify: tuple[VerifyRule, ...] = ()  # which sources must be signed, and by whom
    on_drift: DriftMode = DriftMode.UPDATE
    platforms: tuple[str, ...] = ()  # mirror only these platforms (empty: all of them)
    quota_reserve: int = 0  # pulls to leave at a registry that counts them (Docker Hub)
    prune_after: int | None = None  # seconds a removed image stays before it is deleted

    def path(self, name: str) -> Path:
        """A path from the configuration, relative to the repository root."""
        return self.root / name

    @property
    def pages(self) -> str:
        """The folder of the report's pages: `report_pages`, else `mapping` beside the report."""
        folder = self.report_pages or posixpath.join(posixpath.dirname(self.report), "mapping")
        return posixpath.normpath(folder)

    @property
    def list_path(self) -> Path:
        return self.path(self.list)

    def require_destination(self) -> str:
        if not self.destination:
            raise UsageError(
                "no destination set: add 'destination: HOST[:PORT]/PATH' to syncer.yaml, "
                "set SYNCER_DESTINATION or pass --dest"
            )
        return self.destination


Parser = Callable[[str, object], Any]
KEYS: dict[str, Parser] = {  # each value read by its parser in config_values.py
    "destination": values.destination,
    "list": values.string,
    "report": values.string,
    "state": values.string,
    "report_template": values.string,
    "report_pages": values.folder,
    "report_page_size": values.at_least_one,
    "concurrency": values.positive_int,
    "retry_times": values.positive_int,
    "timeout": values.positive_int,
    "authfile": values.string,
    "insecure_registries": values.hosts,
    "registries_conf": values.string,
    "registries_conf_dir": values.string,
    "git_author_name": values.string,
    "git_author_email": values.string,
    "push_tries": values.positive_int,
    "git_timeout": values.positive_int,
    "relay": values.boolean,
    "blob_locations": values.string,
    "check_concurrency": values.positive_int,
    "immutable_tags": values.pattern,
    "allowed_sources": values.patterns,
    "signatures": values.boolean,
    "verify": values.verify_rules,
    "on_drift": values.drift_mode,
    "platforms": values.platforms,
    "quota_reserve": values.positive_int,
    "prune_after": values.duration,
}


def _read_file(path: Path) -> dict[str, object]:
    if not path.exists():
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not valid YAML") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
    return written_values(text, str(path))


def written_values(text: str, origin: str) -> dict[str, object]:
    """The keys of a syncer.yaml text as written (not checked); `origin` names it in errors."""
    import yaml  # only commands that read configuration pay for the import

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        # Where the broken construct starts (an unclosed '[' on line 1), else where the parser
        # stopped (which may be the line after).
        where = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        line = f":{where.line + 1}" if where is not None else ""
        problem = getattr(exc, "problem", None)
        raise UsageError(
            f"{origin}{line}: not valid YAML" + (f" ({problem})" if problem else "")
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"{origin}: must be a mapping of keys to values")
    return {str(k): v for k, v in data.items()}


def _from_environment(environ: Mapping[str, str]) -> dict[str, object]:
    return {
        key: environ[ENV_PREFIX + key.upper()]
        for key in KEYS
        if environ.get(ENV_PREFIX + key.upper())
    }


def environment_keys(environ: Mapping[str, str]) -> list[str]:
    """The `SYNCER_*` variables that set a key here, by name (their values may be secrets)."""
    return [ENV_PREFIX + key.upper() for key in _from_environment(environ)]


def _checked(values: Mapping[str, object], origin: str) -> dict[str, Any]:
    checked: dict[str, Any] = {}
    for key, value in values.items():
        if key not in KEYS:
            close = difflib.get_close_matches(key, KEYS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise UsageError(f"{origin}: unknown key {key!r} ({hint}known keys: {', '.join(KEYS)})")
        try:
            checked[key] = KEYS[key](key, value)
        except UsageError as exc:
            raise UsageError(f"{origin}: {exc}") from None
    return checked


def load_config(
    root: Path,
    environ: Mapping[str, str],
    flags: Mapping[str, object | None],
    config_file: Path | None = None,
) -> Config:
    """The configuration in force: file, then environment, then flags that were given."""
    file = config_file or root / CONFIG_FILE
    values = _checked(_read_file(file), str(file))
    values.update(_checked(_from_environment(environ), "environment"))
    values.update(_checked({k: v for k, v in flags.items() if v is not None}, "command line"))
    return dataclasses.replace(Config(root=root), **values)


def values_from_text(text: str, origin: str) -> dict[str, Any]:
    """The keys a syncer.yaml text sets, checked as `load_config` checks them, with no
    environment or flags: how a revision's own file reads (`origin` names it in errors)."""
    return _checked(written_values(text, origin), origin)
