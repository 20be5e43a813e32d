"""`make bench`: every benchmark side by side in one session, then BENCHMARKS.md (generated) at the repository root.

    .venv/bin/python -m tests.bench [--size-gib 1] [--restore-runs 3] [--starts 10] [--big-starts 3]
        [--drill-counts 1,4,16] [--drill-runs 3] [--out BENCHMARKS.md]

Sections: restore + verify throughput (ours, the shell baseline, restic), our peak RSS per backup size, container
start-to-ready and time-to-first-correct-query (default sample and a 1M-gene store), drill throughput (1, 4, 16
drills, serial and `-n 2`) and the suite's own overhead. A section that cannot run here is reported as such, with
the reason, and the others still run. Everything is built in one temporary folder, removed at the end (also on
Ctrl-C or SIGTERM), and every container the bench starts carries labels and is swept.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from tests.bench import drill_throughput, readiness, restore_peers
from tests.bench.common import BenchError, machine_facts, sample_backup
from tests.bench.render import render

REPO_ROOT = Path(__file__).resolve().parents[2]


def _say(message: str) -> None:
    print(message, flush=True)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    del signum, frame
    raise KeyboardInterrupt  # so every `finally` (containers, temp folders) runs


def _section(results: dict[str, Any], name: str, run: Callable[[], Any]) -> None:
    began = time.monotonic()
    try:
        results[name] = {"ok": True, "data": run()}
    except (BenchError, OSError, RuntimeError, ValueError, KeyError) as exc:
        _say(f"{name}: not measured: {exc}")
        traceback.print_exc()
        results[name] = {"ok": False, "reason": f"{type(exc).__name__}: {exc}"}
    results[name]["seconds"] = time.monotonic() - began


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-gib", type=float, default=1.0, help="restore throughput backup size (default 1)")
    parser.add_argument("--restore-runs", type=int, default=3, help="timed runs per tool (default 3)")
    parser.add_argument("--no-restic", action="store_true", help="leave restic out of the comparison")
    parser.add_argument("--rss-sizes-mib", type=_ints, default=[100, 2048], help="besides the throughput size")
    parser.add_argument("--rss-runs", type=int, default=2, help="restores per RSS size and kind (default 2)")
    parser.add_argument("--starts", type=int, default=10, help="container starts of the default sample")
    parser.add_argument("--big-starts", type=int, default=3, help="container starts of the large store")
    parser.add_argument("--big-genes", type=int, default=1_000_000, help="genes of the large store (0: skip)")
    parser.add_argument("--drill-counts", type=_ints, default=[1, 4, 16], help="drill counts (default 1,4,16)")
    parser.add_argument("--drill-runs", type=int, default=3, help="runs per drill count and mode (default 3)")
    parser.add_argument("--only", default="", help="comma-separated sections: restore,rss,readiness,drills")
    parser.add_argument("--work-dir", type=Path, default=None, help="where to build (default: system temp)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "BENCHMARKS.md", help="the report to write")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw results as JSON")
    parser.add_argument(
        "--render-from", type=Path, default=None, help="only re-render --out from a results JSON written by --json"
    )
    return parser


def _readiness(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    from atlas_drills.backup.restore import restore_backup
    from atlas_drills.sample import SampleConfig, build_sample
    from atlas_drills.sandbox.select import ensure_target_image

    image = ensure_target_image("")
    folder = work / "readiness"
    backup, _ = sample_backup(folder / "default")
    restored = restore_backup(backup, folder / "default-staging")
    stores = [(readiness.probe_gene("default", restored.staging), args.starts)]
    big_build_s = 0.0
    if args.big_genes and args.big_starts:
        _say(f"readiness: building a {args.big_genes:,}-gene store (releases 111,112, no second species)")
        began = time.monotonic()
        big = build_sample(
            folder / "big", SampleConfig(genes=args.big_genes, releases=("111", "112"), second_species=None)
        )
        big_build_s = time.monotonic() - began
        stores.append((readiness.probe_gene(f"{args.big_genes // 1000}k genes", big.root), args.big_starts))
    try:
        data = readiness.measure(stores, image, folder, _say)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"image": image, "big_build_s": big_build_s, "stores": data}


def _drills(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    from atlas_drills.sandbox.select import ensure_target_image

    ensure_target_image("")  # built once, before any timed run
    folder = work / "drills"
    backup, release = sample_backup(folder / "sample")
    data, commands = drill_throughput.measure(
        folder, backup, release, counts=args.drill_counts, runs=args.drill_runs, say=_say
    )
    return {"runs": data, "commands": [c.replace(str(release), "$SAMPLE/release") for c in commands]}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.render_from:
        args.out.write_text(render(json.loads(args.render_from.read_bytes())))
        _say(f"bench: rendered {args.out} from {args.render_from}")
        return 0
    only = {part.strip() for part in args.only.split(",") if part.strip()}
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    work = Path(tempfile.mkdtemp(prefix="atlas-bench-", dir=args.work_dir))
    began = datetime.now(UTC)
    results: dict[str, Any] = {
        "started_at": began.isoformat(timespec="seconds"),
        "command": shlex.join(["python", "-m", "tests.bench", *(sys.argv[1:] if argv is None else argv)]),
        "machine": machine_facts(work),
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
    }
    try:
        _say(f"bench: work folder {work}")
        if not only or "restore" in only:
            _say("== restore + verify throughput")
            with_restic = not args.no_restic and shutil.which("restic") is not None
            if not args.no_restic and not with_restic:
                _say(f"restic not found: left out. {restore_peers.RESTIC_HINT}")
            _section(
                results,
                "restore",
                lambda: restore_peers.throughput(work / "restore", args.size_gib, args.restore_runs, with_restic, _say),
            )
        if not only or "rss" in only:
            _say("== peak RSS")
            _section(
                results, "rss", lambda: restore_peers.peak_rss(work / "rss", args.rss_sizes_mib, args.rss_runs, _say)
            )
        if not only or "readiness" in only:
            _say("== container start-to-ready")
            _section(results, "readiness", lambda: _readiness(work, args))
        if not only or "drills" in only:
            _say("== drill throughput")
            _section(results, "drills", lambda: _drills(work, args))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    args.out.write_text(render(results))
    _say(f"bench: wrote {args.out}")
    return (
        0
        if all(section.get("ok") for key, section in results.items() if isinstance(section, dict) and "ok" in section)
        else 1
    )


if __name__ == "__main__":
    sys.exit(main())
