"""`syncer sync IMAGE...`: copy images now, without a diff or a report."""

from __future__ import annotations

import typer

from syncer.commands.common import (
    ImagesArg,
    app,
    config_of,
    details_log,
    given_images,
    globals_of,
    log,
    report_problems,
)
from syncer.imagelist.parse import map_destinations, parse_list
from syncer.imagelist.policy import apply_policy


@app.command("sync")
def sync(ctx: typer.Context, images: ImagesArg = None) -> int:
    """Copy the named images to the destination now (no diff, no report)."""
    from syncer.copy.runner import run_sync
    from syncer.record.image import Status

    given = globals_of(ctx)
    config = config_of(given)
    text = "\n".join(given_images(images))
    parsed = apply_policy(parse_list(text, "argument"), config.allowed_sources)
    report_problems(parsed.errors)
    mappings, problems = map_destinations(parsed.entries, config.require_destination(), "argument")
    report_problems(problems)
    results = run_sync(mappings, config, log, details=details_log(given))
    failed = any(r.status is Status.FAILED for r in results)
    return 1 if failed or parsed.errors or problems else 0
