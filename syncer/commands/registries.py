"""Commands about registries: where, repair-state, mirrors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from syncer.commands.common import (
    DestOpt,
    ImagesArg,
    JsonOpt,
    ListOpt,
    RepoOpt,
    _config,
    _in_repository,
    _log,
    _print_json,
    app,
    given_images,
    report_problems,
    warn,
)
from syncer.errors import UsageError
from syncer.imagelist.parse import parse_list


@app.command("where")
def where(
    images: ImagesArg = None,
    as_json: JsonOpt = False,
    repo: RepoOpt = None,
) -> int:
    """Show where each image is read from, as skopeo reads it: the endpoints in order (the
    registries.conf mirrors first) with their TLS choice, whether it is blocked, and which
    credentials entry applies (its file and key, never the secret).

    Reads registries_conf (else /etc/containers/registries.conf), the drop-ins of
    registries_conf_dir (else /etc/containers/registries.conf.d and the user's), and the
    auth files skopeo reads. Exit 1 when an image cannot be read at all.
    """
    from syncer.containers.where import render, where
    from syncer.copy.runner import registry_setup

    config = _config(repo)
    parsed = parse_list("\n".join(given_images(images)), "argument")
    report_problems(parsed.errors)
    conf, auth = registry_setup(config)
    answers = where([e.source for e in parsed.entries], conf, auth, config.insecure_registries)
    if as_json:
        _print_json([a.as_json() for a in answers])
    else:
        typer.echo(render(answers, conf))
    unreadable = [a for a in answers if a.error or not a.as_json()["endpoints"]]
    return 1 if parsed.errors or unreadable else 0


@app.command("repair-state")
def repair_state(list_: ListOpt = None, dest: DestOpt = None, repo: RepoOpt = None) -> int:
    """Rebuild mapping.json and MAPPING.md from the destination, when mapping.json cannot be
    read (a bad hand edit, conflict markers, a truncated file).

    An image is recorded when the destination holds the manifest the source has now (HEAD
    requests, as a run's skip check); the others are left out and synced by the next run.
    Copies nothing, commits nothing.
    """
    from syncer.commands.repair import repair_state
    from syncer.locks import run_lock

    config, _, repository = _in_repository(repo, list=list_, destination=dest)
    with run_lock(repository.git_dir, _log):
        return repair_state(config, _log)


FORMATS = ("containerd", "registries-conf", "json")


@app.command("mirrors")
def mirrors(
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
            help="containerd: reach an insecure_registries destination over http:// "
            "(default: https with skip_verify).",
        ),
    ] = False,
    list_: ListOpt = None,
    dest: DestOpt = None,
    repo: RepoOpt = None,
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
    config = _config(repo, list=list_, destination=dest)
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
            _log(f"wrote {target}")
        return 1 if images.errors else 0
    text = (
        render.registries_conf(found, digest_only=digest_only)
        if fmt == "registries-conf"
        else render.as_json(found) + "\n"
    )
    if out is None:
        typer.echo(text, nl=False)
    else:
        write_atomic(out, text)
        _log(f"wrote {out}")
    return 1 if images.errors else 0
