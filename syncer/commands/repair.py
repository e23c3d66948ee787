"""`syncer repair-state`: rebuild mapping.json from what the destination holds, when the file
cannot be trusted (a bad hand edit, a conflict, a truncated file).

An image is recorded only when the destination holds the very manifest the source has now
(the same HEAD requests as the skip check of a run); every other image is left out, so the
next `syncer run` syncs it. Nothing is copied and nothing is committed here.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from syncer.commands.run import render_files
from syncer.config import Config
from syncer.copy.engine import Copier, destination_details
from syncer.copy.runner import make_copier
from syncer.files import write_atomic
from syncer.imagelist.parse import Mapping
from syncer.record.results import ImageResult, Status
from syncer.record.state import apply_results
from syncer.workspace import load_workspace

Log = Callable[[str], None]


def _in_place(copier: Copier, mapping: Mapping) -> ImageResult | None:
    digest = copier.current_digest(mapping)
    if digest is None:
        return None
    platforms = destination_details(copier.client, mapping.destination)[1]
    return ImageResult(
        str(mapping.source), str(mapping.destination), Status.SKIPPED, 0.0, digest, platforms
    )


def repair_state(config: Config, log: Log) -> int:
    prefix = config.require_destination()
    work = load_workspace(config, prefix, read_state=False)
    copier = make_copier(config, log)
    try:
        with ThreadPoolExecutor(max_workers=max(1, config.check_concurrency)) as pool:
            found = [r for r in pool.map(lambda m: _in_place(copier, m), work.mappings) if r]
    finally:
        copier.client.close()
    state = apply_results({}, found, None)
    for name, text in render_files(config, prefix, state, replace(work, state={})).items():
        write_atomic(config.path(name), text)
        log(f"wrote {config.path(name)}")
    missing = len(work.mappings) - len(found)
    log(
        f"{len(found)} of {len(work.mappings)} images are in place at the destination"
        + (f"; the next 'syncer run' syncs the other {missing}" if missing else "")
        + ". Commit the files, or let the next 'syncer run' commit them."
    )
    return 0
