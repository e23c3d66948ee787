"""Rate limits: after an HTTP 429 the whole run slows down, as long as the registry asks."""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from syncer.registry.http import Response


Log = Callable[[str], None]


class Throttle:
    """After a 429, every request of the run waits: slow down rather than hammer."""

    def __init__(self, log: Log, *, cap: float = 60.0, base: float = 1.0):
        self.log, self.cap, self.base = log, cap, base
        self._not_before = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            delay = self._not_before - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def back_off(self, host: str, attempt: int, retry_after: float | None) -> None:
        if retry_after is not None:
            delay, why = min(self.cap, retry_after), "as Retry-After says"
        else:
            delay, why = min(self.cap, self.base * 2**attempt), "exponential back-off"
        delay += random.uniform(0, delay * 0.1)  # noqa: S311  (jitter, not cryptography)
        with self._lock:
            self._not_before = max(self._not_before, time.monotonic() + delay)
        self.log(f"rate limited by {host}: waiting {delay:.1f}s ({why})")


def retry_after(response: Response) -> float | None:
    """Seconds to wait from Retry-After (seconds or HTTP date) or a ratelimit-reset header."""
    value = response.headers.get("retry-after") or response.headers.get("ratelimit-reset")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def is_rate_limited(response: Response) -> bool:
    return response.status_code == 429 or (
        response.status_code in (403, 503) and b"toomanyrequests" in response.content
    )
