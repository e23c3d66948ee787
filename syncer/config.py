"""Configuration: `syncer.yaml`, then `SYNCER_*` environment variables, then flags.

All keys live in one table, `KEYS`; a later source beats an earlier one.
"""

from __future__ import annotations

import dataclasses
import difflib
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syncer.errors import UsageError
from syncer.imagelist.options import parse_platforms
from syncer.imagelist.reference import InvalidReference, validate_destination_prefix
from syncer.record.pages import PAGE_ROWS
from syncer.trust.drift import DriftMode
from syncer.trust.spec import KEYS as SPEC_KEYS
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


def _string(key: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise UsageError(f"{key} must be a non-empty string, got {value!r}")
    return value


def _positive_int(key: str, value: object) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise UsageError(f"{key} must be a whole number, got {value!r}")
    return value


def _at_least_one(key: str, value: object) -> int:
    number = _positive_int(key, value)
    if number < 1:
        raise UsageError(f"{key} must be at least 1, got {value!r}")
    return number


def _folder(key: str, value: object) -> str:
    """A folder inside the repository, as a relative path."""
    text = posixpath.normpath(_string(key, value).replace("\\", "/"))
    if text.startswith("/") or text == "." or text.split("/")[0] == "..":
        raise UsageError(f"{key} must be a folder inside the repository, got {value!r}")
    return text


def _hosts(key: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str):  # from the environment: comma separated
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"{key} must be a list of registry hosts, got {value!r}")
    return tuple(value)


def _pattern(key: str, value: object) -> str:
    text = _string(key, value)
    try:
        re.compile(text)
    except re.error as exc:
        raise UsageError(f"{key} is not a valid regular expression: {exc}") from None
    return text


def _patterns(key: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str):  # from the environment: one pattern a line
        value = [line.strip() for line in value.splitlines() if line.strip()]
    if not isinstance(value, list | tuple):
        raise UsageError(f"{key} must be a list of regular expressions, got {value!r}")
    return tuple(_pattern(key, v) for v in value)


def _boolean(key: str, value: object) -> bool:
    if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
        return value.lower() in ("true", "yes", "1")
    if not isinstance(value, bool):
        raise UsageError(f"{key} must be true or false, got {value!r}")
    return value


def _verify_rules(key: str, value: object) -> tuple[VerifyRule, ...]:
    if isinstance(value, str):  # from the environment or --set: YAML or JSON text
        import yaml

        value = yaml.safe_load(value)
    if not isinstance(value, list):
        raise UsageError(
            f"{key} must be a list of rules ({{match: REGEX, key: PUBLIC_KEY_PATH}} or "
            f"{{match: REGEX, identity: SIGNER, issuer: OIDC_ISSUER}}), got {value!r}"
        )
    return tuple(_verify_rule(f"{key} rule {n}", rule) for n, rule in enumerate(value, 1))


def _verify_rule(name: str, value: object) -> VerifyRule:
    """One rule: a key, or a keyless signer (identity or identity_regex, and issuer)."""
    if not isinstance(value, dict):
        raise UsageError(f"{name} must be a mapping with `match`, got {value!r}")
    if "match" in value:
        name = f"{name} (match {value['match']!r})"
    unknown = sorted(str(k) for k in value if k not in SPEC_KEYS)
    if unknown:
        raise UsageError(
            f"{name}: unknown key(s) {', '.join(unknown)} (known: {', '.join(SPEC_KEYS)})"
        )
    if "match" not in value:
        raise UsageError(f"{name}: needs `match`, a regular expression on the source")
    rule = VerifyRule(
        _pattern(f"{name}: match", value["match"]),
        **{k: _string(f"{name}: {k}", v) for k, v in value.items() if k != "match"},
    )
    if rule.identity_regex is not None:
        _pattern(f"{name}: identity_regex", rule.identity_regex)
    problem = _rule_problem(rule)
    if problem:
        raise UsageError(f"{name}: {problem}")
    return rule


def _rule_problem(rule: VerifyRule) -> str | None:
    signer = rule.identity is not None or rule.identity_regex is not None
    if rule.key is not None:
        if signer or rule.issuer is not None or rule.trust_root is not None:
            return "a rule names a key or a keyless signer (identity, issuer, trust_root), not both"
        return None
    if not signer:
        return "needs `key: PUBLIC_KEY_PATH`, or `identity` (or `identity_regex`) and `issuer`"
    if rule.identity is not None and rule.identity_regex is not None:
        return "`identity` or `identity_regex`, not both"
    if rule.issuer is None:
        return "a keyless rule needs `issuer`, the OIDC issuer (e.g. https://accounts.google.com)"
    return None


def _drift_mode(key: str, value: object) -> DriftMode:
    modes = [m.value for m in DriftMode]
    if value not in modes:
        raise UsageError(f"{key} must be one of {', '.join(modes)}, got {value!r}")
    return DriftMode(value)


def _platforms(key: str, value: object) -> tuple[str, ...]:
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        value = ",".join(value)
    if not isinstance(value, str):
        raise UsageError(f"{key} must be a list of platforms like linux/amd64, got {value!r}")
    if not value.strip():
        return ()
    try:
        return parse_platforms(value, f"{key}: ")
    except InvalidReference as exc:
        raise UsageError(str(exc)) from None


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _duration(key: str, value: object) -> int:
    """`30d`, `12h`, `90m`, `0s` (or a number of seconds) -> seconds."""
    text = (
        str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    )
    number, unit = (text[:-1], text[-1]) if text[-1:] in _UNITS else (text, "s")
    if not number.isdigit():
        raise UsageError(f"{key} must be a duration like 30d, 12h or 0s, got {value!r}")
    return int(number) * _UNITS[unit]


def _destination(key: str, value: object) -> str:
    try:
        return validate_destination_prefix(_string(key, value))
    except InvalidReference as exc:
        raise UsageError(f"{key}: {exc}") from None


Parser = Callable[[str, object], Any]
KEYS: dict[str, Parser] = {
    "destination": _destination,
    "list": _string,
    "report": _string,
    "state": _string,
    "report_template": _string,
    "report_pages": _folder,
    "report_page_size": _at_least_one,
    "concurrency": _positive_int,
    "retry_times": _positive_int,
    "timeout": _positive_int,
    "authfile": _string,
    "insecure_registries": _hosts,
    "registries_conf": _string,
    "registries_conf_dir": _string,
    "git_author_name": _string,
    "git_author_email": _string,
    "push_tries": _positive_int,
    "git_timeout": _positive_int,
    "relay": _boolean,
    "blob_locations": _string,
    "check_concurrency": _positive_int,
    "immutable_tags": _pattern,
    "allowed_sources": _patterns,
    "signatures": _boolean,
    "verify": _verify_rules,
    "on_drift": _drift_mode,
    "platforms": _platforms,
    "quota_reserve": _positive_int,
    "prune_after": _duration,
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
