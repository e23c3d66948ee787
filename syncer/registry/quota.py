"""Pull quota, planned for: Docker Hub (and any registry that does the same) says how many
pulls are left in `ratelimit-remaining: N;w=SECONDS` on its manifest answers, HEADs included,
and counts only manifest GETs. Before a copy starts, it reserves what it will cost; a copy that
would leave fewer than `quota_reserve` pulls is not started (deferred to a later run).

A header answered after a copy ended already counts that copy; one answered before it (or
while it runs) does not, so the copies not yet seen in a header still count against it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

from syncer.registry.http import Response


class Seen(NamedTuple):
    """A registry's last word on its pulls."""

    left: int
    window: int | None  # seconds (`w=`): how long a pull counts
    at: float  # time.monotonic() when it was said
    wall: float  # time.time() then


@dataclass
class Reservation:
    host: str
    cost: int
    started: float
    ended: float | None = None


def parse_remaining(value: str | None) -> tuple[int, int | None] | None:
    """`"7;w=21600"` -> (7, 21600); None when there is no number."""
    if not value:
        return None
    number, *params = value.split(";")
    if not number.strip().isdigit():
        return None
    window = None
    for param in params:
        key, _, raw = param.strip().partition("=")
        if key == "w" and raw.isdigit():
            window = int(raw)
    return int(number), window


def back_by(seen: Seen) -> str:
    """When the pulls counted now no longer count: `14:00 UTC` (with the date if not today)."""
    if seen.window is None:
        return ""
    when = datetime.fromtimestamp(seen.wall, timezone.utc) + timedelta(seconds=seen.window)
    today = datetime.fromtimestamp(seen.wall, timezone.utc).date()
    return when.strftime("%H:%M UTC" if when.date() == today else "%Y-%m-%d %H:%M UTC")


@dataclass
class Quota:
    _seen: dict[str, Seen] = field(default_factory=dict)
    _limited: set[str] = field(default_factory=set)  # kept refusing with 429 this run
    _reserved: list[Reservation] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def observe(self, host: str, response: Response) -> None:
        """Read a response's pull headers."""
        said = parse_remaining(response.headers.get("ratelimit-remaining"))
        if said is not None:
            with self._lock:
                self._seen[host] = Seen(said[0], said[1], time.monotonic(), time.time())

    def out_of_pulls(self, host: str) -> None:
        """`host` kept answering 429 after the waits it asked for: the rest of its images
        wait for a later run instead of failing one by one."""
        with self._lock:
            self._limited.add(host)

    def left(self, host: str) -> int | None:
        """Pulls left for new copies: what the registry last said, less the copies it had not
        counted yet. None: the registry says nothing of a quota."""
        with self._lock:
            return self._left(host)

    def seen(self, host: str) -> Seen | None:
        return self._seen.get(host)

    def _left(self, host: str) -> int | None:
        seen = self._seen.get(host)
        if seen is None:
            return None
        pending = sum(
            r.cost for r in self._reserved
            if r.host == host and (r.ended is None or r.ended > seen.at)
        )  # fmt: skip
        return seen.left - pending

    def reserve(self, host: str, cost: int, keep: int) -> Reservation | str:
        """A reservation for a copy of `cost` pulls, or why it must wait: it would leave fewer
        than `keep` pulls, or the registry already refused this run."""
        with self._lock:
            if host in self._limited:
                return f"{host} kept answering 429 (rate limited) earlier in this run"
            left = self._left(host)
            if left is not None and left - cost < keep:
                seen = self._seen[host]
                until = back_by(seen)
                kept = f", {keep} kept for others" if keep else ""
                back = f"; pulls come back by {until}" if until else ""
                return f"needs about {cost} pulls of {host}; {max(0, left)} left{kept}{back}"
            reservation = Reservation(host, cost, time.monotonic())
            self._reserved.append(reservation)
            return reservation

    def release(self, reservation: Reservation) -> None:
        with self._lock:
            reservation.ended = time.monotonic()
