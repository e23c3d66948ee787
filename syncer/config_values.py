"""How each configuration value is read and checked: the parsers that `config.KEYS` names.
A parser takes the key (for its message) and the value as given (YAML, or text from the
environment or --set) and returns the value, or raises UsageError naming the key."""

from __future__ import annotations

import posixpath
import re

from syncer.errors import UsageError
from syncer.imagelist.options import parse_platforms
from syncer.imagelist.reference import InvalidReference, validate_destination_prefix
from syncer.trust.drift import DriftMode
from syncer.trust.spec import KEYS as SPEC_KEYS
from syncer.trust.spec import VerifyRule


def string(key: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise UsageError(f"{key} must be a non-empty string, got {value!r}")
    return value


def positive_int(key: str, value: object) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise UsageError(f"{key} must be a whole number, got {value!r}")
    return value


def at_least_one(key: str, value: object) -> int:
    number = positive_int(key, value)
    if number < 1:
        raise UsageError(f"{key} must be at least 1, got {value!r}")
    return number


def folder(key: str, value: object) -> str:
    """A folder inside the repository, as a relative path."""
    text = posixpath.normpath(string(key, value).replace("\\", "/"))
    if text.startswith("/") or text == "." or text.split("/")[0] == "..":
        raise UsageError(f"{key} must be a folder inside the repository, got {value!r}")
    return text


def hosts(key: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str):  # from the environment: comma separated
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"{key} must be a list of registry hosts, got {value!r}")
    return tuple(value)


def pattern(key: str, value: object) -> str:
    text = string(key, value)
    try:
        re.compile(text)
    except re.error as exc:
        raise UsageError(f"{key} is not a valid regular expression: {exc}") from None
    return text


def patterns(key: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str):  # from the environment: one pattern a line
        value = [line.strip() for line in value.splitlines() if line.strip()]
    if not isinstance(value, list | tuple):
        raise UsageError(f"{key} must be a list of regular expressions, got {value!r}")
    return tuple(pattern(key, v) for v in value)


def boolean(key: str, value: object) -> bool:
    if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
        return value.lower() in ("true", "yes", "1")
    if not isinstance(value, bool):
        raise UsageError(f"{key} must be true or false, got {value!r}")
    return value


def verify_rules(key: str, value: object) -> tuple[VerifyRule, ...]:
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
        pattern(f"{name}: match", value["match"]),
        **{k: string(f"{name}: {k}", v) for k, v in value.items() if k != "match"},
    )
    if rule.identity_regex is not None:
        pattern(f"{name}: identity_regex", rule.identity_regex)
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


def drift_mode(key: str, value: object) -> DriftMode:
    modes = [m.value for m in DriftMode]
    if value not in modes:
        raise UsageError(f"{key} must be one of {', '.join(modes)}, got {value!r}")
    return DriftMode(value)


def platforms(key: str, value: object) -> tuple[str, ...]:
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


def duration(key: str, value: object) -> int:
    """`30d`, `12h`, `90m`, `0s` (or a number of seconds) -> seconds."""
    text = (
        str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    )
    number, unit = (text[:-1], text[-1]) if text[-1:] in _UNITS else (text, "s")
    if not number.isdigit():
        raise UsageError(f"{key} must be a duration like 30d, 12h or 0s, got {value!r}")
    return int(number) * _UNITS[unit]


def destination(key: str, value: object) -> str:
    try:
        return validate_destination_prefix(string(key, value))
    except InvalidReference as exc:
        raise UsageError(f"{key}: {exc}") from None
