"""Merge-request validation: what the MR adds, whether each source exists, where it will land."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from threading import Semaphore

from syncer import process
from syncer.config import Config
from syncer.containers.auth import DockerAuth
from syncer.copy.skopeo import SkopeoOptions, classify_failure, inspect_command
from syncer.heartbeat import Heartbeat
from syncer.imagelist.parse import Mapping, Problem
from syncer.record.image import Content, Reason
from syncer.record.rows import cell, short
from syncer.registry.client import RegistryClient
from syncer.registry.manifest import content_of, platforms_in
from syncer.review.policy import NO_CHANGES, PolicyReview
from syncer.review.words import code
from syncer.trust.guard import Trust
from syncer.trust.naming import subjects_of, summary

MARKER = "<!-- syncer-plan -->"
Log = Callable[[str], None]
MAX_SHOWN = 300  # characters of a registry's error text in the plan (an MR comment)


@dataclass(frozen=True)
class PlanRow:
    source: str
    destination: str
    platforms: tuple[str, ...] = ()
    problem: str | None = None
    trust: str = ""  # companions found at the source, and the verification result
    copied: tuple[str, ...] | None = None  # platforms= : those that will be copied (None: all)
    policy_notes: tuple[str, ...] = ()  # what only the MR's own policy change does to it

    @property
    def platforms_cell(self) -> str:
        shown = ", ".join(self.platforms)
        if self.copied is None:
            return shown
        return f"{', '.join(self.copied)} of {shown} (subset: its own index digest)"


def inspect_source(
    mapping: Mapping, options: SkopeoOptions, timeout: float, auth: DockerAuth | None = None
) -> PlanRow:
    """`skopeo inspect --raw` of the source manifest: does it exist, which platforms."""
    source, destination = str(mapping.source), str(mapping.destination)
    done = process.run(inspect_command(mapping.source, options), timeout=timeout)
    if not done.ok:
        reason, error = classify_failure(done.stderr, timed_out=done.timed_out)
        problem = f"{reason.value}: {error}"
        if reason is Reason.UNAUTHORIZED and auth is not None and auth.lookup(source) is None:
            problem += f" ({NO_CREDENTIALS.format(registry=mapping.source.domain)})"
        return PlanRow(source, destination, problem=problem)
    try:
        manifest = json.loads(done.stdout)
        platforms = platforms_in(manifest) if isinstance(manifest, dict) else None
        content = content_of(manifest) if isinstance(manifest, dict) else None
    except ValueError:
        platforms, content = None, None
    if content is not None:
        return PlanRow(source, destination, (CONTENT_WORDS[content],))
    return PlanRow(source, destination, platforms or ("single platform",))


CONTENT_WORDS = {Content.CHART: "Helm chart", Content.ARTIFACT: "OCI artifact"}


def with_subset(row: PlanRow, wanted: tuple[str, ...] | None) -> PlanRow:
    """The platforms `platforms=` copies of those the source has, or why it cannot."""
    if wanted is None or row.problem or not row.platforms:
        return row
    if row.platforms[0] in ("single platform", *CONTENT_WORDS.values()):
        return row  # copied whole: one platform or none (the copy checks which)
    copied = tuple(p for p in row.platforms if p in wanted)
    if not copied:
        problem = f"platforms: names none of the source's platforms ({', '.join(row.platforms)})"
        return replace(row, problem=problem)
    return replace(row, copied=copied)


NO_CREDENTIALS = (
    "this job has no credentials for {registry}: is SYNCER_AUTHFILE set for it? GitLab gives "
    "protected variables only to pipelines of protected branches"
)


def make_plan(
    mappings: Sequence[Mapping], config: Config, log: Log, client: RegistryClient | None = None
) -> list[PlanRow]:
    """Each added image inspected at its source, with what would travel with it; with the
    run's registry client, or one of its own."""
    from syncer.copy.runner import make_trust, registries

    if client is None:
        with registries(config) as held:
            return make_plan(mappings, config, log, held.client)
    options = SkopeoOptions.from_config(config)
    trust = make_trust(config, client, Semaphore(max(1, config.concurrency)))
    auth = client.auth

    def inspect(mapping: Mapping) -> PlanRow:
        with heartbeat.waiting(str(mapping.source), "skopeo inspect is running"):
            row = inspect_source(mapping, options, config.timeout, auth)
        row = with_subset(row, mapping.entry.platforms or config.platforms or None)
        if row.problem:
            return row
        with heartbeat.waiting(str(mapping.source), "looking for its signatures and SBOMs"):
            return _with_trust(row, mapping, trust)

    with (
        Heartbeat(log) as heartbeat,
        ThreadPoolExecutor(max_workers=max(1, config.check_concurrency)) as pool,
    ):
        return list(pool.map(inspect, mappings))


