"""skopeo as the copy engine: commands built as tuples (pure), failures put into words, and
`run_copy`, the one way a copy is run (through `process.run`)."""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from syncer import process
from syncer.config import Config
from syncer.imagelist.reference import Reference
from syncer.record.image import Reason


@dataclass(frozen=True)
class SkopeoOptions:
    registries_conf: str | None = None
    authfile: str | None = None
    retry_times: int = 3
    insecure_registries: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config: Config) -> SkopeoOptions:
        return cls(
            registries_conf=str(config.path(config.registries_conf))
            if config.registries_conf
            else None,
            authfile=str(Path(config.authfile).expanduser()) if config.authfile else None,
            retry_times=config.retry_times,
            insecure_registries=tuple(h.lower() for h in config.insecure_registries),
        )

    def is_insecure(self, ref: Reference) -> bool:
        return ref.domain.lower() in self.insecure_registries


def _global_args(options: SkopeoOptions) -> tuple[str, ...]:
    if options.registries_conf:
        return ("skopeo", "--registries-conf", options.registries_conf)
    return ("skopeo",)


def read_reference(ref: Reference) -> str:
    """What skopeo reads: by digest when there is one (skopeo refuses tag+digest)."""
    if ref.digest is not None:
        return f"docker://{ref.name}@{ref.digest}"
    return f"docker://{ref.name}:{ref.tag or 'latest'}"


def write_reference(ref: Reference) -> str:
    """What skopeo writes: to the tag when there is one, else by digest."""
    if ref.tag is not None:
        return f"docker://{ref.name}:{ref.tag}"
    return f"docker://{ref.name}@{ref.digest}"


def copy_command(
    source: Reference,
    destination: Reference,
    options: SkopeoOptions,
    digestfile: Path,
    relayed: bool = False,
) -> tuple[str, ...]:
    """`skopeo copy --all` of one image. Credentials only ever come from the auth file.

    `--preserve-digests`: when a destination refuses a manifest, skopeo would otherwise retry it
    converted to another format, and the destination would hold another digest than the source.
    """
    args = [*_global_args(options), "copy", "--all", "--preserve-digests"]
    args += ["--retry-times", str(options.retry_times)]
    if options.authfile:
        args += ["--src-authfile", options.authfile, "--dest-authfile", options.authfile]
    if relayed or options.is_insecure(source):  # the relay speaks plain HTTP on loopback
        args.append("--src-tls-verify=false")
    if options.is_insecure(destination):
        args.append("--dest-tls-verify=false")
    args += ["--digestfile", str(digestfile), read_reference(source), write_reference(destination)]
    return tuple(args)


def run_copy(
    source: Reference,
    destination: Reference,
    options: SkopeoOptions,
    timeout: float,
    relayed: bool = False,
) -> tuple[process.Completed, str | None]:
    """Run `skopeo copy --all`; what it did and the digest it wrote (None when it wrote none).
    `relayed`: the source is syncer's relay (copy/relay.py)."""
    with tempfile.TemporaryDirectory(prefix="syncer-") as scratch:
        digestfile = Path(scratch) / "digest"
        command = copy_command(source, destination, options, digestfile, relayed)
        done = process.run(command, timeout=timeout)
        copied = digestfile.read_text().strip() if digestfile.exists() else None
    return done, copied


def inspect_command(
    ref: Reference, options: SkopeoOptions, *, config: bool = False
) -> tuple[str, ...]:
    """`skopeo inspect --raw` of a manifest (or, with `config`, of the image's config)."""
    args = [*_global_args(options), "inspect", "--raw", "--retry-times", str(options.retry_times)]
    if config:
        args.append("--config")
    if options.authfile:
        args += ["--authfile", options.authfile]
    if options.is_insecure(ref):
        args.append("--tls-verify=false")
    args.append(read_reference(ref) if ref.digest else write_reference(ref))
    return tuple(args)


# First match wins: a 429 page may also say "unauthorized", a TLS failure also "dial tcp".
_PATTERNS: tuple[tuple[Reason, re.Pattern[str]], ...] = (
    (Reason.BLOCKED, re.compile(r"registry \S+ is blocked in")),
    (
        Reason.DIGEST,
        re.compile(r"preserve digests|digest mismatch|digests? do(es)? not match", re.I),
    ),
    (Reason.RATE_LIMITED, re.compile(r"toomanyrequests|too many requests|\b429\b", re.I)),
    (
        Reason.UNAUTHORIZED,
        re.compile(r"unauthorized|authentication required|denied|\b401\b|\b403\b", re.I),
    ),
    (Reason.NOT_FOUND, re.compile(r"manifest unknown|name unknown|not found|\b404\b", re.I)),
    (Reason.TLS, re.compile(r"x509|certificate|tls:|HTTP response to HTTPS client", re.I)),
    (
        Reason.NETWORK,
        re.compile(
            r"connection refused|no such host|dial tcp|i/o timeout|connection reset|\bEOF\b"
            r"|network is unreachable|no route to host|handshake timeout|server misbehaving",
            re.I,
        ),
    ),
)
_PARSING = re.compile(r'^Error parsing image name "[^"]*": ')
_MSG = re.compile(r'msg="((?:[^"\\]|\\.)*)"')


def last_error_line(stderr: str) -> str:
    """skopeo's last error, without the logger's decoration."""
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    match = _MSG.search(lines[-1])
    text = match.group(1).replace('\\"', '"') if match else lines[-1]
    # skopeo inspect words every failure to open the source so, a network failure too.
    return _PARSING.sub("", text.strip())


def classify_failure(stderr: str, *, timed_out: bool = False) -> tuple[Reason, str]:
    """The kind of failure, in words a user can act on, and skopeo's last error line."""
    line = last_error_line(stderr)
    if timed_out:
        return Reason.TIMEOUT, line
    for reason, pattern in _PATTERNS:
        if pattern.search(line):
            return reason, line
    return Reason.OTHER, line
