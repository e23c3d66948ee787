"""scan: the images that Kubernetes manifests, `helm template` output and compose files name,
and which of them the list lacks; `--add` appends those to the list."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, BinaryIO

import typer

from syncer.commands.common import (
    JsonOpt,
    app,
    config_of,
    globals_of,
    print_json,
    progress,
    report_problems,
    warn,
)
from syncer.errors import SyncerError, UsageError

if TYPE_CHECKING:
    from syncer.config import Config
    from syncer.imagelist.parse import ImageList
    from syncer.imagelist.scan import FileScan, Findings, Missing

STDIN = "-"
# Far more than any chart renders to; a larger input (or /dev/zero) is refused, not read whole.
MAX_INPUT_BYTES = 64 * 1024 * 1024
_SUFFIXES = (".yaml", ".yml")
_SHOWN_ORIGINS = 3

PathsArg = Annotated[
    list[str] | None,
    typer.Argument(
        help="Manifest or compose files, folders (their *.yaml and *.yml files, in name "
        "order), or - for standard input (the default when it is not a terminal).",
        metavar="[PATH...|-]",
        show_default=False,
    ),
]
AddOpt = Annotated[
    bool,
    typer.Option("--add", help="Append the missing images to the list [config key 'list']."),
]


class CannotRead(SyncerError):
    """An input that cannot be read at all: the scan would not tell the truth (exit 2)."""

    exit_code = 2


def _walk(folder: str) -> Iterator[str]:
    """The YAML files under `folder`, in name order, hidden folders (.git) left out."""
    for top, folders, files in os.walk(folder, onerror=_unreadable_folder):
        folders[:] = sorted(f for f in folders if not f.startswith("."))
        for name in sorted(files):
            if name.lower().endswith(_SUFFIXES):
                yield os.path.normpath(os.path.join(top, name))  # ./x.yaml is x.yaml


def _unreadable_folder(error: OSError) -> None:
    raise CannotRead(f"{error.filename}: cannot read: {error.strerror}")


def inputs(paths: list[str]) -> list[str]:
    """Every file to read, each once, checked to open before any is read (exit 2 if not)."""
    chosen: dict[str, str] = {}  # real path -> the name as the user wrote it
    for path in paths:
        if path == STDIN:
            chosen.setdefault(STDIN, STDIN)
            continue
        if not os.path.lexists(path):
            raise UsageError(f"{path}: no such file or directory")
        for name in _walk(path) if os.path.isdir(path) else [path]:
            chosen.setdefault(os.path.realpath(name), name)
    for name in chosen.values():
        if name != STDIN:
            try:
                with open(name, "rb"):
                    pass
            except OSError as exc:
                raise CannotRead(f"{name}: cannot read: {exc.strerror}") from None
    return list(chosen.values())


def _read(name: str) -> bytes | None:
    """The input's bytes, or None when it is larger than MAX_INPUT_BYTES."""
    try:
        if name == STDIN:
            data = _stdin().read(MAX_INPUT_BYTES + 1)
        else:
            with open(name, "rb") as stream:
                data = stream.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise CannotRead(f"{name}: cannot read: {exc.strerror}") from None
    return None if len(data) > MAX_INPUT_BYTES else data


def _stdin() -> BinaryIO:
    return sys.stdin.buffer


def _scan(name: str) -> FileScan:
    from syncer.imagelist.parse import Problem
    from syncer.imagelist.scan import FileScan, label, scan_file

    data = _read(name)
    if data is None:
        limit = f"larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB; not scanned"
        return FileScan(problems=[Problem(label(name), 1, limit)])
    return scan_file(data, name)


def _current_list(config: Config) -> ImageList:
    from syncer.imagelist.parse import ImageList
    from syncer.workspace import read_list

    if not config.list_path.exists():
        warn(f"{config.list}: no such file yet: every image counts as missing")
        return ImageList(config.list, (), (), ())
    images = read_list(config)
    if images.errors:
        warn(
            f"{config.list}: {len(images.errors)} invalid lines cover nothing here "
            "(syncer check shows them)"
        )
    return images


def list_line(missing: Missing) -> str:
    """`KEY  # from FILE, FILE`: a list line, and where the image was found."""
    shown = missing.origins[:_SHOWN_ORIGINS]
    more = len(missing.origins) - len(shown)
    tail = f" and {more} more" if more else ""
    return f"{missing.entry.key}  # from {', '.join(shown)}{tail}"


def append_lines(path: Path, lines: list[str]) -> None:
    """Append `lines` to the list, every byte already in it kept: a line end first only if
    the file does not end with one, in the file's own line ends (CRLF if its first line has
    one); written atomically."""
    from syncer.files import write_atomic

    try:
        old = path.read_bytes() if path.exists() else b""
    except OSError as exc:
        raise SyncerError(f"{path}: cannot read: {exc.strerror}") from None
    try:  # valid UTF-8 decodes and encodes back to the very same bytes
        text = old.decode("utf-8")
    except UnicodeDecodeError:
        raise SyncerError(
            f"{path}: not UTF-8 text; --add would change its bytes (syncer check shows the lines)"
        ) from None
    newline = "\r\n" if text.partition("\n")[0].endswith("\r") else "\n"
    before = newline if text and not text.endswith("\n") else ""
    write_atomic(path, text + before + "".join(line + newline for line in lines))


@app.command("scan")
def scan(
    ctx: typer.Context, paths: PathsArg = None, add: AddOpt = False, as_json: JsonOpt = False
) -> int:
    """Print the images that manifests name and the list lacks, as list lines.

    Reads Kubernetes manifests (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job,
    CronJob, List...: containers, initContainers, ephemeralContainers), `helm template`
    output on stdin (-) and compose files (services.*.image). Template placeholders and
    invalid references are FILE:LINE: message, never added. Exit 1 if there is any.
    """
    from syncer.imagelist.scan import findings

    if not paths and sys.stdin.isatty():
        raise UsageError("give PATH... to scan, or - and pipe the manifests in")
    config = config_of(globals_of(ctx))
    names = inputs(paths or [STDIN])
    images = _current_list(config)
    result = findings(map(_scan, names), images, config.allowed_sources, config.destination)
    lines = [list_line(m) for m in result.missing]
    if add and lines:
        append_lines(config.list_path, lines)
    _show(result, lines, as_json, config.list, len(names), add)
    return 1 if result.problems else 0


def _show(
    result: Findings, lines: list[str], as_json: bool, list_name: str, files: int, add: bool
) -> None:
    added = len(lines) if add else 0
    if as_json:
        print_json(
            {
                "list": list_name,
                "images": [
                    {"source": m.entry.key, "from": m.origins, "line": line}
                    for m, line in zip(result.missing, lines, strict=True)
                ],
                "covered": result.covered,
                "added": added,
                "problems": [
                    {"path": p.path, "line": p.line, "message": p.message} for p in result.problems
                ],
            }
        )
    else:
        report_problems(result.problems)
        for line in lines:
            typer.echo(line)
    done = f"; added {added} to {list_name}" if add else ""
    progress(
        f"syncer: scanned {files} file{'' if files == 1 else 's'}: "
        f"{len(lines)} images missing from {list_name}, "
        f"{len(result.covered)} in it already, {len(result.problems)} problems{done}"
    )