def _with_trust(row: PlanRow, mapping: Mapping, trust: Trust) -> PlanRow:
    """What would travel with the image, and whether its signature verifies (else a problem)."""
    parts = []
    found = trust.client.serving(mapping.source)
    if trust.companions is not None and found is not None:
        endpoint, index = found
        kinds = trust.companions.find(
            mapping, lambda: subjects_of(trust.client.manifest_at(endpoint, index))
        )
        parts.append(summary(c.kind for c in kinds or []) or "no signatures or SBOMs")
    rule = trust.rule_for(mapping.source)
    if rule is not None:
        digest, said = trust.verified_digest(mapping, rule)
        if digest is None:
            return replace(row, problem=f"unverified: {said}", trust="; ".join(parts))
        parts.append(rule.said(said))  # who signed it
    return replace(row, trust="; ".join(parts))


def render_plan(
    rows: Sequence[PlanRow],
    problems: Sequence[Problem],
    base: str,
    notes: Sequence[str] = (),
    *,
    policy: PolicyReview = NO_CHANGES,
) -> str:
    """The plan as markdown: for the job log, the step summary and the MR comment. The
    "Policy changes" section comes first; `notes` (pull quota, deletions to come) follow."""
    lines = [MARKER, "### syncer plan", ""]
    bad = [r for r in rows if r.problem]
    parts = [f"{len(problems)} invalid line(s) in the list"] if problems else []
    parts += [f"{len(bad)} added image(s) that cannot be read"] if bad else []
    if parts:
        lines.append(f"**This change cannot be mirrored as is: {' and '.join(parts)}.**")
    review = f" **{_counted(policy)}: review the policy changes.**" if policy.changes else ""
    lines.append(f"{len(rows)} image(s) added.{review} Compared with: {cell(base)}.")
    lines.append("")
    lines += policy_section(policy)
    if notes:
        lines += [*(f"- {note}" for note in notes), ""]
    for problem in problems:
        lines.append(f"- {cell(short(str(problem), MAX_SHOWN))}")
    if problems:
        lines.append("")
    if rows:
        lines += [
            "| Source | Destination | Platforms | Signatures & SBOMs | Check |",
            "|---|---|---|---|---|",
        ]
        for row in rows:
            check = f"FAILED {cell(short(row.problem, MAX_SHOWN))}" if row.problem else "found"
            check += "".join(f"; **{cell(note)}**" for note in row.policy_notes)
            lines.append(
                f"| `{row.source}` | `{row.destination}` | {cell(row.platforms_cell)} "
                f"| {cell(row.trust)} | {check} |"
            )
    return "\n".join(lines) + "\n"


def _counted(policy: PolicyReview) -> str:
    count = len(policy.changes)
    return f"{count} policy setting(s) new" if policy.new else f"{count} policy change(s)"


def policy_section(policy: PolicyReview) -> list[str]:
    """ "Policy changes", one line a change; nothing at all when there is none."""
    if not policy.changes:
        return []
    lines = ["#### Policy changes", ""]
    if policy.new:
        lines += [f"New policy, not a change: {cell(policy.new)}. What the head sets:", ""]
    lines += [f"- {change.words}" for change in policy.changes]
    outside = [f"{code(name)} (environment)" for name in policy.environment]
    outside += [f"{code(key)} (command line)" for key in policy.command_line]
    if outside:
        lines.append(
            f"- Set outside this MR, so not compared: {', '.join(outside)}; these win over "
            "syncer.yaml."
        )
    return [*lines, ""]


def plan_json(
    rows: Sequence[PlanRow],
    problems: Sequence[Problem],
    notes: Sequence[str] = (),
    *,
    policy: PolicyReview = NO_CHANGES,
) -> str:
    return json.dumps(
        {
            "ok": not problems and not any(r.problem for r in rows),
            "notes": list(notes),
            "problems": [str(p) for p in problems],
            "images": [
                {"source": r.source, "destination": r.destination, "platforms": list(r.platforms),
                 "problem": r.problem, "trust": r.trust, "policy_notes": list(r.policy_notes),
                 "copied_platforms": None if r.copied is None else list(r.copied)}
                for r in rows
            ],
            "policy_changes": [
                {"key": c.key, "old": c.old, "new": c.new, "words": c.words}
                for c in policy.changes
            ],
            "policy_new": policy.new or None,
            "environment_keys": list(policy.environment),
            "command_line_keys": list(policy.command_line),
        },
        indent=2,
        sort_keys=True,
        default=str,  # a YAML date in a rule as written
    )  # fmt: skip
