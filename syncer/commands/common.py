"""What every command shares: the typer app, the global options' values, the configuration in
force, output.

The global options (`-C`, `--list`, `--dest`, `--set`, `--verbose`) are declared once, on the
root (`syncer.cli`), and may stand before the command or after it; commands get their values
as a `Globals` in typer's context object, never through module state.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple

import typer

from syncer.config import CONFIG_FILE, Config, load_config
from syncer.errors import UsageError
from syncer.imagelist.parse import ImageList, Mapping, Problem, map_destinations

if TYPE_CHECKING:  # imported where used: a command pays only for what it needs
    from syncer.ci import CiContext
    from syncer.git import Repository
    from syncer.record.shard import Shard

app = typer.Typer(
    help="Mirror the container images named in source-images.list into a private registry.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class Globals(NamedTuple):
    """The global options as given (later ones win): where to run and what to set."""

    repo: Path | None = None
    list: str | None = None
    destination: str | None = None
    settings: dict[str, object] = {}  # noqa: RUF012  (a NamedTuple default, never mutated)
    verbose: bool = False


def details_log(given: Globals) -> Callable[[str], None] | None:
    """Where the whole output of a failed command goes: the log with --verbose, and in a CI
    job (whose log is read after the fact); elsewhere only its last line is shown."""
    in_ci = os.environ.get("GITLAB_CI") == "true" or os.environ.get("GITHUB_ACTIONS") == "true"
    return log if given.verbose or in_ci else None


def globals_of(ctx: typer.Context) -> Globals:
    found = ctx.find_root().obj
    return found if isinstance(found, Globals) else Globals()


def find_root(start: Path) -> Path:
    """The nearest folder at or above `start` that holds syncer.yaml or is a git work tree."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).exists() or (folder / ".git").exists():
            return folder
    return start


def config_of(given: Globals) -> Config:
    """The configuration in force: syncer.yaml, then SYNCER_*, then --set, --list, --dest."""
    start = given.repo or Path.cwd()
    if not start.is_dir():
        raise UsageError(f"-C {start}: no such directory")
    flags = {"list": given.list, "destination": given.destination}
    chosen = {key: value for key, value in flags.items() if value is not None}
    return load_config(find_root(start), os.environ, {**given.settings, **chosen})


def in_repository(given: Globals) -> tuple[Config, CiContext, Repository]:
    """Configuration, CI context and git repository: what every git-aware command starts with."""
    from syncer import ci
    from syncer.git import Repository

    config = config_of(given)
    context = ci.detect(os.environ)
    repository = Repository(
        config.root, push_user=context.push_user, timeout=config.git_timeout, log=log
    )
    return config, context, repository


def log(message: str) -> None:
    typer.echo(message)


def progress(message: str) -> None:
    """What a slow step is waiting for, on stderr (stdout may be JSON or markdown)."""
    typer.echo(message, err=True)


def warn(message: str) -> None:
    typer.echo(f"syncer: warning: {message}", err=True)


def report_problems(problems: list[Problem] | tuple[Problem, ...]) -> None:
    for problem in problems:
        typer.echo(str(problem), err=True)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, sort_keys=True))


def mappings_of(config: Config, images: ImageList) -> tuple[list[Mapping], list[Problem]]:
    return map_destinations(images.entries, config.require_destination(), config.list)


def shard_of(text: str | None, context: CiContext) -> Shard | None:
    from syncer.record.shard import Shard

    if text is None:
        return None
    if text == "auto":
        if context.shard is None:
            raise UsageError("--shard auto: this CI job has no shard index and total")
        return Shard(*context.shard)
    return Shard.parse(text)


def given_images(images: list[str] | None) -> list[str]:
    if not images:
        raise UsageError("give at least one IMAGE")
    return images


JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
NoPushOpt = Annotated[bool, typer.Option("--no-push", help="Commit the report, do not push.")]
BaseOpt = Annotated[
    str | None,
    typer.Option(
        "--base",
        help="Compare the list with this revision (default: the merge request's base in an "
        "MR/PR pipeline, the push's before SHA in a push pipeline, else HEAD~1).",
    ),
]
ShardOpt = Annotated[
    str | None,
    typer.Option(
        "--shard",
        help="Sync only shard I of N (I/N), or 'auto' for the CI's own (GitLab CI_NODE_INDEX/"
        "CI_NODE_TOTAL; GitHub SYNCER_SHARD_INDEX/SYNCER_SHARD_TOTAL). Writes --results "
        "instead of committing.",
    ),
]
# typer 0.28 shows a required argument as `{IMAGE}`: the images are checked here instead.
ImagesArg = Annotated[
    list[str] | None,
    typer.Argument(
        help="Image references, written as in the list.", metavar="IMAGE...", show_default=False
    ),
]
