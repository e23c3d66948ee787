"""The errors a user can act on. `cli.main` turns them into one line and an exit code."""

from __future__ import annotations


class SyncerError(Exception):
    """An expected failure: printed as one line, exit code 1."""

    exit_code = 1


class UsageError(SyncerError):
    """The way syncer was called or configured is wrong: exit code 2."""

    exit_code = 2
