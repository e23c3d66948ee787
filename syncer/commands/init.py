"""`syncer init`: a thin mirror repository that uses syncer without holding its code: the list,
syncer.yaml, the pipeline files that include the GitLab component or call the GitHub workflows,
pinned to the running syncer's version, and a README saying what to set."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from syncer.commands.common import app, globals_of, log
from syncer.errors import UsageError


@app.command("init")
def init(
    ctx: typer.Context,
    directory: Annotated[
        Path, typer.Argument(help="Where to write the files (made when missing).")
    ] = Path(),
    provider: Annotated[
        str, typer.Option("--provider", help="The pipeline files to write: gitlab, github or both.")
    ] = "both",
    destination: Annotated[
        str | None,
        typer.Option(
            "--destination",
            help="Registry prefix HOST[:PORT][/PATH] written to syncer.yaml (else set it as the "
            "SYNCER_DESTINATION CI variable).",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite files that exist.")] = False,
    gitlab_project: Annotated[
        str,
        typer.Option(
            "--gitlab-project",
            help="The project holding syncer's component on your GitLab instance, GROUP/PROJECT.",
        ),
    ] = "tools/syncer",
    github_repository: Annotated[
        str,
        typer.Option(
            "--github-repository",
            help="The GitHub repository holding syncer's action and workflows, OWNER/REPO.",
        ),
    ] = "tools/syncer",
) -> int:
    """Write a thin mirror repository pinned to this syncer's version: source-images.list,
    syncer.yaml, the pipeline files (GitLab component, GitHub workflows) and a README.
    Refuses to overwrite a file that exists, naming them all (exit 2), unless --force."""
    from syncer import version
    from syncer.files import write_atomic
    from syncer.imagelist.reference import InvalidReference, validate_destination_prefix
    from syncer.scaffold import Scaffold, problems, scaffold_files

    given = globals_of(ctx)
    target = (given.repo or Path.cwd()) / directory
    prefix = destination or given.destination
    try:
        prefix = validate_destination_prefix(prefix) if prefix else None
    except InvalidReference as exc:
        raise UsageError(f"--destination: {exc}") from None
    scaffold = Scaffold(version(), provider, prefix, gitlab_project, github_repository)
    wrong = problems(scaffold)
    if wrong:
        raise UsageError("; ".join(wrong))
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target}: not a directory")
    texts = scaffold_files(scaffold)
    existing = [name for name in texts if (target / name).exists()]
    if existing and not force:
        raise UsageError(
            f"{target}: {', '.join(existing)} already there; nothing written (--force overwrites)"
        )
    for name, text in texts.items():
        write_atomic(target / name, text)
        log(f"wrote {target / name}")
    log(f"syncer {scaffold.version}: next, set what README.md says, then commit and push")
    return 0
