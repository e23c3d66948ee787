"""`syncer mirrors`: the runtime configuration that pulls the list's registries through the
mirror, so clusters keep the original image names."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from syncer.commands.common import app, config_of, globals_of, log, mappings_of, warn
from syncer.errors import UsageError

FORMATS = ("containerd", "registries-conf", "json")


@app.command("mirrors")
def mirrors(
    ctx: typer.Context,
    fmt: Annotated[
        str, typer.Option("--format", help="containerd, registries-conf or json.")
    ] = "registries-conf",
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Where to write: a folder for containerd (one <registry>/hosts.toml each), "
            "a file otherwise (default: print it).",
        ),
    ] = None,
    digest_only: Annotated[
        bool, typer.Option("--digest-only", help="registries-conf: mirror-by-digest-only.")
    ] = False,
    plain_http: Annotated[
        bool,
        typer.Option(
            "--plain-http",
            help="containerd: reach an insecure_registries destination over http:// only "
            "(default: https with skip_verify first, then http://).",
        ),
    ] = False,
) -> int:
    """Write the runtime configuration that pulls the list's registries through the mirror,
    so clusters keep the original image names: containerd hosts.toml files, or a
    containers-registries.conf for CRI-O, podman and skopeo.
    """
    from syncer.containers import mirrors as render
    from syncer.files import write_atomic
    from syncer.workspace import read_list

    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    config = config_of(globals_of(ctx))
    images = read_list(config)
    for problem in images.errors:
        warn(str(problem))
    sources = [e.source for e in images.entries] + [s.name for s in images.selectors]
    found = render.mirrors_for(sources, config.require_destination(), config.insecure_registries)
    if fmt == "containerd":
        if out is None:
            raise UsageError("--format containerd writes a folder: give --out DIR")
        for mirror in found:
            target = out / mirror.registry / "hosts.toml"
            write_atomic(target, render.hosts_toml(mirror, plain_http=plain_http))
            log(f"wrote {target}")
        return 1 if images.errors else 0
    if fmt == "registries-conf":
        text = render.registries_conf(found, digest_only=digest_only)
    else:
        renamed = [m for m in mappings_of(config, images)[0] if m.entry.rename is not None]
        text = render.as_json(found, [(m.source, str(m.destination)) for m in renamed]) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        write_atomic(out, text)
        log(f"wrote {out}")
    return 1 if images.errors else 0
