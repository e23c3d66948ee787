"""Opt-in pruning (`prune_after`): an image the list no longer holds is deleted from the
destination once its grace period has passed, with its mirrored companions, then recorded as
pruned. Never what is still used: a registry deletes a manifest by digest, which removes every
tag of that digest in the repository, so when a listed image of the same repository has the
same digest only the record goes. Images syncer did not copy are never touched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone

from syncer.config import Config
from syncer.copy.runner import Registries
from syncer.git import Repository
from syncer.imagelist.reference import Reference, parse_normalized
from syncer.record.image import ImageState, State, Status
from syncer.record.state import now
from syncer.registry.client import RegistryClient
from syncer.trust.naming import in_tags, subjects_of
from syncer.workspace import Workspace

Log = Callable[[str], None]
DELETED = (200, 202, 204)


def due(state: State, prune_after: int, now: datetime) -> list[str]:
    """The removed images whose grace period has passed (removal recorded by an earlier run,
    as the state this run started with says). Pure."""
    out = []
    for key, entry in state.items():
        if entry.removed_at is None or entry.pruned_at is not None:
            continue
        removed = datetime.strptime(entry.removed_at[:19], "%Y-%m-%dT%H:%M:%S")
        if removed.replace(tzinfo=timezone.utc) + timedelta(seconds=prune_after) <= now:
            out.append(key)
    return sorted(out)


def still_used(entry: ImageState, state: State, listed: Iterable[str]) -> str | None:
    """A listed image of the same destination repository with the same digest, if any."""
    repository = entry.destination.rpartition(":")[0].partition("@")[0]
    for key in listed:
        other = state.get(key)
        if other is None or other.digest != entry.digest:
            continue
        if other.destination.rpartition(":")[0].partition("@")[0] == repository:
            return key
    return None


def prune(
    client: RegistryClient,
    state: State,
    listed: set[str],
    keys: list[str],
    when: tuple[str, str | None],
    log: Log,
) -> State:
    """Delete each of `keys` from the destination; the entries that change (pruned, or a
    note saying why not)."""
    at, commit = when
    changes: State = {}
    for key in keys:
        entry = state[key]
        why_kept = _record_only(entry, state, listed)
        refused = _delete(client, entry) if why_kept is None else None
        if refused is not None:
            log(f"{key}: not pruned: {refused}")
            changes[key] = entry._replace(prune_note=refused)
            continue
        log(f"{key}: pruned: " + (why_kept or f"deleted {entry.destination}"))
        changes[key] = entry._replace(pruned_at=at, pruned_commit=commit, prune_note=why_kept)
    return changes


def _record_only(entry: ImageState, state: State, listed: Iterable[str]) -> str | None:
    """Why only the record goes (nothing of it to delete, or a listed image needs the
    digest), or None: delete it."""
    if entry.status is not Status.COPIED or entry.digest is None:
        return "never copied: nothing to delete"
    keeper = still_used(entry, state, listed)
    if keeper is not None:
        return f"only the record: {keeper} still has this digest in the same repository"
    return None


def _delete(client: RegistryClient, entry: ImageState) -> str | None:
    """Delete the image's manifest, then its companions; None when done, else the
    registry's answer in words (the image and its record stay)."""
    assert entry.digest is not None  # noqa: S101  (checked by the caller)
    destination = parse_normalized(entry.destination)
    endpoint = client.destination_endpoint(destination)
    if endpoint is None:
        return "the destination is blocked by registries.conf"
    subjects = subjects_of(client.manifest(destination)) or [entry.digest]
    answer = client.delete_manifest(endpoint, entry.digest)
    if answer is None:
        return f"{endpoint.host} cannot be reached"
    if answer.status_code not in (*DELETED, 404):
        code = _error_code(answer.content)
        return f"the registry refused the delete: HTTP {answer.status_code}{code}"
    tags = client.tag_lists.of(endpoint)[0] or []
    for companion in in_tags(tags, subjects):
        where = Reference(destination.domain, destination.path, companion.tag)
        digest = client.destination_digest(where)
        if digest is not None:
            client.delete_manifest(endpoint, digest)
    return None


def _error_code(body: bytes) -> str:
    import json

    try:
        errors = json.loads(body).get("errors") or []
        return f" {errors[0]['code']}" if errors else ""
    except (ValueError, AttributeError, KeyError, IndexError, TypeError):
        return ""


def due_for_pruning(config: Config, work: Workspace) -> list[str]:
    """The removed images whose grace period has passed (none without `prune_after`)."""
    if config.prune_after is None:
        return []
    return due(work.state, config.prune_after, datetime.now(timezone.utc))


def prune_due(
    config: Config, work: Workspace, held: Registries, repo: Repository, log: Log
) -> State:
    """Delete what is due from the destination; the entries that change."""
    keys = due_for_pruning(config, work)
    if not keys:
        return {}
    listed = {m.key for m in work.mappings}
    return prune(held.client, work.state, listed, keys, (now(), repo.head_sha()), log)
