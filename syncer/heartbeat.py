"""Say what is still being waited for, so a CI log never goes silent on a slow registry.

Plain lines (no cursor tricks: CI logs are not terminals): an image that has waited `first`
seconds is named with what it waits for, then again every `every` seconds until it is done.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

Log = Callable[[str], None]


@dataclass
class _Wait:
    subject: str
    what: str
    started: float
    due: float


class Heartbeat:
    def __init__(self, log: Log, *, first: float = 5.0, every: float = 10.0, tick: float = 0.5):
        self._log, self._first, self._every, self._tick = log, first, every, tick
        self._waits: dict[int, _Wait] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ids = iter(range(1 << 62))

    def __enter__(self) -> Heartbeat:
        self._thread = threading.Thread(target=self._beat, name="heartbeat", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @contextmanager
    def waiting(self, subject: str, what: str) -> Iterator[None]:
        """While the block runs, `subject` is reported as waiting for `what`."""
        now = time.monotonic()
        with self._lock:
            key = next(self._ids)
            self._waits[key] = _Wait(subject, what, now, now + self._first)
        try:
            yield
        finally:
            with self._lock:
                del self._waits[key]

    def _beat(self) -> None:
        while not self._stop.wait(self._tick):
            now = time.monotonic()
            with self._lock:
                due = [w for w in self._waits.values() if w.due <= now]
                for wait in due:
                    wait.due = now + self._every
            for wait in due:
                self._log(f"... {wait.subject}: {wait.what} ({now - wait.started:.0f}s so far)")


def quiet() -> Heartbeat:
    """A heartbeat that says nothing (for callers that did not ask for one)."""
    return Heartbeat(lambda _: None, first=float("inf"))
