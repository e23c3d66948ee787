"""The command line: global options, and the one place that turns errors into exit codes.

Exit codes: 0 ok, 1 problems found or work failed, 2 usage or configuration error, 3 internal
error (a bug), 128+N stopped by signal N (130 for Ctrl-C). The commands live in
`syncer/commands/`, one module per group.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from syncer.commands import (  # noqa: F401  (they register commands)
    init,
    lists,
    mirrors,
    plan,
    repair,
    report,
    run,
    scan,
    sync,
    where,
)
from syncer.commands.common import Globals, app
from syncer.errors import SyncerError, UsageError

INTERNAL_ERROR = 3
# The global options that take a value, by every spelling; `hoisted` moves them (and
# --verbose) from after the command to before it, so they may stand on either side.
VALUED = ("-C", "--repo", "--list", "--dest", "--set")
FLAGS = ("--verbose", "-v")


def _version(value: bool) -> None:
    if value:
        from syncer import version

        typer.echo(f"syncer {version()}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
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
    repo: Annotated[
        Path | None,
        typer.Option(
            "--repo",
            "-C",
            help="Run as if started in this folder (default: the current one); the repository "
            "root holding syncer.yaml is found from there, as git finds it.",
            show_default=False,
        ),
    ] = None,
    list_: Annotated[
        str | None, typer.Option("--list", help="Image list file [config key 'list'].")
    ] = None,
    dest: Annotated[
        str | None,
        typer.Option(
            "--dest", help="Destination prefix HOST[:PORT][/PATH] [config key 'destination']."
        ),
    ] = None,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Show the whole output of a failed git or skopeo command."
        ),
    ] = False,
) -> None:
    """Mirror the container images named in source-images.list into a private registry.

    The options here apply to every command and may also follow it (the later ones win).
    """
    pairs: dict[str, object] = {}
    for item in settings or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--set {item!r}: expected KEY=VALUE")
        pairs[key.strip()] = value
    ctx.obj = Globals(repo, list_, dest, pairs, verbose)


def _takes_value(word: str) -> bool:
    return word in VALUED


def _is_global(word: str) -> bool:
    name = word.partition("=")[0]
    return name in VALUED or word in FLAGS


def _command_at(words: Sequence[str]) -> int:
    """Where the command stands: after the options (and their values) before it."""
    at = 0
    while at < len(words) and words[at].startswith("-"):
        at += 2 if _takes_value(words[at]) else 1
    return at


def hoisted(argv: Sequence[str]) -> list[str]:
    """`argv` with the global options that follow the command moved to just before it, in
    their order (so that, as click keeps the last, the ones after the command win)."""
    words = list(argv)
    at = _command_at(words)
    if at >= len(words):
        return words
    before, command, rest = words[:at], words[at], words[at + 1 :]
    moved: list[str] = []
    kept: list[str] = []
    index = 0
    while index < len(rest):
        word = rest[index]
        if word == "--":  # everything after it is an argument
            kept += rest[index:]
            break
        if _is_global(word):
            width = 2 if _takes_value(word) else 1
            moved += rest[index : index + width]
            index += width
            continue
        kept.append(word)
        index += 1
    return [*before, *moved, command, *kept]


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


# A large list becomes hundreds of thousands of long-lived objects, none in a cycle; at the
# default threshold (700 allocations) the collector walks them again and again. Cycles are
# still collected, less often.
GC_THRESHOLD = (20_000, 10, 10)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run a command and turn every expected failure into one line + exit code."""
    gc.set_threshold(*GC_THRESHOLD)
    with _Signals() as signals:
        code = _run(hoisted(sys.argv[1:] if argv is None else argv))
    return 128 + signals.received if signals.received else code


def _wants_details(argv: list[str]) -> bool:
    """--verbose (before the command, where `hoisted` puts it), or a CI job's log."""
    command = _command_at(argv)
    in_ci = os.environ.get("GITLAB_CI") == "true" or os.environ.get("GITHUB_ACTIONS") == "true"
    return in_ci or any(word in FLAGS for word in argv[:command])


def _run(argv: list[str]) -> int:
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
        output = getattr(exc, "output", "")
        if output and _wants_details(argv):  # the one line first; the rest for the log
            typer.echo(output, err=True)
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
