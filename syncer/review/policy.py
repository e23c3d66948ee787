"""What a merge request changes in what the mirror trusts: the base's policy against the
head's, the pipeline files it touches, and the images it adds that only its own change lets
in. Pure: the revisions are read in `review/revisions.py`, the words are `review/trusted.py`'s.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from syncer.config import ENV_PREFIX
from syncer.imagelist.parse import Entry
from syncer.imagelist.policy import refusal
from syncer.review import registries
from syncer.review.trusted import CONF, DEFAULTS, PIPELINE, TRUSTED, Policy, PolicyChange
from syncer.review.words import code, codes, shown

# Files outside syncer's own that shape what runs: a path, or a folder ending in "/".
PIPELINE_PATHS = (".gitlab-ci.yml", ".github/workflows/", "ci/")


@dataclass(frozen=True)
class PolicyReview:
    """The plan's "Policy changes" section: shown when `changes` has anything."""

    changes: tuple[PolicyChange, ...] = ()
    new: str = ""  # why the head's policy is listed as new instead of compared
    environment: tuple[str, ...] = ()  # the SYNCER_* variables this job sees set, by name
    command_line: tuple[str, ...] = ()  # the keys set by --set, --dest or --list


NO_CHANGES = PolicyReview()


def compare(base: Policy, head: Policy) -> list[PolicyChange]:
    """Every change of a trusted key, old -> new, in the table's order."""
    changes: list[PolicyChange] = []
    for key, words in TRUSTED.items():
        old, new = base.values.get(key), head.values.get(key)
        if old != new:
            changes += [PolicyChange(key, o, n, w) for o, n, w in words.changed(key, old, new)]
    conf = _conf_changed(base, head)
    return [*changes, conf] if conf else changes


def listed(head: Policy) -> list[PolicyChange]:
    """A new mirror's policy: each trusted key it sets to other than the default."""
    changes: list[PolicyChange] = []
    for key, words in TRUSTED.items():
        value = head.values.get(key)
        if value != DEFAULTS.values.get(key):
            changes += [PolicyChange(key, None, n, w) for _, n, w in words.listed(key, value)]
    if head.conf is not None:
        origin = str(head.values.get("registries_conf"))
        said = f"{_conf_named(head)}: {registries.described(head.conf, origin)}"
        changes.append(PolicyChange(CONF, None, head.conf, said))
    return changes


def _conf_named(policy: Policy) -> str:
    named = shown(policy.values.get("registries_conf"))
    return f"the registries.conf that `registries_conf` names ({named})"


def _conf_changed(base: Policy, head: Policy) -> PolicyChange | None:
    old, new = base.conf, head.conf
    if old == new:
        return None
    if new is None:
        words = f"{_conf_named(base)} is no longer the one read"
    elif old is None:
        origin = str(head.values.get("registries_conf"))
        words = f"{_conf_named(head)} is new: {registries.described(new, origin)}"
    else:
        origin = str(head.values.get("registries_conf"))
        words = f"{_conf_named(head)} changed: {registries.compared(old, new, origin)}"
    return PolicyChange(CONF, old, new, words)


def pipeline_files(changed: Iterable[str]) -> list[str]:
    """The changed paths (relative to the repository's root) that define the pipeline."""
    return sorted(
        path
        for path in changed
        if any(path.startswith(p) if p.endswith("/") else path == p for p in PIPELINE_PATHS)
    )


def review(
    base: Policy | None,
    head: Policy,
    pipeline: Sequence[str] = (),
    *,
    new: str = "",
    environment: Sequence[str] = (),
    command_line: Sequence[str] = (),
) -> PolicyReview:
    """The section: `base` None lists the head's policy as new (`new` says why)."""
    changes = compare(base, head) if base is not None else listed(head)
    overridden = {**{n.removeprefix(ENV_PREFIX).lower(): n for n in environment},
                  **dict.fromkeys(command_line, "the command line")}  # fmt: skip
    changes = [_in_force(c, overridden) for c in changes]
    if pipeline:
        words = f"This MR also changes the pipeline definition: review it ({codes(pipeline)})"
        changes.append(PolicyChange(PIPELINE, None, list(pipeline), words))
    return PolicyReview(
        tuple(changes), "" if base is not None else new, tuple(environment), tuple(command_line)
    )


def _in_force(change: PolicyChange, overridden: dict[str, str]) -> PolicyChange:
    """A change this job does not see: the environment or the command line sets that key."""
    by = overridden.get(change.key)
    if by is None:
        return change
    return replace(change, words=f"{change.words} (not in force in this job: {by} sets it)")


ALLOWED_ONLY = "allowed only by this MR's change to `allowed_sources`"
INSECURE_ONLY = (
    "read without TLS verification only because of this MR's change to `insecure_registries`"
)


def notes(entry: Entry, base: Policy, head: Policy, fixed: Collection[str] = ()) -> list[str]:
    """What only the MR's own policy change does to an image it adds; `fixed` are the keys
    this job sets itself (the same on both sides, whatever the files say)."""
    found = []
    if "allowed_sources" not in fixed and _refused(entry, base) and not _refused(entry, head):
        found.append(ALLOWED_ONLY)
    if "insecure_registries" not in fixed and _insecure(entry, head) and not _insecure(entry, base):
        found.append(INSECURE_ONLY)
    removed = _rule_for(entry, base)
    if "verify" not in fixed and removed is not None and _rule_for(entry, head) is None:
        found.append(
            "mirrored without a signature check only because this MR removed the `verify` "
            f"rule for {code(removed)}"
        )
    return found


@lru_cache(maxsize=64)  # a plan asks the same two policies for each image it adds
def _patterns(patterns: tuple[str, ...]) -> list[re.Pattern[str]]:
    return [re.compile(p) for p in patterns]


def _strings(policy: Policy, key: str) -> tuple[str, ...]:
    value = policy.values.get(key)
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def _refused(entry: Entry, policy: Policy) -> bool:
    return refusal(entry, _patterns(_strings(policy, "allowed_sources"))) is not None


def _insecure(entry: Entry, policy: Policy) -> bool:
    hosts = {h.lower() for h in _strings(policy, "insecure_registries")}
    return entry.source.domain.lower() in hosts


def _rule_for(entry: Entry, policy: Policy) -> str | None:
    """The `match` of the first `verify` rule that applies to the image, or None."""
    rules = policy.values.get("verify")
    for rule in rules if isinstance(rules, list) else []:
        match = rule.get("match") if isinstance(rule, dict) else None
        try:
            if isinstance(match, str) and re.search(match, str(entry.source)):
                return match
        except re.error:
            continue
    return None
