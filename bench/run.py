"""Benchmark: syncer against `skopeo sync`, side by side in one run, on local registries.

    python bench/run.py [--images N] [--shared-layers] [--latency-ms MS] [--rounds R]
                        [--json OUT]

An "upstream" registry sits behind a TCP proxy that adds MS milliseconds each way and is
filled with N two-platform images under real names (docker.io, quay.io, ghcr.io through a
registries.conf mirror). Each round starts empty destinations and runs, alternating which
tool goes first:

- first_sync:  `syncer run --all` vs `skopeo sync --all --scoped` into empty destinations;
- noop_resync: the same again with everything in place, counting the requests that reached
               the upstream registry during syncer's run (from its access log);
  half of the images (--signed-share) carry a cosign signature and an attestation, which
  syncer mirrors with them (`signatures`, on by default) and `skopeo sync` does not;
- scale:       a --scale-lines list (100,000 by default) with a state file for all of it:
               `check`, `diff` and `run --all --dry-run` (wall seconds, peak RSS); the same
               at --scale-base-lines (10,000) as scale_10k, so the growth shows.

With --shared-layers the upstream is built as real images are: groups of repositories on
common base layers (hundreds of KB to a MB each, per platform), four tags a repository sharing
a runtime layer, a small top layer each; first_sync then also reports the upstream blob bytes
each tool pulled (from the upstream registry's access log) beside the distinct bytes the
destination needed. containers/image's blob-location cache (the BoltDB file skopeo keeps) is
emptied before each tool's first sync, as in a new CI job. Any --images other than 40 (or
--shared-layers) also writes `first_sync_N` and `noop_resync_N`.

Prints a table and writes JSON (medians over the rounds).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from syncer.record.image import ImageResult, Status  # noqa: E402
from syncer.record.state import apply_results  # noqa: E402
from testing.gitrepo import IDENTITY, git  # noqa: E402
from testing.images import layout_dir, make_upstream_image  # noqa: E402
from testing.latency import LatencyProxy  # noqa: E402
from testing.mirrors import write_registries_conf  # noqa: E402
from testing.records import dump_state  # noqa: E402
from testing.registry import Registry  # noqa: E402
from testing.signing import Key, attest, sign  # noqa: E402

SYNCER = (sys.executable, "-m", "syncer")


def image_names(count: int) -> list[str]:
    names = []
    for i in range(count):
        kind = i % 3
        if kind == 0:
            names.append(f"docker.io/library/bench{i:03d}:1.{i}")
        elif kind == 1:
            names.append(f"quay.io/bench/app{i:03d}:v1.{i}")
        else:
            names.append(f"ghcr.io/bench/tool{i:03d}:1.0.{i}")
    return names


def timed(argv: list[str] | tuple[str, ...], cwd: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (MiB) of one command, which must succeed. What it says goes
    to a file: a pipe nobody reads blocks the child once it has written 64 KB."""
    with tempfile.TemporaryFile() as said:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, stdout=said, stderr=said)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            said.seek(0)
            lines = said.read().decode(errors="replace").splitlines()
            failed = "\n".join(line for line in lines if "failed (" in line)
            tail = "\n".join(lines[-20:])
            raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{failed}\n{tail}")
    return seconds, usage.ru_maxrss // 1024


BLOB_INFO_CACHE = Path("/var/lib/containers/cache/blob-info-cache-v1.boltdb")  # root's


def cold_blob_cache() -> None:
    """Forget where containers/image saw blobs (a new CI job starts without the file)."""
    home = Path.home() / ".local/share/containers/cache/blob-info-cache-v1.boltdb"
    for path in (BLOB_INFO_CACHE, home):
        path.unlink(missing_ok=True)


def shared_names(count: int) -> list[str]:
    """Four tags a repository, repositories spread over three registries."""
    names = []
    for i in range(count):
        repo, tag = divmod(i, 4)
        registry = ("docker.io/library", "quay.io/bench", "ghcr.io/bench")[repo % 3]
        names.append(f"{registry}/svc{repo:03d}:1.{tag}")
    return names


def _random(seed: str, size: int) -> bytes:
    import random

    return random.Random(seed).randbytes(size)


