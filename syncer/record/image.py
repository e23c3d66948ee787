"""The image record: the one declaration of what syncer knows about an image.

A run returns an `Image` for every image it looked at (its result), and `mapping.json` holds one
for every image of the list (its state): the same fields, so a result folds into the state
field by field (`record.state`). A field marked `Mark.STATE_ONLY` is what only the state keeps
across runs, `Mark.RESULTS_ONLY` what only a run's results say. The state file's checks and encoder
and the shard results file read these fields (`record.fields`); nothing else spells them out.
"""

from __future__ import annotations

import enum
from typing import Annotated, NamedTuple


class Status(str, enum.Enum):
    COPIED = "copied"
    SKIPPED = "skipped"  # already identical at the destination (a result; the state says copied)
    FAILED = "failed"
    DEFERRED = "deferred"  # not started, to spend a pull quota on purpose: a later run copies it

    def __str__(self) -> str:  # its word, in f-strings too (Python 3.11 formats a member's name)
        return self.value


class Reason(str, enum.Enum):
    """Why an image failed, in words a user can act on."""

    NOT_FOUND = "not found"
    UNAUTHORIZED = "unauthorized"
    RATE_LIMITED = "rate limited"
    TLS = "TLS"
    NETWORK = "network"
    TIMEOUT = "timeout"
    INTERRUPTED = "interrupted"
    BLOCKED = "blocked"  # registries.conf blocks the registry
    DIGEST = "digest"  # the destination would hold (or holds) another digest than the source
    UNVERIFIED = "unverified"  # a `verify` rule matched and no signature verified
    COMPANIONS = "companions"  # in place, but a signature or SBOM could not be copied
    SELECTOR = "selector"  # a tag selector that selects nothing or cannot list its tags
    PLATFORMS = "platforms"  # platforms= names none of the source's platforms
    QUOTA = "quota"  # deferred: the copy would spend pulls the registry's quota does not have
    OTHER = "other"

    def __str__(self) -> str:
        return self.value


class Content(str, enum.Enum):
    """What a manifest holds other than a container image (from its config's media type)."""

    CHART = "chart"  # a Helm chart (application/vnd.cncf.helm.config.v1+json)
    ARTIFACT = "artifact"  # any other OCI artifact

    def __str__(self) -> str:
        return self.value


class Copied(NamedTuple):
    """One line of an image's digest history: a digest seen at the destination, first when."""

    digest: str
    at: str | None  # UTC, ISO 8601, of the run that first recorded it (None: before version 2)
    commit: str | None


class Mark(enum.Enum):
    """What a field's type alone does not say (`Annotated[TYPE, Mark...]`)."""

    STATE_ONLY = "kept in mapping.json, never in a run's results"
    RESULTS_ONLY = "said by a run's results, never kept in mapping.json"
    DIGEST = "a manifest digest like sha256:<hex>"


# A NamedTuple, not a frozen dataclass: one is built an image of lists that run to 100,000
# lines, and a NamedTuple is much cheaper to build (README: Performance).
class Image(NamedTuple):
    """What is known about one image; fields at their default are unknown or none."""

    source: str  # normalized, with its tag; the state's key
    destination: str
    status: Status  # the state holds copied, failed or deferred; a result may be skipped
    seconds: Annotated[float, Mark.RESULTS_ONLY] = 0.0  # how long this run spent on it
    digest: Annotated[str | None, Mark.DIGEST] = None  # the index digest at the destination
    platforms: tuple[str, ...] = ()
    companions: tuple[str, ...] | None = None  # kinds mirrored with it (None: not looked at)
    history: Annotated[tuple[Copied, ...], Mark.STATE_ONLY] = ()
    unselected: Annotated[bool, Mark.STATE_ONLY] = False  # no longer chosen by its selector: kept
    commit: Annotated[str | None, Mark.STATE_ONLY] = None  # the list's revision at the last copy
    reason: Reason | None = None  # why the last attempt failed
    error: str | None = None
    verified: str | None = None  # the key (or signer) its signature was verified with
    drift: str | None = None  # upstream moved the tag: "OLD -> NEW (kept|updated|backed up...)"
    selected_by: str | None = None  # the tag selector line that chose it (its key)
    # A platform subset (platforms=): the mirror's index is syncer's own, listing only those;
    # the source's index digest is kept beside it (drift and the skip check compare it).
    source_digest: Annotated[str | None, Mark.DIGEST] = None
    left_out: tuple[str, ...] = ()  # the source's platforms the subset leaves out
    content: Content | None = None  # None: a container image
    # No longer in the list: kept in the record (the registry still holds it), and with
    # `prune_after` deleted from the registry after the grace period, then marked pruned.
    removed_at: Annotated[str | None, Mark.STATE_ONLY] = None  # UTC, ISO 8601
    removed_commit: Annotated[str | None, Mark.STATE_ONLY] = None  # the list's revision then
    pruned_at: Annotated[str | None, Mark.STATE_ONLY] = None
    pruned_commit: Annotated[str | None, Mark.STATE_ONLY] = None
    prune_note: Annotated[str | None, Mark.STATE_ONLY] = None  # why it was not (yet) deleted

    @property
    def failed(self) -> bool:
        return self.status == Status.FAILED

    @property
    def complete(self) -> bool:
        """Known to be mirrored with everything the report shows (an interrupted read after a
        copy leaves the platforms out: the next run fills them in)."""
        known = bool(self.platforms) or self.content is not None  # an artifact has none
        held = self.digest is not None and self.pruned_at is None
        return self.status == Status.COPIED and held and known

    def describe(self) -> str:
        """This run's outcome in a few words, for the job log."""
        if self.status in (Status.FAILED, Status.DEFERRED):
            return f"{self.status} ({self.reason}): {self.error or 'no error message'}"
        return f"{self.status.value} in {self.seconds:.1f}s"


# The same record in its two roles: what a run found, and what the state keeps.
ImageResult = Image
ImageState = Image
State = dict[str, Image]  # by normalized source
