"""Ask once per key: the first thread to need a key's answer asks, the others wait for it.

A registry's scheme, whether it offers the referrers API, a repository's tag list: each is
asked once a run however many images need it at the same moment.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class OncePerKey(Generic[K, V]):
    def __init__(self) -> None:
        self._answers: dict[K, V] = {}
        self._asking: dict[K, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, key: K, ask: Callable[[], V | None]) -> V | None:
        """The key's answer; `ask` runs when there is none yet, while the others asking for
        the same key wait. An answer of None is not kept: the next caller asks again."""
        try:
            return self._answers[key]
        except KeyError:
            pass
        with self._lock:
            asking = self._asking.setdefault(key, threading.Lock())
        with asking:
            if key in self._answers:
                return self._answers[key]
            answer = ask()
            if answer is not None:
                self._answers[key] = answer
            return answer

    def known(self, key: K) -> V | None:
        """The key's answer if it has one, without asking."""
        return self._answers.get(key)


class KeyedLocks(Generic[K]):
    """One lock a key, made when first asked for: work on one key waits, on others goes on."""

    def __init__(self) -> None:
        self._locks: dict[K, threading.Lock] = {}
        self._lock = threading.Lock()

    def __call__(self, key: K) -> threading.Lock:
        with self._lock:
            return self._locks.setdefault(key, threading.Lock())