def shared_layers(name: str, groups: int) -> dict[str, tuple[bytes, ...]]:
    """The layers under an image's own: its group's base (256 KiB + 768 KiB) and its
    repository's runtime layer (128 KiB), per platform."""
    repo = name.rpartition(":")[0]
    group = int(repo.rpartition("svc")[2]) % groups
    return {
        platform: (
            _random(f"base-{group}-{platform}-0", 256 * 1024),
            _random(f"base-{group}-{platform}-1", 768 * 1024),
            _random(f"runtime-{repo}-{platform}", 128 * 1024),
        )
        for platform in ("linux/amd64", "linux/arm64")
    }


def distinct_blob_bytes(layouts: list[Path]) -> int:
    """Bytes of the distinct configs and layers of the images in these OCI layouts."""
    sizes: dict[str, int] = {}
    for layout in layouts:
        index_entry = json.loads((layout / "index.json").read_text())["manifests"][0]
        index = _blob_json(layout, index_entry["digest"])
        for entry in index["manifests"]:
            manifest = _blob_json(layout, entry["digest"])
            for blob in [manifest["config"], *manifest["layers"]]:
                sizes[blob["digest"]] = int(blob["size"])
    return sum(sizes.values())


def _blob_json(layout: Path, digest: str) -> dict[str, Any]:
    return dict(json.loads((layout / "blobs" / "sha256" / digest.partition(":")[2]).read_text()))


def skopeo_sync_yaml(path: Path, names: list[str]) -> Path:
    by_registry: dict[str, dict[str, list[str]]] = {}
    for name in names:
        repo, _, tag = name.rpartition(":")
        registry, _, path_ = repo.partition("/")
        by_registry.setdefault(registry, {}).setdefault(path_, []).append(tag)
    lines = []
    for registry, images in by_registry.items():
        lines.append(f"{registry}:\n  images:")
        lines += [
            f"    {repo}: [{', '.join(repr(t) for t in tags)}]" for repo, tags in images.items()
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


def syncer_repo(work: Path, names: list[str], destination: str, conf: Path) -> Path:
    repo = work / "repo"
    repo.mkdir(parents=True)
    (repo / "source-images.list").write_text("\n".join(names) + "\n")
    (repo / "syncer.yaml").write_text(
        f"destination: {destination}\nregistries_conf: {conf}\n"
        f"insecure_registries: [{destination.split('/')[0]}]\n"
    )
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "add", ".")
    git(repo, "commit", "--quiet", "-m", "list")
    return repo


def one_round(
    work: Path, names: list[str], upstream: Registry, source_host: str, syncer_first: bool
) -> dict[str, float]:
    out: dict[str, float] = {}
    with Registry(work / "dest-syncer") as dest_a, Registry(work / "dest-skopeo") as dest_b:
        conf = write_registries_conf(
            work / "registries.conf", source_host, dest_a.host, dest_b.host
        )
        repo = syncer_repo(work, names, f"{dest_a.host}/third", conf)
        sync_yaml = skopeo_sync_yaml(work / "sync.yaml", names)
        skopeo = (
            "skopeo", "--registries-conf", str(conf), "sync", "--all", "--scoped",
            "--src", "yaml", "--dest", "docker", "--dest-tls-verify=false", "--retry-times", "0",
            str(sync_yaml), f"{dest_b.host}/third",
        )  # fmt: skip
        syncer = (*SYNCER, "run", "--all", "--no-push")
        for phase in ("first_sync", "noop_resync"):
            order = [("syncer", syncer), ("skopeo", skopeo)]
            for tool, argv in order if syncer_first else reversed(order):
                upstream.clear_log()
                if phase == "first_sync":
                    cold_blob_cache()
                out[f"{phase}.{tool}"] = timed(argv, repo)[0]
                if phase == "first_sync":
                    out[f"blob_bytes.{tool}"] = upstream.bytes_sent("GET", "blobs")
                    out[f"first_manifest_gets.{tool}"] = upstream.count("GET", "manifests")
                if tool == "syncer" and phase == "noop_resync":
                    out["manifest_gets"] = upstream.count("GET", "manifests")
                    out["manifest_heads"] = upstream.count("HEAD", "manifests")
                    out["blob_gets"] = upstream.count("GET", "blobs")
                    out["tag_lists"] = upstream.count("GET", "tags")
                    out["referrer_probes"] = upstream.count("GET", "referrers")
    return out


