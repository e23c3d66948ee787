"""Where the mirror holds each blob, as this and earlier runs saw it: kept in the working tree
(one `digest repository` a line) for the next job to mount from instead of pulling."""

from __future__ import annotations

import threading
from pathlib import Path


class BlobLocations:
    """Which destination repository holds each blob, as this and earlier runs saw it; kept in
    the working tree (one `digest repository` a line) for the next job to mount from."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._where: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self._changed = False
        if path is not None and path.is_file():
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                digest, _, repository = line.partition(" ")
                if digest.startswith("sha256:") and repository:
                    self._where.setdefault(digest, []).append(repository)

    def where(self, digest: str) -> list[str]:
        with self._lock:
            return list(reversed(self._where.get(digest, [])))  # the latest first

    def add(self, digest: str, repository: str) -> None:
        with self._lock:
            known = self._where.setdefault(digest, [])
            if repository not in known:
                known.append(repository)
                del known[:-3]  # a few places are enough to mount from
                self._changed = True

    def save(self) -> None:
        if self.path is None or not self._changed:
            return
        from syncer.files import write_atomic

        with self._lock:
            lines = [f"{d} {r}\n" for d in sorted(self._where) for r in self._where[d]]
        write_atomic(self.path, "".join(lines))
