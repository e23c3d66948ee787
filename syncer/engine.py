"""Copy images concurrently, one `skopeo copy --all` each; every image ends with a result.

One failure never stops the others; results come back in the order the images were given.
"""

from __future__ import annotations

import enum
import hashlib
import json
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from threading import Lock

from syncer import process
from syncer.imagelist import Mapping
from syncer.reference import Reference
from syncer.skopeo import Reason, SkopeoOptions, classify_failure, copy_command, inspect_command


class Status(str, enum.Enum):
    COPIED = "copied"
    SKIPPED = "skipped"  # already identical at the destination
    FAILED = "failed"


@dataclass(frozen=True)
class ImageResult:
    source: str
    destination: str
    status: Status
    seconds: float = 0.0
    digest: str | None = None
    platforms: tuple[str, ...] = ()
    reason: str | None = None
    error: str | None = None

    def describe(self) -> str:
        if self.status is Status.FAILED:
            return f"failed ({self.reason}): {self.error or 'no error message'}"
        return f"{self.status.value} in {self.seconds:.1f}s"


# Decides before copying whether the destination already holds the source's manifest.
CurrentCheck = Callable[[Mapping], str | None]
Log = Callable[[str], None]


def _platform(entry: dict[str, object]) -> str | None:
    platform = entry.get("platform")
    if not isinstance(platform, dict):
        return None
    parts = [platform.get("os"), platform.get("architecture"), platform.get("variant")]
    text = "/".join(str(p) for p in parts if p)
    # Attestation manifests (buildx provenance) are listed as unknown/unknown.
    return None if not text or "unknown" in text else text


def platforms_of(raw_manifest: str) -> tuple[str, ...] | None:
    """The platforms an image index lists, or None when the manifest is a single image."""
    manifest = json.loads(raw_manifest)
    entries = manifest.get("manifests")
    if not isinstance(entries, list):
        return None
    return tuple(sorted({p for e in entries if isinstance(e, dict) and (p := _platform(e))}))


def _single_platform(ref: Reference, options: SkopeoOptions, timeout: float) -> tuple[str, ...]:
    done = process.run(inspect_command(ref, options, config=True), timeout=timeout)
    if not done.ok:
        return ()
    config = json.loads(done.stdout)
    parts = [config.get("os"), config.get("architecture"), config.get("variant")]
    return ("/".join(str(p) for p in parts if p),)


def inspect_destination(
    ref: Reference, options: SkopeoOptions, timeout: float
) -> tuple[str | None, tuple[str, ...]]:
    """Index digest and platforms of what is at `ref` now (read from the destination)."""
    done = process.run(inspect_command(ref, options), timeout=timeout)
    if not done.ok:
        return None, ()
    digest = "sha256:" + hashlib.sha256(done.stdout.encode()).hexdigest()
    platforms = platforms_of(done.stdout)
    if platforms is None:
        platforms = _single_platform(ref, options, timeout)
    return digest, platforms


def copy_image(mapping: Mapping, options: SkopeoOptions, timeout: float) -> ImageResult:
    source, destination = str(mapping.source), str(mapping.destination)
    with tempfile.TemporaryDirectory(prefix="syncer-") as scratch:
        digestfile = Path(scratch) / "digest"
        done = process.run(
            copy_command(mapping.source, mapping.destination, options, digestfile), timeout=timeout
        )
        copied_digest = digestfile.read_text().strip() if digestfile.exists() else None
    if not done.ok:
        reason, error = classify_failure(done.stderr, timed_out=done.timed_out)
        if reason is Reason.TIMEOUT:
            error = f"no result within {timeout:g}s" + (f"; last: {error}" if error else "")
        return ImageResult(
            source, destination, Status.FAILED, done.seconds, reason=reason.value, error=error
        )
    digest, platforms = inspect_destination(mapping.destination, options, timeout)
    return ImageResult(
        source, destination, Status.COPIED, done.seconds, copied_digest or digest, platforms
    )


def sync_images(
    mappings: Sequence[Mapping],
    options: SkopeoOptions,
    *,
    concurrency: int,
    timeout: float,
    log: Log,
    is_current: CurrentCheck | None = None,
) -> list[ImageResult]:
    """Copy every mapping; log one line per image as it finishes; results in input order."""
    total = len(mappings)
    finished = 0
    lock = Lock()

    def one(mapping: Mapping) -> ImageResult:
        nonlocal finished
        digest = is_current(mapping) if is_current else None
        if digest is not None:
            result = ImageResult(
                str(mapping.source), str(mapping.destination), Status.SKIPPED, digest=digest
            )
        else:
            result = copy_image(mapping, options, timeout)
        with lock:
            finished += 1
            log(
                f"[{finished}/{total}] {result.source} -> {result.destination}: {result.describe()}"
            )
        return result

    results: dict[int, ImageResult] = {}
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        futures = {pool.submit(one, mapping): i for i, mapping in enumerate(mappings)}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
    return [results[i] for i in range(total)]
