"""`syncer repair-state`: rebuild mapping.json from what the destination holds, when the file
cannot be trusted (a bad hand edit, a conflict, a truncated file).

An image is recorded only when the destination holds the very manifest the source has now
(the same HEAD requests as the skip check of a run); every other image is left out, so the
next `syncer run` syncs it. Nothing is copied and nothing is committed here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import typer

from syncer.commands.common import app, globals_of, in_repository, log

if TYPE_CHECKING:
    from syncer.config import Config

Log = Callable[[str], None]


@app.command("repair-state")
def repair_state_command(ctx: typer.Context) -> int:
    """Rebuild mapping.json and MAPPING.md from the destination, when mapping.json cannot be
    read (a bad hand edit, conflict markers, a truncated file).

    An image is recorded when the destination holds the manifest the source has now (HEAD
    requests, as a run's skip check); the others are left out and synced by the next run.
    Copies nothing, commits nothing.
    """
    from syncer.locks import run_lock

    config, _, repository = in_repository(globals_of(ctx))
    with run_lock(repository.git_dir, log):
        return repair_state(config, log)


def repair_state(config: Config, log: Log) -> int:
    from concurrent.futures import ThreadPoolExecutor
    from dataclasses import replace

    from syncer.copy.check import destination_details
    from syncer.copy.runner import image_sync, registries
    from syncer.imagelist.parse import Mapping
    from syncer.publish import write_files
    from syncer.record.image import ImageResult, Status
    from syncer.record.state import apply_results
    from syncer.workspace import PageFolder, load_workspace, render_files

    prefix = config.require_destination()
    work = load_workspace(config, prefix, read_state=False)

    def in_place(mapping: Mapping) -> ImageResult | None:
        digest = checker.current_digest(mapping)
        if digest is None:
            return None
        held = destination_details(checker.client, mapping.destination)
        return ImageResult(
            str(mapping.source), str(mapping.destination), Status.SKIPPED,
            digest=digest, platforms=held.platforms, content=held.content,
        )  # fmt: skip

    with registries(config, log) as held:
        checker = image_sync(config, held.client, log).checker
        with ThreadPoolExecutor(max_workers=max(1, config.check_concurrency)) as pool:
            found = [r for r in pool.map(in_place, work.mappings) if r]
    state = apply_results({}, found, None)
    files = render_files(config, prefix, state, replace(work, state={}))
    stale = PageFolder(config.pages).stale(config.root, files)  # as `run` removes them
    done, failure = write_files(config.root, files, stale)
    for name in done:
        log(
            f"wrote {config.path(name)}"
            if name in files
            else f"removed {config.path(name)} (no longer needed)"
        )
    if failure is not None:
        raise failure
    missing = len(work.mappings) - len(found)
    log(
        f"{len(found)} of {len(work.mappings)} images are in place at the destination"
        + (f"; the next 'syncer run' syncs the other {missing}" if missing else "")
        + ". Commit the files, or let the next 'syncer run' commit them."
    )
    return 0