def scale(work: Path, lines: int) -> dict[str, float]:
    """check, diff and a dry-run plan + report over a list of `lines` images, all mirrored."""
    repo = work / "scale"
    # Made by a process of its own: a child forked from a bench process that had held the
    # fixture would count the parent's pages in its peak RSS (Linux keeps it across exec).
    subprocess.run(
        [sys.executable, __file__, "--write-scale-fixture", str(repo), str(lines)], check=True
    )
    total, peak = 0.0, 0
    out: dict[str, float] = {}
    for step, args in (
        ("check", ["check"]),
        ("diff", ["diff"]),
        ("dry_run", ["run", "--all", "--dry-run"]),
    ):
        seconds, rss = timed((*SYNCER, *args), repo)
        out[f"{step}_s"] = round(seconds, 3)
        total += seconds
        peak = max(peak, rss)
    out["seconds"] = round(total, 3)
    out["peak_rss_mb"] = peak
    out["lines"] = lines
    out["kb_per_line"] = round(peak * 1024 / lines, 2)
    out["us_per_line"] = round(total * 1e6 / lines, 1)
    return out


def write_scale_fixture(repo: Path, lines: int) -> None:
    """A git repository whose last commit adds ten lines to a `lines`-image list, and a state
    file (this version's) with every image mirrored."""
    repo.mkdir(parents=True)
    names = [f"quay.io/org{i % 97}/app{i}:v{i % 13}.{i % 7}.{i}" for i in range(lines)]
    prefix = "harbor.example.com/third"
    # The state as this version writes it (a state file of an older version would make the
    # dry run show its migration).
    results = [
        ImageResult(name, f"{prefix}/{name}", Status.COPIED, digest="sha256:" + f"{i:064x}",
                    platforms=("linux/amd64", "linux/arm64"), companions=())
        for i, name in enumerate(names)
    ]  # fmt: skip
    (repo / "syncer.yaml").write_text(f"destination: {prefix}\n")
    state = apply_results({}, results, "c" * 40, "2026-01-01T00:00:00Z")
    (repo / "mapping.json").write_text(dump_state(state))
    git(repo, "init", "--quiet", "--initial-branch=main")
    (repo / "source-images.list").write_text("\n".join(names[:-10]) + "\n")
    git(repo, "add", ".")
    git(repo, "commit", "--quiet", "-m", "base")
    (repo / "source-images.list").write_text("\n".join(names) + "\n")
    git(repo, "commit", "--quiet", "-am", "ten more")


