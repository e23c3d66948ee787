"""One syncer run at a time in a working tree, and git's own lock left behind by a killed job.

Both live in the repository's git directory: `syncer.lock` (held with flock for the whole run,
released by the kernel when the process dies, so it can never go stale) and git's
`index.lock` (a plain file that a killed `git commit` leaves behind).
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from syncer import process
from syncer.errors import SyncerError

Log = Callable[[str], None]
RUN_LOCK = "syncer.lock"
INDEX_LOCK = "index.lock"


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _note_holder(fd: int) -> None:
    """Our PID in the lock file, for the message a second run prints; only informative, so a
    full disk does not stop the run here."""
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except OSError:
        pass


@contextmanager
def run_lock(git_dir: Path, log: Log, poll: float = 0.2) -> Iterator[None]:
    """Hold `GIT_DIR/syncer.lock` for the block; a second run waits for the first, saying so."""
    path = git_dir / RUN_LOCK
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise SyncerError(f"{path}: cannot open the run lock: {exc.strerror}") from None
    try:
        if not _try_lock(fd):
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            log(f"another syncer run (pid {holder}) holds {path}; waiting for it to finish")
            while not _try_lock(fd):
                if process.stopping():
                    raise SyncerError(f"stopped while waiting for {path}")
                time.sleep(poll)
        _note_holder(fd)
        yield
    finally:
        os.close(fd)  # releases the lock


def _git_processes(worktree: Path, lock: Path) -> list[int]:
    """PIDs of git processes working in `worktree` or holding `lock` open (Linux /proc)."""
    found = []
    root = worktree.resolve()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if not (entry / "comm").read_text().startswith("git"):
                continue
            cwd = Path(os.readlink(entry / "cwd"))
            holds = any(os.readlink(fd) == str(lock) for fd in (entry / "fd").iterdir())
        except OSError:  # gone meanwhile, or not ours to look at
            continue
        if holds or cwd == root or root in cwd.parents:
            found.append(int(entry.name))
    return found


def clear_stale_index_lock(git_dir: Path, worktree: Path, log: Log) -> None:
    """Before any copy: git's `index.lock` would make the commit fail at the very end.

    Left by a git process that was killed, it is removed (and said so); held by a running
    one, the run stops at once, naming the file and the process.
    """
    lock = git_dir / INDEX_LOCK
    if not lock.exists():
        return
    if not Path("/proc/self").exists():
        raise SyncerError(
            f"{lock} exists: a git command is running here, or one was killed; "
            "if none is running, remove the file and run again"
        )
    holders = _git_processes(worktree, lock)
    if holders:
        raise SyncerError(
            f"{lock}: git (pid {', '.join(map(str, holders))}) is working in this repository; "
            "wait for it to finish, then run again"
        )
    log(f"{lock}: left by a git command that was stopped (no git process runs here); removed")
    lock.unlink(missing_ok=True)


@contextmanager
def working_tree_lock(git_dir: Path, worktree: Path, log: Log) -> Iterator[None]:
    """What a run that commits needs: syncer's own lock, and git's index free to use."""
    with run_lock(git_dir, log):
        clear_stale_index_lock(git_dir, worktree, log)
        yield
