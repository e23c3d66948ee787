"""`syncer where IMAGE...`: where each image is read from, as skopeo reads it."""

from __future__ import annotations

import typer

from syncer.commands.common import (
    ImagesArg,
    JsonOpt,
    app,
    config_of,
    given_images,
    globals_of,
    print_json,
    report_problems,
)
from syncer.imagelist.parse import parse_list


@app.command("where")
def where(ctx: typer.Context, images: ImagesArg = None, as_json: JsonOpt = False) -> int:
    """Show where each image is read from, as skopeo reads it: the endpoints in order (the
    registries.conf mirrors first) with their TLS choice, whether it is blocked, and which
    credentials entry applies (its file and key, never the secret).

    Reads registries_conf (else /etc/containers/registries.conf), the drop-ins of
    registries_conf_dir (else /etc/containers/registries.conf.d and the user's), and the
    auth files skopeo reads. Exit 1 when an image cannot be read at all.
    """
    from syncer.containers.where import render, where
    from syncer.copy.runner import registry_setup

    config = config_of(globals_of(ctx))
    parsed = parse_list("\n".join(given_images(images)), "argument")
    report_problems(parsed.errors)
    conf, auth = registry_setup(config)
    answers = where([e.source for e in parsed.entries], conf, auth, config.insecure_registries)
    if as_json:
        print_json([a.as_json() for a in answers])
    else:
        typer.echo(render(answers, conf))
    unreadable = [a for a in answers if a.error or not a.as_json()["endpoints"]]
    return 1 if parsed.errors or unreadable else 0