def compile_syncer() -> None:
    """The package's bytecode written first, as `pip install` writes it: the children run
    syncer from this checkout, and where PYTHONDONTWRITEBYTECODE is set (CI images often set
    it) each run would compile every module again (about 0.1 s of each run here)."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "syncer")],
        check=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": ""},
        timeout=300,  # seconds; a few here
    )


def main() -> int:
    parser = argparse.ArgumentParser(description="syncer vs skopeo sync")
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--latency-ms", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale-lines", type=int, default=100_000)
    parser.add_argument("--scale-base-lines", type=int, default=10_000)
    parser.add_argument("--signed-share", type=float, default=0.5)
    parser.add_argument(
        "--shared-layers", action="store_true", help="images on shared base layers, as real ones"
    )
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument(
        "--write-scale-fixture", nargs=2, metavar=("DIR", "LINES"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    os.environ.update(IDENTITY)
    if args.write_scale_fixture:
        write_scale_fixture(Path(args.write_scale_fixture[0]), int(args.write_scale_fixture[1]))
        return 0
    compile_syncer()
    names = shared_names(args.images) if args.shared_layers else image_names(args.images)
    groups = max(2, args.images // 50)
    rounds: list[dict[str, float]] = []
    keep = os.environ.get("SYNCER_BENCH_KEEP")  # a folder: keep the run's files there
    with tempfile.TemporaryDirectory(prefix="syncer-bench-") as tmp:
        work = Path(keep or tmp)
        with Registry(work / "upstream") as upstream:
            key = Key.generate()
            signed = names[: int(len(names) * args.signed_share)]
            for name in names:
                below = shared_layers(name, groups) if args.shared_layers else None
                digest = make_upstream_image(work / "oci", upstream.host, name, below=below)
                if name in signed:
                    repo = name.rpartition(":")[0]
                    sign(upstream.host, repo, digest, key, reference=repo)
                    attest(upstream.host, repo, digest, key)
            distinct = distinct_blob_bytes([layout_dir(work / "oci", name) for name in names])
            with LatencyProxy("127.0.0.1", upstream.port, args.latency_ms) as proxy:
                for r in range(args.rounds):
                    round_dir = work / f"round-{r}"
                    rounds.append(
                        one_round(round_dir, names, upstream, proxy.host, syncer_first=r % 2 == 0)
                    )
                    print(
                        f"round {r + 1}/{args.rounds}: {json.dumps({k: round(v, 2) for k, v in rounds[-1].items()})}",
                        file=sys.stderr,
                    )
        scale_figures = scale(work / "scale-large", args.scale_lines)
        scale_base = scale(work / "scale-base", args.scale_base_lines)

    def median(key: str) -> float:
        return round(statistics.median(r[key] for r in rounds), 3)

    result = {
        "parameters": {"images": args.images, "latency_ms": args.latency_ms, "rounds": args.rounds,
                       "scale_lines": args.scale_lines, "cpus": os.cpu_count(),
                       "signed_images": len(signed), "shared_layers": args.shared_layers},
        "first_sync": {"syncer_s": median("first_sync.syncer"), "skopeo_sync_s": median("first_sync.skopeo")},
        "noop_resync": {
            "syncer_s": median("noop_resync.syncer"), "skopeo_sync_s": median("noop_resync.skopeo"),
            "source_manifest_gets": int(median("manifest_gets")),
            "source_manifest_heads": int(median("manifest_heads")),
            "source_blob_gets": int(median("blob_gets")),
            "source_tag_lists": int(median("tag_lists")),
            "source_referrer_probes": int(median("referrer_probes")),
        },
        "scale": scale_figures,
        "scale_10k": scale_base,
    }  # fmt: skip
    for section in ("first_sync", "noop_resync"):  # `key` above is the signing key
        figures = result[section]
        figures["ratio"] = round(figures["skopeo_sync_s"] / figures["syncer_s"], 2)
    sized: dict[str, Any] = {
        **result["first_sync"],
        "source_manifest_gets": int(median("first_manifest_gets.syncer")),
    }
    if args.shared_layers:
        sized["upstream_blob_bytes"] = {
            "syncer": int(median("blob_bytes.syncer")),
            "skopeo": int(median("blob_bytes.skopeo")),
        }
        sized["distinct_blob_bytes"] = distinct
    if args.images != 40 or args.shared_layers:
        result[f"first_sync_{args.images}"] = sized
        result[f"noop_resync_{args.images}"] = dict(result["noop_resync"])
    print(table(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


def table(result: dict[str, Any]) -> str:
    p = result["parameters"]
    f, n = result["first_sync"], result["noop_resync"]
    rows = [
        f"{p['images']} two-platform images, {p['latency_ms']:g} ms each way, median of {p['rounds']} rounds",
        "",
        "| measure | syncer | skopeo sync | ratio |",
        "|---|---|---|---|",
        f"| first_sync (s) | {f['syncer_s']} | {f['skopeo_sync_s']} | {f['ratio']} |",
        f"| noop_resync (s) | {n['syncer_s']} | {n['skopeo_sync_s']} | {n['ratio']} |",
        "",
        f"noop_resync requests at the source (syncer): manifest GETs {n['source_manifest_gets']}, "
        f"manifest HEADs {n['source_manifest_heads']}, blob GETs {n['source_blob_gets']}, "
        f"tag lists {n['source_tag_lists']}, referrers probes {n['source_referrer_probes']} "
        f"({p['signed_images']} of the images signed and attested)",
        *_bytes_rows(result.get(f"first_sync_{p['images']}", {})),
        "",
        "| scale | lines | check (s) | diff (s) | run --all --dry-run (s) | total (s) | peak RSS (MB) | µs a line | KB a line |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for key in ("scale_10k", "scale"):
        s = result[key]
        rows.append(
            f"| {key} | {s['lines']} | {s['check_s']} | {s['diff_s']} | {s['dry_run_s']} | "
            f"{s['seconds']} | {s['peak_rss_mb']} | {s['us_per_line']} | {s['kb_per_line']} |"
        )
    return "\n".join(rows)


def _bytes_rows(first: dict[str, Any]) -> list[str]:
    pulled = first.get("upstream_blob_bytes")
    if not isinstance(pulled, dict):
        return []
    distinct = int(first["distinct_blob_bytes"])
    return [
        "",
        "| first_sync upstream blob bytes | syncer | skopeo sync | distinct needed |",
        "|---|---|---|---|",
        f"| bytes | {pulled['syncer']} ({pulled['syncer'] / distinct:.2f}x) | "
        f"{pulled['skopeo']} ({pulled['skopeo'] / distinct:.2f}x) | {distinct} |",
    ]


if __name__ == "__main__":
    sys.exit(main())
