"""`make bench`: every benchmark side by side in one session, then BENCHMARKS.md (generated) at the repository root.

    .venv/bin/python -m tests.bench [--only SECTIONS] [--sizes default,100000,300000,1000000] [--work DIR --keep] ...

Sections (`--only`, comma-separated; default all):
  restore     restore + verify throughput of a >= 1 GiB backup: ours, the shell baseline, restic
  rss         our restore's peak RSS at several backup sizes (it must stay flat)
  readiness   container start-to-ready and time-to-first-correct-query (default sample and a 1M-gene store)
  drills      drill throughput: N drills serial vs `-n 2` (default 1, 4, 16) and the suite's own overhead
  curves      cost curve: one drill's wall time (`make drill`'s arguments, every check running) against backup size,
              beside one read of the backup (`openssl dgst -sha256`); for the largest size, per-phase and per-check
              times and a cProfile of one serial drill
  datasets    cost curve against the number of datasets (successive releases of one species, fixed genes each)
  make-drill  `make drill` on the embedded default, warm: median pytest wall of --make-drill-runs runs

A section that cannot run here is reported as such, with the reason, and the others still run. Built samples and
backups for the curves are cached in WORK/samples/ keyed by recipe and code version: with --keep they survive the run
and are reused by the next one (building a 1M-gene sample and its 5.5 GB backup takes minutes; build time is reported
but is never part of a measured figure). Without --keep, what the bench built is removed once measured and its
scratch folder at the end (also on Ctrl-C or SIGTERM; cached entries it found in --work are reused and left alone).
Every container the bench starts carries labels and is swept. Free disk is checked before each large step, and the
bench refuses, with the figures, when it is short. Progress goes to stderr.

Typical: the cost curves alone, cached for the next run (about 15-20 min the first time on 2 cores, most of it the
1M-gene build and drills):
    .venv/bin/python -m tests.bench --only curves,make-drill --work /var/tmp/atlas-bench --keep
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

from tests.bench import cost_curves, drill_throughput, make_drill, readiness, restore_peers
from tests.bench.common import BenchError, machine_facts, sample_backup
from tests.bench.render import render
from tests.bench.samples import Recipe, code_version, prune, releases_for

REPO_ROOT = Path(__file__).resolve().parents[2]
SECTIONS = ("restore", "rss", "readiness", "drills", "curves", "datasets", "make-drill")
DEFAULT_SIZES = "default,100000,300000,1000000"
KEEP_DEFAULT = Path(tempfile.gettempdir()) / "atlas-bench-cache"


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    del signum, frame
    raise KeyboardInterrupt  # so every `finally` (containers, temp folders) runs


def _section(results: dict[str, Any], name: str, run: Callable[[], Any]) -> None:
    began = time.monotonic()
    try:
        results[name] = {"ok": True, "data": run()}
    except (BenchError, OSError, RuntimeError, ValueError, KeyError) as exc:
        _say(f"{name}: not measured: {exc}")
        if not isinstance(exc, BenchError):  # a defect of the bench: show where
            traceback.print_exc()
        results[name] = {"ok": False, "reason": f"{type(exc).__name__}: {exc}"}
    results[name]["seconds"] = time.monotonic() - began


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def _genes(text: str) -> int:
    """A gene count: 100000, 100k, 1M."""
    word = text.strip().lower().replace("_", "")
    scale = {"k": 1000, "m": 1_000_000}.get(word[-1:], 1)
    number = word[:-1] if scale > 1 else word
    try:
        value = int(float(number) * scale)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a gene count (100000, 100k, 1M) or 'default'") from None
    if value < 10:
        raise argparse.ArgumentTypeError(f"{text!r}: a sample needs at least 10 genes")
    return value


def _sizes(text: str) -> list[int | None]:
    """`default,100000,1M` -> [None, 100000, 1000000] (None: the embedded default, 2,000 genes)."""
    sizes: list[int | None] = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        sizes.append(None if part.lower() == "default" else _genes(part))
    if not sizes:
        raise argparse.ArgumentTypeError("expected at least one size")
    return sizes


def _dataset_counts(text: str) -> list[int]:
    counts = _ints(text)
    low = [n for n in counts if n < 2]
    if low or not counts:
        raise argparse.ArgumentTypeError(
            f"{text!r}: every dataset count must be at least 2: the sample builder needs two releases of a species "
            "so the newest can roll back (one dataset cannot be built)"
        )
    return counts


def _sections(text: str) -> set[str]:
    chosen = {part.strip() for part in text.split(",") if part.strip()}
    unknown = chosen - set(SECTIONS) - {"throughput"}
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown section(s) {', '.join(sorted(unknown))}: choose from {', '.join(SECTIONS)}"
        )
    return {"drills" if part == "throughput" else part for part in chosen}


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
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=_sizes(DEFAULT_SIZES),
        help=f"curves: genes of the newest release per point, 'default' for the embedded 2,000; 100k and 1M "
        f"accepted (default {DEFAULT_SIZES}); three releases plus a second species each",
    )
    parser.add_argument("--curve-runs", type=int, default=3, help="curves: timed runs per point and side (default 3)")
    parser.add_argument(
        "--no-profile", action="store_true", help="curves: leave out the cProfile'd serial drill of the largest size"
    )
    parser.add_argument(
        "--datasets",
        type=_dataset_counts,
        default=[2, 4, 8],
        help="datasets: dataset counts, each >= 2 (default 2,4,8): that many releases of one species, no second one",
    )
    parser.add_argument(
        "--dataset-genes", type=_genes, default=50_000, help="datasets: genes per dataset (default 50000)"
    )
    parser.add_argument("--make-drill-runs", type=int, default=5, help="make-drill: timed warm runs (default 5)")
    parser.add_argument(
        "--only",
        type=_sections,
        default=set(),
        help=f"comma-separated sections to run (default all): {','.join(SECTIONS)}",
    )
    parser.add_argument(
        "--work",
        "--work-dir",
        dest="work",
        type=Path,
        default=None,
        help=f"the bench folder: samples cache (WORK/samples) and scratch (default: a new temporary folder; with "
        f"--keep, {KEEP_DEFAULT})",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the built samples and backups in WORK/samples and reuse them on later runs (same recipe, same "
        "atlas_drills code, backup younger than 20 h); entries of other code versions are removed",
    )
    parser.add_argument(
        "--drill-args",
        type=shlex.split,
        default=[],
        help="curves, datasets, make-drill: more pytest arguments for every drill, as `make drill DRILL_ARGS=...` "
        '(e.g. "--drill-catalog=rebuild-if-lost"); ATLAS_DRILLS_* variables in the environment reach the drills too',
    )
    parser.add_argument(
        "--reuse-older",
        action="store_true",
        help="curves: when the cache has no entry of this code version, drill a fresh one (< 20 h) of the same recipe "
        "written by earlier code, as users drill their older backups, instead of rebuilding (the report names the "
        "code version that wrote it); entries of other versions are then not removed",
    )
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "BENCHMARKS.md", help="the report to write")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw results as JSON")
    parser.add_argument(
        "--merge-from",
        type=Path,
        default=None,
        help="a results JSON of an earlier run (--json): sections this run leaves out are taken from it, marked with "
        "when they were measured",
    )
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


def _work_folder(args: argparse.Namespace) -> tuple[Path, bool]:
    """The bench folder, and whether the bench created it (then it is removed at the end unless --keep)."""
    if args.work is not None:
        args.work.mkdir(parents=True, exist_ok=True)
        return args.work.resolve(), False
    if args.keep:
        KEEP_DEFAULT.mkdir(parents=True, exist_ok=True)
        return KEEP_DEFAULT, False
    return Path(tempfile.mkdtemp(prefix="atlas-bench-")), True


def _curves(samples: Path, scratch: Path, args: argparse.Namespace) -> dict[str, Any]:
    from atlas_drills.sandbox.select import ensure_target_image

    ensure_target_image("")  # built once, before any timed run
    recipes = [Recipe(genes) for genes in args.sizes]
    data = cost_curves.curve(
        recipes,
        samples,
        scratch / "curves",
        runs=args.curve_runs,
        keep=args.keep,
        profile=not args.no_profile,
        say=_say,
        reuse_older=args.reuse_older,
        extra=args.drill_args,
    )
    return {**data, "code_version": code_version()}


def _dataset_curve(samples: Path, scratch: Path, args: argparse.Namespace) -> dict[str, Any]:
    from atlas_drills.sandbox.select import ensure_target_image

    ensure_target_image("")
    recipes = [Recipe(args.dataset_genes, releases_for(n), second_species=False) for n in args.datasets]
    data = cost_curves.curve(
        recipes,
        samples,
        scratch / "datasets",
        runs=args.curve_runs,
        keep=args.keep,
        profile=False,
        say=_say,
        reuse_older=args.reuse_older,
        extra=args.drill_args,
    )
    return {**data, "genes_per_dataset": args.dataset_genes, "code_version": code_version()}


def _merge(results: dict[str, Any], previous: Path, ran: set[str]) -> None:
    """Sections this run left out, taken from an earlier run's results JSON (each keeps the time it was measured)."""
    earlier = json.loads(previous.read_bytes())
    for name in SECTIONS:
        if name not in ran and isinstance(earlier.get(name), dict):
            section = dict(earlier[name])
            section.setdefault("measured_at", earlier.get("started_at", "an earlier run"))
            results[name] = section


