"""Commands that read the list only: show-raw-images, show-images, check."""

from __future__ import annotations

import typer

from syncer.commands.common import (
    DestOpt,
    JsonOpt,
    ListOpt,
    RepoOpt,
    _config,
    _mappings,
    _print_json,
    app,
    report_problems,
    warn,
)
from syncer.workspace import read_list


@app.command("show-raw-images")
def show_raw_images(list_: ListOpt = None, as_json: JsonOpt = False, repo: RepoOpt = None) -> int:
    """Print each source image of the list, normalized, in list order, once."""
    images = read_list(_config(repo, list=list_))
    for problem in images.errors:
        warn(str(problem))
    for duplicate in images.duplicates:
        warn(str(duplicate))
    sources = [entry.key for entry in images.entries]
    if as_json:
        _print_json(sources)
    else:
        for source in sources:
            typer.echo(source)
    return 1 if images.errors else 0


@app.command("show-images")
def show_images(
    list_: ListOpt = None, dest: DestOpt = None, as_json: JsonOpt = False, repo: RepoOpt = None
) -> int:
    """Print where each image of the list is mirrored (source -> destination)."""
    config = _config(repo, list=list_, destination=dest)
    images = read_list(config)
    mappings, problems = _mappings(config, images)
    for problem in [*images.errors, *problems]:
        warn(str(problem))
    for duplicate in images.duplicates:
        warn(str(duplicate))
    if as_json:
        _print_json(
            [{"source": str(m.source), "destination": str(m.destination)} for m in mappings]
        )
    else:
        for mapping in mappings:
            typer.echo(f"{mapping.entry.text} -> {mapping.destination}")
    return 1 if images.errors or problems else 0


@app.command("check")
def check(
    list_: ListOpt = None, dest: DestOpt = None, as_json: JsonOpt = False, repo: RepoOpt = None
) -> int:
    """Validate the list: every problem as FILE:LINE: message; exit 1 if there is any.

    Duplicates are errors here. With a destination, images that cannot be mirrored under it
    (an IPv6 registry, a path over 255 characters) are errors too.
    """
    config = _config(repo, list=list_, destination=dest)
    images = read_list(config)
    problems = [*images.errors, *images.duplicates]
    if config.destination:
        problems += _mappings(config, images)[1]
    problems.sort(key=lambda p: p.line)
    if as_json:
        _print_json(
            {
                "ok": not problems,
                "images": len(images.entries),
                "problems": [
                    {"path": p.path, "line": p.line, "message": p.message} for p in problems
                ],
            }
        )
    else:
        report_problems(problems)
        if not problems:
            typer.echo(f"{config.list}: {len(images.entries)} images, no problems")
    return 1 if problems else 0
