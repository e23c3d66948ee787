"""Commands that read the list: show-raw-images, show-images, check, and diff (the list at two
revisions)."""

from __future__ import annotations

from typing import Annotated

import typer

from syncer.commands.common import (
    BaseOpt,
    JsonOpt,
    app,
    config_of,
    globals_of,
    in_repository,
    mappings_of,
    print_json,
    report_problems,
    warn,
)


@app.command("show-raw-images")
def show_raw_images(ctx: typer.Context, as_json: JsonOpt = False) -> int:
    """Print each source image of the list, normalized, in list order, once."""
    from syncer.workspace import read_list

    images = read_list(config_of(globals_of(ctx)))
    for problem in images.errors:
        warn(str(problem))
    for duplicate in images.duplicates:
        warn(str(duplicate))
    sources = [entry.key for entry in images.entries] + [s.key for s in images.selectors]
    if as_json:
        print_json(sources)
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
    ctx: typer.Context, as_json: JsonOpt = False, expand_selectors: ExpandOpt = False
) -> int:
    """Print where each image of the list is mirrored (source -> destination).

    A tag selector line is shown as written (offline); --expand lists the tags it chooses now.
    """
    from syncer.workspace import read_list

    config = config_of(globals_of(ctx))
    images = read_list(config)
    mappings, problems = mappings_of(config, images)
    shown = [(m.entry.text, str(m.source), str(m.destination)) for m in mappings]
    failed: list[str] = []
    if expand_selectors:
        from syncer.copy.runner import registries
        from syncer.imagelist.expansion import expand, selected_mappings

        with registries(config) as held:
            expansions = expand(images.selectors, held.client, config.check_concurrency)
        failed = [f"{x.selector.key}: {x.error}" for x in expansions if x.error]
        chosen, more = selected_mappings(
            expansions, config.require_destination(), config.list, config.allowed_sources
        )
        problems += more
        shown += [(str(m.source), str(m.source), str(m.destination)) for m in chosen]
    else:
        from syncer.imagelist.expansion import selector_destination

        prefix = config.require_destination()
        shown += [
            (s.text, s.key, selector_destination(s, prefix, "<selected tags>"))
            for s in images.selectors
        ]
    for problem in [*images.errors, *problems, *failed]:
        warn(str(problem))
    for duplicate in images.duplicates:
        warn(str(duplicate))
    if as_json:
        print_json([{"source": source, "destination": target} for _, source, target in shown])
    else:
        for text, _, target in shown:
            typer.echo(f"{text} -> {target}")
    return 1 if images.errors or problems or failed else 0


@app.command("check")
def check(ctx: typer.Context, as_json: JsonOpt = False) -> int:
    """Validate the list: every problem as FILE:LINE: message; exit 1 if there is any.

    Duplicates are errors here. With a destination, images that cannot be mirrored under it
    (an IPv6 registry, a path over 255 characters) are errors too.
    """
    from syncer.workspace import read_list

    config = config_of(globals_of(ctx))
    images = read_list(config)
    problems = [*images.errors, *images.duplicates]
    if config.destination:
        problems += mappings_of(config, images)[1]
    problems.sort(key=lambda p: p.line)
    if as_json:
        print_json(
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


@app.command("diff")
def diff(
    ctx: typer.Context,
    base: BaseOpt = None,
    head: Annotated[str, typer.Option("--head", help="Revision with the new list.")] = "HEAD",
    as_json: JsonOpt = False,
) -> int:
    """Print the images added to and removed from the list between two revisions."""
    from syncer.errors import SyncerError
    from syncer.git import find_base
    from syncer.imagelist.diff import diff_lists
    from syncer.workspace import list_at

    config, context, repository = in_repository(globals_of(ctx))
    found = find_base(repository, base, context, warn)
    head_list = list_at(repository, head, config)
    if head_list is None:
        raise SyncerError(f"{config.list}: not in the repository at {head}")
    base_list = list_at(repository, found.sha, config, head_list) if found.sha else None
    result = diff_lists(base_list, head_list)
    for problem in result.problems:
        warn(str(problem))
    if as_json:
        print_json(
            {
                "base": found.sha,
                "added": [e.key for e in result.added],
                "removed": [e.key for e in result.removed],
                "added_selectors": [x.key for x in result.added_selectors],
                "removed_selectors": [x.key for x in result.removed_selectors],
                "problems": [str(p) for p in result.problems],
            }
        )
    else:
        typer.echo(f"# base: {found.sha or 'none'} ({found.why})")
        for key in [e.key for e in result.added] + [x.key for x in result.added_selectors]:
            typer.echo(f"+ {key}")
        for key in [e.key for e in result.removed] + [x.key for x in result.removed_selectors]:
            typer.echo(f"- {key}")
    return 1 if result.problems else 0