def _plan(args: argparse.Namespace, samples: Path, scratch: Path) -> list[tuple[str, str, Callable[[], Any]]]:
    """Every section in the order it runs: (name, title, what measures it)."""
    with_restic = not args.no_restic and shutil.which("restic") is not None
    if not args.no_restic and not with_restic and (not args.only or "restore" in args.only):
        _say(f"restic not found: left out. {restore_peers.RESTIC_HINT}")
    return [
        (
            "restore",
            "restore + verify throughput",
            lambda: restore_peers.throughput(scratch / "restore", args.size_gib, args.restore_runs, with_restic, _say),
        ),
        ("rss", "peak RSS", lambda: restore_peers.peak_rss(scratch / "rss", args.rss_sizes_mib, args.rss_runs, _say)),
        ("readiness", "container start-to-ready", lambda: _readiness(scratch, args)),
        ("drills", "drill throughput", lambda: _drills(scratch, args)),
        (
            "make-drill",
            "make drill, warm, on the embedded default",
            lambda: make_drill.measure(scratch / "make-drill", args.make_drill_runs, _say, args.drill_args),
        ),
        (
            "curves",
            "cost curve: drill wall time against backup size, beside one read",
            lambda: _curves(samples, scratch, args),
        ),
        (
            "datasets",
            "cost curve: drill wall time against dataset count",
            lambda: _dataset_curve(samples, scratch, args),
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.render_from:
        args.out.write_text(render(json.loads(args.render_from.read_bytes())))
        _say(f"bench: rendered {args.out} from {args.render_from}")
        return 0
    only: set[str] = args.only or set(SECTIONS)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    work, created = _work_folder(args)
    samples = work / "samples"
    scratch = Path(tempfile.mkdtemp(prefix="run-", dir=work))
    began = datetime.now(UTC)
    results: dict[str, Any] = {
        "started_at": began.isoformat(timespec="seconds"),
        "command": shlex.join(["python", "-m", "tests.bench", *(sys.argv[1:] if argv is None else argv)]),
        "machine": machine_facts(work),
        "options": {
            k: (str(v) if isinstance(v, Path) else sorted(v) if isinstance(v, set) else v)
            for k, v in vars(args).items()
        },
    }
    try:
        _say(f"bench: work folder {work} (samples cache {samples}; {'kept' if args.keep else 'removed at the end'})")
        if args.keep and not args.reuse_older:
            prune(samples)
        for name, title, run in _plan(args, samples, scratch):
            if name in only:
                _say(f"== {title}")
                _section(results, name, run)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if created:
            shutil.rmtree(work, ignore_errors=True)
    results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    if args.merge_from:
        _merge(results, args.merge_from, only)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    args.out.write_text(render(results))
    _say(f"bench: wrote {args.out}")
    return 0 if all(results[name].get("ok") for name in only if name in results) else 1


if __name__ == "__main__":
    sys.exit(main())
