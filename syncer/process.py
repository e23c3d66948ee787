"""The one way syncer runs another program: argv as a tuple, never a shell.

Every child runs in its own process group so that a timeout or a SIGTERM to syncer stops the
child and everything it started; `stop_all` is what the signal handler calls.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from syncer.errors import SyncerError

_INSTALL_HINTS = {"skopeo": "apt-get install skopeo", "git": "apt-get install git"}
_running: set[subprocess.Popen[str]] = set()
_lock = threading.Lock()
_stopping = threading.Event()


class ProgramNotFound(SyncerError):
    """A program syncer needs is not installed: the environment is not set up (exit 2)."""

    exit_code = 2


@dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


def which(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        hint = _INSTALL_HINTS.get(program)
        raise ProgramNotFound(f"{program}: not found on PATH" + (f" ({hint})" if hint else ""))
    return path


def _kill_group(process: subprocess.Popen[str], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it ended on its own meanwhile
        os.killpg(process.pid, sig)


def run(
    argv: Sequence[str],
    *,
    timeout: float | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    input: str | None = None,
    starts_when_stopping: bool = False,
) -> Completed:
    """Run `argv` to the end (or `timeout` seconds) and return what it said.

    Once syncer is stopping (SIGTERM), no new child starts, except those that record what
    was done (`starts_when_stopping`: git's commit and push of the report); a child running
    when the signal comes is stopped all the same.
    """
    argv = tuple(argv)
    executable = which(argv[0])
    if _stopping.is_set() and not starts_when_stopping:
        return Completed(argv, -signal.SIGTERM, "", "not started: syncer is stopping", 0.0)
    started = time.monotonic()
    process = subprocess.Popen(
        (executable, *argv[1:]),
        stdin=subprocess.DEVNULL if input is None else subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        env=None if env is None else dict(env),
        cwd=cwd,
        start_new_session=True,
    )
    with _lock:
        _running.add(process)
    if _stopping.is_set() and not starts_when_stopping:  # stop_all ran meanwhile
        _kill_group(process, signal.SIGTERM)
    timed_out = False
    try:
        stdout, stderr = process.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(process, signal.SIGKILL)
        stdout, stderr = process.communicate()
    finally:
        with _lock:
            _running.discard(process)
    return Completed(
        argv, process.returncode, stdout, stderr, time.monotonic() - started, timed_out
    )


_CREDENTIALS = re.compile(r"(\w+://)[^/@\s]+@")


def describe_failure(done: Completed) -> str:
    """A failed command as pre-commit shows one: the command, how it ended, and what it said
    on stdout and stderr, indented (URL credentials masked)."""
    command = _CREDENTIALS.sub(r"\1***@", shlex.join(done.argv))
    ended = (
        f"timed out after {done.seconds:.0f}s"
        if done.timed_out
        else f"return code {done.returncode}"
    )
    lines = [f"command: {command}", ended]
    for name, text in (("stdout", done.stdout), ("stderr", done.stderr)):
        if text.strip():
            masked = _CREDENTIALS.sub(r"\1***@", text.rstrip())
            lines += [f"{name}:", *(f"    {line}" for line in masked.splitlines())]
    return "\n".join(lines)


def stop_all(sig: int = signal.SIGTERM) -> None:
    """Stop every child still running (and its children), and start no new one."""
    _stopping.set()
    with _lock:
        running = list(_running)
    for process in running:
        _kill_group(process, sig)


def stopping() -> bool:
    return _stopping.is_set()


def reset() -> None:
    """Allow children again (a new command in the same process, as tests do)."""
    _stopping.clear()
