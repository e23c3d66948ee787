"""Commands that read the list only: show-raw-images, show-images, check."""

from __future__ import annotations

from typing import Annotated

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
from syncer.imagelist.reference import scoped_name
from syncer.workspace import read_list


@app.command("show-raw-images")
def show_raw_images(list_: ListOpt = None, as_json: JsonOpt = False, repo: RepoOpt = None) -> int:
    """Print each source image of the list, normalized, in list order, once."""
    images = read_list(_config(repo, list=list_))
    for problem in images.errors:
        warn(str(problem))
    for duplicate in images.duplicates:
        warn(str(duplicate))
    sources = [entry.key for entry in images.entries] + [s.key for s in images.selectors]
    if as_json:
        _print_json(sources)
    else:
        for source in sources:
            typer.echo(source)
    return 1 if images.errors else 0


ExpandOpt = Annotated[
    bool,
    typer.Option(
        "--expand", help="List the tags each tag selector chooses now (asks the registries)."
    ),
]


@app.command("show-images")
def show_images(
    list_: ListOpt = None,
    dest: DestOpt = None,
    as_json: JsonOpt = False,
    expand_selectors: ExpandOpt = False,
    repo: RepoOpt = None,
) -> int:
    """Print where each image of the list is mirrored (source -> destination).

    A tag selector line is shown as written (offline); --expand lists the tags it chooses now.
    """
    config = _config(repo, list=list_, destination=dest)
    images = read_list(config)
    mappings, problems = _mappings(config, images)
    shown = [(m.entry.text, str(m.source), str(m.destination)) for m in mappings]
    failed: list[str] = []
    if expand_selectors:
        from syncer.imagelist.expansion import expand, selected_mappings

        expansions = expand(images.selectors, config)
        failed = [f"{x.selector.key}: {x.error}" for x in expansions if x.error]
        chosen, more = selected_mappings(expansions, config.require_destination(), config.list)
        problems += more
        shown += [(str(m.source), str(m.source), str(m.destination)) for m in chosen]
    else:
        prefix = config.require_destination()
        shown += [
            (s.text, s.key, f"{prefix}/{scoped_name(s.name)}:<selected tags>")
            for s in images.selectors
        ]
    for problem in [*images.errors, *problems, *failed]:
        warn(str(problem))
    for duplicate in images.duplicates:
        warn(str(duplicate))
    if as_json:
        _print_json([{"source": source, "destination": target} for _, source, target in shown])
    else:
        for text, _, target in shown:
            typer.echo(f"{text} -> {target}")
    return 1 if images.errors or problems or failed else 0


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
