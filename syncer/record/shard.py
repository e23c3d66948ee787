"""Shards: one of N parts of the list, and the results file a shard leaves for the merge job.

An image belongs to shard `1 + hash(name) % N` with a stable hash of its normalized name, so
adding a line never moves the others. The CI system runs the shards; syncer only picks its part.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from syncer.errors import SyncerError, UsageError
from syncer.record.fields import result_from_json, result_json
from syncer.record.image import ImageResult

RESULTS_VERSION = 1


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based, like GitLab's CI_NODE_INDEX
    total: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        index, slash, total = text.partition("/")
        if not (slash and index.isdigit() and total.isdigit()) or not 1 <= int(index) <= int(total):
            raise UsageError(f"--shard {text!r}: expected I/N with 1 <= I <= N, e.g. 2/3")
        return cls(int(index), int(total))

    def __str__(self) -> str:
        return f"{self.index}/{self.total}"

    def owns(self, key: str) -> bool:
        bucket = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % self.total
        return bucket == self.index - 1


def dump_results(results: Iterable[ImageResult], commit: str, shard: Shard | None) -> str:
    data = {
        "version": RESULTS_VERSION,
        "commit": commit,
        "shard": str(shard) if shard else None,
        "results": [result_json(r) for r in results],
    }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def load_results(text: str, origin: str) -> tuple[str, list[ImageResult]]:
    """The commit a shard ran at and its results."""
    try:
        data = json.loads(text)
        results = [result_from_json(item) for item in data["results"]]
        return str(data["commit"]), results
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SyncerError(
            f"{origin}: not a syncer results file ({exc.__class__.__name__})"
        ) from None
