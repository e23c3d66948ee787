"""The command line (typer only): parse flags, call the package, print, return an exit code.

Exit codes: 0 ok, 1 problems found or work failed, 2 usage error, 3 internal error (a bug),
128+N stopped by signal N (130 for Ctrl-C).
`main` is the one place that turns errors into exit codes and one-line messages.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from syncer import __version__
from syncer.config import Config, load_config
from syncer.errors import SyncerError, UsageError
from syncer.imagelist import ImageList, Mapping, Problem, map_destinations, parse_list
from syncer.workspace import read_list

INTERNAL_ERROR = 3

if TYPE_CHECKING:  # imported where used: a command pays only for what it needs
    from syncer.ci import CiContext
    from syncer.git import Repository
    from syncer.shard import Shard

app = typer.Typer(
    help="Mirror the container images named in source-images.list into a private registry.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

ListOpt = Annotated[str | None, typer.Option("--list", help="Image list file [config key 'list'].")]
DestOpt = Annotated[
    str | None,
    typer.Option(
        "--dest", help="Destination prefix HOST[:PORT][/PATH] [config key 'destination']."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
RepoOpt = Annotated[
    Path,
    typer.Option(
        "--repo", "-C", help="Repository root holding syncer.yaml and the list.", show_default=False
    ),
]


# `--set KEY=VALUE` pairs given before the command; they rank with the command's own flags.
_settings: dict[str, object] = {}


def _config(repo: Path, **flags: object | None) -> Config:
    given = {key: value for key, value in flags.items() if value is not None}
    return load_config(repo.resolve(), os.environ, {**_settings, **given})


def warn(message: str) -> None:
    typer.echo(f"syncer: warning: {message}", err=True)


def report_problems(problems: list[Problem] | tuple[Problem, ...]) -> None:
    for problem in problems:
        typer.echo(str(problem), err=True)


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, sort_keys=True))


def _mappings(config: Config, images: ImageList) -> tuple[list[Mapping], list[Problem]]:
    return map_destinations(images.entries, config.require_destination(), config.list)


@app.command("show-raw-images")
def show_raw_images(list_: ListOpt = None, as_json: JsonOpt = False, repo: RepoOpt = Path()) -> int:
    """Print each source image of the list, normalized, in list order, once."""
    images = read_list(_config(repo, list=list_))
    report_problems(images.errors)
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
    list_: ListOpt = None, dest: DestOpt = None, as_json: JsonOpt = False, repo: RepoOpt = Path()
) -> int:
    """Print where each image of the list is mirrored (source -> destination)."""
    config = _config(repo, list=list_, destination=dest)
    images = read_list(config)
    mappings, problems = _mappings(config, images)
    report_problems([*images.errors, *problems])
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
    list_: ListOpt = None, dest: DestOpt = None, as_json: JsonOpt = False, repo: RepoOpt = Path()
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


NoPushOpt = Annotated[bool, typer.Option("--no-push", help="Commit the report, do not push.")]
BaseOpt = Annotated[
    str | None,
    typer.Option(
        "--base",
        help="Compare the list with this revision (default: the merge request's base in an "
        "MR/PR pipeline, the push's before SHA in a push pipeline, else HEAD~1).",
    ),
]


def _log(message: str) -> None:
    typer.echo(message)


def _in_repository(repo: Path, **flags: object | None) -> tuple[Config, CiContext, Repository]:
    """Configuration, CI context and git repository: what every git-aware command starts with."""
    from syncer import ci
    from syncer.git import Repository

    config = _config(repo, **flags)
    context = ci.detect(os.environ)
    return config, context, Repository(config.root, push_user=context.push_user)


ShardOpt = Annotated[
    str | None,
    typer.Option(
        "--shard",
        help="Sync only shard I of N (I/N), or 'auto' for the CI's own (GitLab CI_NODE_INDEX/"
        "CI_NODE_TOTAL; GitHub SYNCER_SHARD_INDEX/SYNCER_SHARD_TOTAL). Writes --results "
        "instead of committing.",
    ),
]


def _shard(text: str | None, context: CiContext) -> Shard | None:
    from syncer.shard import Shard

    if text is None:
        return None
    if text == "auto":
        if context.shard is None:
            raise UsageError("--shard auto: this CI job has no shard index and total")
        return Shard(*context.shard)
    return Shard.parse(text)


@app.command("run")
def run(
    base: BaseOpt = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Re-sync every image of the list, not only new ones.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan and the report change; touch nothing.")
    ] = False,
    no_push: NoPushOpt = False,
    shard: ShardOpt = None,
    results: Annotated[
        Path | None,
        typer.Option("--results", help="Write the results here (JSON) instead of committing."),
    ] = None,
    list_: ListOpt = None,
    dest: DestOpt = None,
    repo: RepoOpt = Path(),
) -> int:
    """The CI job: copy the images that are new since the base revision (and any that failed
    before), write MAPPING.md and mapping.json, commit them with [skip ci] and push.

    Exit 1 if any image failed or the list has bad lines; the others are still copied.
    """
    from syncer.job import RunOptions, run_job

    config, context, repository = _in_repository(repo, list=list_, destination=dest)
    chosen = _shard(shard, context)
    if chosen is not None and results is None:
        results = Path(f"syncer-results-{chosen.index}-of-{chosen.total}.json")
    options = RunOptions(
        base=base,
        everything=everything,
        dry_run=dry_run,
        push=not no_push,
        shard=chosen,
        results_file=results,
    )
    return run_job(config, repository, context, options, _log, warn)


@app.command("report")
def report(
    files: Annotated[
        list[Path] | None, typer.Argument(help="Results files of the shards.", show_default=False)
    ] = None,
    merge: Annotated[
        bool, typer.Option("--merge", help="Fold the results FILES of the shards into the state.")
    ] = False,
    no_push: NoPushOpt = False,
    list_: ListOpt = None,
    dest: DestOpt = None,
    repo: RepoOpt = Path(),
) -> int:
    """Render MAPPING.md from mapping.json, commit and push it (once) if it changed.

    With --merge, first fold the results files that `run --shard` wrote into the state:
    `syncer report --merge results/*.json`.
    """
    from syncer.job import merge_job

    if merge != bool(files):
        raise UsageError("give results files together with --merge, and --merge with files")
    config, context, repository = _in_repository(repo, list=list_, destination=dest)
    return merge_job(config, repository, context, files or [], not no_push, _log)


@app.command("plan")
def plan(
    base: BaseOpt = None,
    comment: Annotated[
        bool,
        typer.Option(
            "--comment/--no-comment",
            help="Post or update the plan as one MR/PR comment when SYNCER_COMMENT_TOKEN "
            "(or GITHUB_TOKEN on GitHub) is set.",
        ),
    ] = True,
    as_json: JsonOpt = False,
    list_: ListOpt = None,
    dest: DestOpt = None,
    repo: RepoOpt = Path(),
) -> int:
    """Validate a merge request: the list is valid and every source it adds exists.

    Prints a markdown plan (source, destination, platforms), appends it to
    $GITHUB_STEP_SUMMARY on GitHub, and posts it as an MR/PR comment. Exit 1 when anything
    added is invalid or missing.
    """
    from syncer.comments import CommentError, upsert_comment
    from syncer.job import append_summary, plan_job
    from syncer.plan import plan_json, render_plan

    config, context, repository = _in_repository(repo, list=list_, destination=dest)
    rows, problems, base_why = plan_job(config, repository, context, base, warn)
    text = render_plan(rows, problems, base_why)
    typer.echo(plan_json(rows, problems) if as_json else text)
    append_summary(context, text)
    if comment and context.comment_token and context.merge_request:
        try:
            _log(f"plan comment {upsert_comment(context, text)}")
        except CommentError as exc:
            warn(str(exc))
    return 1 if problems or any(r.problem for r in rows) else 0


@app.command("diff")
def diff(
    base: BaseOpt = None,
    head: Annotated[str, typer.Option("--head", help="Revision with the new list.")] = "HEAD",
    as_json: JsonOpt = False,
    list_: ListOpt = None,
    repo: RepoOpt = Path(),
) -> int:
    """Print the images added to and removed from the list between two revisions."""
    from syncer.git import find_base
    from syncer.job import diff_lists

    config, context, repository = _in_repository(repo, list=list_)
    found = find_base(repository, base, context, warn)
    result = diff_lists(repository, repository.relative(config.list_path), found, head, config.list)
    if as_json:
        _print_json(
            {
                "base": found.sha,
                "added": [e.key for e in result.added],
                "removed": [e.key for e in result.removed],
            }
        )
    else:
        typer.echo(f"# base: {found.sha or 'none'} ({found.why})")
        for entry in result.added:
            typer.echo(f"+ {entry.key}")
        for entry in result.removed:
            typer.echo(f"- {entry.key}")
    return 0


@app.command("where")
def where(
    images: Annotated[
        list[str], typer.Argument(help="Image references, as in the list.", metavar="IMAGE")
    ],
    as_json: JsonOpt = False,
    repo: RepoOpt = Path(),
) -> int:
    """Show where each image is read from, as skopeo reads it: the endpoints in order (the
    registries.conf mirrors first) with their TLS choice, whether it is blocked, and which
    credentials entry applies (its file and key, never the secret).

    Reads registries_conf (else /etc/containers/registries.conf), the drop-ins of
    registries_conf_dir (else /etc/containers/registries.conf.d and the user's), and the
    auth files skopeo reads. Exit 1 when an image cannot be read at all.
    """
    from syncer.engine import registry_setup
    from syncer.where import render, where

    config = _config(repo)
    parsed = parse_list("\n".join(images), "argument")
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
def repair_state(list_: ListOpt = None, dest: DestOpt = None, repo: RepoOpt = Path()) -> int:
    """Rebuild mapping.json and MAPPING.md from the destination, when mapping.json cannot be
    read (a bad hand edit, conflict markers, a truncated file).

    An image is recorded when the destination holds the manifest the source has now (HEAD
    requests, as a run's skip check); the others are left out and synced by the next run.
    Copies nothing, commits nothing.
    """
    from syncer.locks import run_lock
    from syncer.repair import repair_state

    config, _, repository = _in_repository(repo, list=list_, destination=dest)
    with run_lock(repository.git_dir, _log):
        return repair_state(config, _log)


@app.command("sync")
def sync(
    images: Annotated[
        list[str], typer.Argument(help="Image references to copy now.", metavar="IMAGE")
    ],
    dest: DestOpt = None,
    repo: RepoOpt = Path(),
) -> int:
    """Copy the named images to the destination now (no diff, no report)."""
    from syncer.engine import run_sync
    from syncer.results import Status

    config = _config(repo, destination=dest)
    text = "\n".join(images)
    parsed = parse_list(text, "argument")
    report_problems(parsed.errors)
    mappings, problems = map_destinations(parsed.entries, config.require_destination(), "argument")
    report_problems(problems)
    results = run_sync(mappings, config, _log)
    failed = any(r.status is Status.FAILED for r in results)
    return 1 if failed or parsed.errors or problems else 0


def _version(value: bool) -> None:
    if value:
        typer.echo(f"syncer {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
    settings: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="KEY=VALUE",
            help="Set any configuration key (beats SYNCER_* and syncer.yaml); repeatable, e.g. "
            "--set concurrency=2 --set insecure_registries=a:5000,b:5000.",
        ),
    ] = None,
) -> None:
    """Mirror the container images named in source-images.list into a private registry."""
    _settings.clear()
    for item in settings or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--set {item!r}: expected KEY=VALUE")
        _settings[key.strip()] = value


class _Signals:
    """SIGTERM/SIGINT stop the children and let the job record what really happened.

    A CI system stops a job with SIGTERM and kills it a little later: the copies in flight are
    stopped (and marked failed), no new one starts, and the state and report are still written.
    """

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _Signals:
        from syncer import process

        process.reset()
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: object) -> None:
        from syncer import process

        if self.received is not None:  # a second signal: stop waiting
            raise KeyboardInterrupt
        self.received = signum
        typer.echo(
            f"syncer: {signal.Signals(signum).name}: stopping the copies in flight; "
            "recording what is done",
            err=True,
        )
        process.stop_all()

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run a command and turn every expected failure into one line + exit code."""
    with _Signals() as signals:
        code = _run(argv)
    return 128 + signals.received if signals.received else code


def _run(argv: list[str] | None) -> int:
    try:
        result = app(args=argv, prog_name="syncer", standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.TyperException as exc:  # bad flags or arguments: typer prints usage
        show = getattr(exc, "show", None)
        show() if show else typer.echo(f"syncer: error: {exc.format_message()}", err=True)
        return UsageError.exit_code
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("syncer: interrupted", err=True)
        return 130
    except SyncerError as exc:
        typer.echo(f"syncer: error: {exc}", err=True)
        return exc.exit_code
    except Exception:  # a bug, not an expected failure: show everything, exit apart from 1 and 2
        traceback.print_exc()
        typer.echo(
            "syncer: internal error (a bug in syncer; please report it with the above)", err=True
        )
        return INTERNAL_ERROR
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
