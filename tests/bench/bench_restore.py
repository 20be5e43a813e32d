"""Restore throughput: our one-pass restore (verify + extract, hashing as it writes) against the two-pass shell
baseline (`tar -xf`, then `sha256sum -c`) over the same archive, for .tar and .tar.zst.

Not collected by pytest (no `test_` prefix) and not run by `make test`. Run it with `make bench-restore` or:

    .venv/bin/python -m tests.bench.bench_restore --size-gib 1 --runs 5

It builds the sample, pads the store with one large real SQLite database (rows of random nucleotide text, which
compress about 3-4x like real sequence data) until the content reaches --size-gib, makes real backups with
`backup create`, then alternates runs of ours and the baseline on a warm page cache (`sync` before each run, the
staging folder removed between runs). Each side is timed as a whole process, start-up included. Reported: median
MiB/s of restored content with min-max, the ratio ours/baseline, and our peak RSS (ru_maxrss of the child).
The .tar.zst baseline needs the zstd program: `apt-get install -y zstd`.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.common import (
    MIB,
    BenchError,
    checksum_file,
    child_restore,
    our_restore_argv,
    pad_store,
    rates,
    summarize,
    timed,
    tool,
)


def _summary(seconds: list[float], content: int) -> dict[str, float]:
    return summarize(rates(seconds, content))


def _tools() -> tuple[str, str]:
    try:
        tar = tool("tar", "Install GNU tar.")
        sha256sum = tool("sha256sum", "Install coreutils.")
        tool("zstd", "The .tar.zst baseline needs it: apt-get install -y zstd")
    except BenchError as exc:
        raise SystemExit(f"bench-restore: {exc}") from exc
    return tar, sha256sum


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-gib", type=float, default=1.0, help="backup content size (default 1 GiB)")
    parser.add_argument("--runs", type=int, default=5, help="runs per side and kind (default 5)")
    parser.add_argument("--work-dir", type=Path, default=None, help="where to build (default: system temp)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--child-restore", nargs=2, metavar=("ARCHIVE", "STAGING"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_restore:
        return child_restore(*args.child_restore)

    tar, sha256sum = _tools()
    from atlas_drills.backup.create import create_backup
    from atlas_drills.sample import SampleConfig, build_sample

    work = Path(tempfile.mkdtemp(prefix="atlas-bench-restore-", dir=args.work_dir))
    try:
        print(f"work folder: {work}", flush=True)
        release = build_sample(work / "sample", SampleConfig(genes=2000))
        pad = pad_store(release.store_root, int(args.size_gib * (1 << 30)), seed=7)
        print(f"padding SQLite: {pad / MIB:,.0f} MiB", flush=True)
        archives = {}
        for kind in ("tar", "tar.zst"):
            started = time.perf_counter()
            created = create_backup(
                release.store_root,
                release.root / "ops",
                release.config_file,
                work / f"backup.{kind}",
                show_progress=False,
            )
            archives[kind] = created.path
            content = created.manifest.total_size
            print(
                f"backup.{kind}: {created.archive_bytes / MIB:,.0f} MiB archive, {content / MIB:,.0f} MiB content,"
                f" created in {time.perf_counter() - started:.1f}s",
                flush=True,
            )
        checksums = work / "checksums.sha256"
        shutil.rmtree(work / "sample")  # the source is no longer needed; keep the page cache for the archives
        staging = work / "staging"
        staging_dir_for_sums = work / "manifest-only"
        staging_dir_for_sums.mkdir()
        subprocess.run(
            [tar, "-xf", str(archives["tar"]), "-C", str(staging_dir_for_sums), "backup-manifest.json"],
            check=True,
            timeout=600,
        )
        checksum_file(staging_dir_for_sums / "backup-manifest.json", checksums)

        results: dict[str, dict[str, list[float]]] = {k: {"ours": [], "baseline": []} for k in archives}
        peak_rss_kib = 0
        for run in range(args.runs):
            for kind, archive in archives.items():
                order = ["ours", "baseline"] if run % 2 == 0 else ["baseline", "ours"]
                for side in order:
                    shutil.rmtree(staging, ignore_errors=True)
                    if side == "ours":
                        elapsed, out = timed(our_restore_argv(archive, staging))
                        peak_rss_kib = max(peak_rss_kib, json.loads(out)["peak_rss_kib"])
                    else:
                        staging.mkdir()
                        extract = [tar, "-xf", str(archive), "-C", str(staging)]
                        if kind == "tar.zst":
                            extract.insert(1, "--zstd")
                        check = [sha256sum, "-c", "--quiet", str(checksums)]
                        script = f"{shlex.join(extract)} && cd {shlex.quote(str(staging))} && {shlex.join(check)}"
                        elapsed, _ = timed(["/bin/sh", "-c", script])
                    results[kind][side].append(elapsed)
                    print(f"run {run + 1} {kind:7} {side:8} {content / MIB / elapsed:8.1f} MiB/s", flush=True)
        print(f"\ncontent {content / MIB:,.0f} MiB; warm page cache; {args.runs} runs each, alternating")
        for kind, sides in results.items():
            ours, base = _summary(sides["ours"], content), _summary(sides["baseline"], content)
            print(
                f"{kind:8} ours {ours['median']:7.1f} MiB/s ({ours['min']:.1f}-{ours['max']:.1f})  "
                f"baseline {base['median']:7.1f} MiB/s ({base['min']:.1f}-{base['max']:.1f})  "
                f"ratio {ours['median'] / base['median']:.2f}"
            )
        print(f"our peak RSS: {peak_rss_kib / 1024:.1f} MiB")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
