"""Cost curves: what one drill costs against the size of its backup and against its number of datasets, each beside
the cheapest thing that touches every byte of the backup once (`openssl dgst -sha256 BACKUP`, the one-read line).

A drill here is the whole `pytest drills` process on one backup with `make drill`'s own arguments (read from the
Makefile: `-n 2 --dist loadgroup --max-worker-restart=0 -p no:hypothesispytest`), the stand-in in Docker, and the
backup's baseline answers recorded at backup time, so every check runs (a run where a check is skipped or fails is
refused, not timed). Per size: one untimed warm-up of each side, then the read and the drill alternate run by run
(read, drill; drill, read; ...). The page cache stays warm for both alike. While a drill runs, the free space of
every file system it writes to (the bench folder, the temp folder, Docker's data root) is sampled, so the peak extra
disk a drill needs is measured rather than guessed.

For the largest size, where the remaining time goes: the drill report's phases and per-check durations (setup, call
and teardown of each check, from the timed runs) and a cProfile of one extra, serial run of the pytest process.
"""

from __future__ import annotations

import json
import os
import pstats
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.bench.common import CHILD_TIMEOUT_S, GIB, BenchError, summarize, timed, tool
from tests.bench.samples import CachedBackup, Recipe, cached_backup

Say = Callable[[str], None]
REPO_ROOT = Path(__file__).resolve().parents[2]
MAKEFILE = REPO_ROOT / "Makefile"
# What the sample's backup weighs per gene and dataset (SQLite artifact plus manifests), from 1M-gene backups; used
# only to refuse early when the disk cannot hold a size, never as a figure.
BACKUP_BYTES_PER_GENE = 2000
BACKUP_FIXED_BYTES = 32 << 20
BUILD_FACTOR = 4.0  # building: the sample's store and raw inputs, the SQLite snapshots and the archive
# A drill: its restore, the container's copy, the destructive checks' own restores and copies. At 1M genes with -n 2
# free space fell by 31-52 GB (5-8.4x the backup; the upper figure includes other work on the machine).
DRILL_FACTOR = 7.0
RESERVE_BYTES = 2 * GIB
PLAN = REPO_ROOT / "ops" / "drills" / "plan.toml"
WIDE_BUDGETS = {"restore": 3600, "ready": 600, "total": 7200}  # seconds
WIDE_STARTUP_S = 1200
# The projects' own code, for the profile summary.
OWN_CODE = ("/atlas_drills/", "/plugins/", "/drills/", "/tests/")


def make_drill_args(makefile: Path = MAKEFILE) -> list[str]:
    """The pytest arguments of the Makefile's `drill` target (after `pytest drills`, before `$(DRILL_ARGS)`)."""
    lines = makefile.read_text().splitlines()
    for index, line in enumerate(lines):
        if line.startswith("drill:"):
            for recipe in lines[index + 1 :]:
                if not recipe.startswith("\t"):
                    break
                words = shlex.split(recipe.strip())
                if "pytest" in words and "drills" in words:
                    rest = words[words.index("drills") + 1 :]
                    return [word for word in rest if not word.startswith("$(")]
    raise BenchError(
        f"{makefile}: no `pytest drills ...` line in the `drill` target; cannot tell make drill's arguments"
    )


def bench_plan(folder: Path, plan: Path = PLAN) -> Path:
    """The repository's drill plan with its recovery-time budgets widened: a budget decides a verdict, not what a
    drill costs, and a busy machine missing one must not void the measurement. Everything else is the plan's."""
    document = tomllib.loads(plan.read_text())
    lines = [f"schema_version = {int(document.get('schema_version', 1))}", "", "[defaults]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in document.get("defaults", {}).items()]
    lines += ["", "[budgets]", *[f"{key} = {value}" for key, value in WIDE_BUDGETS.items()], ""]
    lines += ["[timeouts]", f"startup = {WIDE_STARTUP_S}", ""]
    lines += ["[[drills]]", 'backup = "sample://current"', 'expect = "sample://current"', ""]
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "bench-plan.toml"
    out.write_text("\n".join(lines))
    return out


def drill_argv(
    backup: Path, release: Path, report_dir: Path, serial: bool = False, extra: Sequence[str] = ()
) -> list[str]:
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "drills",
        *make_drill_args(),
        f"--drill-plan={bench_plan(report_dir.parent)}",
        f"--drill-backup={backup}",
        f"--drill-expect={release}",
        "--drill-sandbox=docker",
        f"--drill-report-dir={report_dir}",
        "-p",
        "no:cacheprovider",
        "-q",
        *extra,
    ]
    if serial:  # the profile: one process doing everything, so cProfile sees it all
        argv = _without_xdist(argv)
    return argv


def _without_xdist(argv: list[str]) -> list[str]:
    out: list[str] = []
    skip = 0
    for word in argv:
        if skip:
            skip -= 1
            continue
        if word in ("-n", "--dist"):
            skip = 1
            continue
        if word.startswith(("--max-worker-restart", "--dist=", "-n=")):
            continue
        out.append(word)
    return out


def display(argv: Sequence[str], replacements: dict[str, str]) -> str:
    text = shlex.join(["python", *argv[1:]])
    for path, name in replacements.items():
        text = text.replace(path, name)
    return text


# --- disk ------------------------------------------------------------------------------------------------------


def _watched(work: Path) -> dict[int, Path]:
    """One path per file system a drill writes to: the bench folder, the temp folder (pytest's), Docker's root."""
    candidates = [work, Path(tempfile.gettempdir()), Path("/var/lib/docker")]
    found: dict[int, Path] = {}
    for path in candidates:
        try:
            found.setdefault(path.stat().st_dev, path)
        except OSError:
            continue
    return found


class DiskWatch:
    """Samples free space on every watched file system while a child runs; `peak_bytes` is the largest drop (summed
    over file systems) from the free space before the child started."""

    def __init__(self, work: Path, interval_s: float = 0.25) -> None:
        self._paths = list(_watched(work).values())
        self._interval = interval_s
        self._start = [shutil.disk_usage(p).free for p in self._paths]
        self._peak = [0] * len(self._paths)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> DiskWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            for index, path in enumerate(self._paths):
                try:
                    drop = self._start[index] - shutil.disk_usage(path).free
                except OSError:
                    continue
                self._peak[index] = max(self._peak[index], drop)
            if self._stop.wait(self._interval):
                return

    @property
    def peak_bytes(self) -> int:
        return sum(self._peak)


def estimated_backup_bytes(recipe: Recipe) -> int:
    genes = recipe.genes or 2000
    return int(genes * BACKUP_BYTES_PER_GENE * (len(recipe.releases) + (0.1 if recipe.second_species else 0.0)))


def ensure_disk(where: Path, need: int, what: str) -> None:
    """Refuse, naming the figures, when the file system of `where` has less than `need` (+ a reserve) free."""
    free = shutil.disk_usage(where).free
    if free < need + RESERVE_BYTES:
        raise BenchError(
            f"not enough free disk at {where}: {free / GIB:.1f} GiB free, {what} needs about "
            f"{(need + RESERVE_BYTES) / GIB:.1f} GiB ({need / GIB:.1f} GiB plus a {RESERVE_BYTES / GIB:.0f} GiB "
            "reserve). Free some space, pass --work on a larger disk, or leave the largest sizes out of --sizes"
        )


def disk_plan(recipes: Sequence[Recipe], samples: Path, keep: bool) -> int:
    """Free bytes the whole curve needs at its peak: the cached backups it keeps, plus the largest step's build and
    drill (a drill's restore, container copy and the destructive checks' restores)."""
    held = peak = 0
    for recipe in recipes:
        existing = [path for path in samples.glob(f"{recipe.stem()}-*/backup.tar") if path.is_file()]
        cached = bool(existing)
        size = max(p.stat().st_size for p in existing) if existing else estimated_backup_bytes(recipe)
        size += BACKUP_FIXED_BYTES
        building = 0.0 if cached else BUILD_FACTOR * size
        peak = max(peak, held + size + int(max(building - size, DRILL_FACTOR * size)))
        if keep and not cached:
            held += size
    return peak


# --- one drill, one read ---------------------------------------------------------------------------------------


@dataclass
class DrillRun:
    wall_s: float
    phases: dict[str, float]
    checks: dict[str, float]  # check name -> setup + call + teardown seconds
    disk_peak_bytes: int


def _read_report(report_dir: Path) -> dict[str, Any]:
    path = report_dir / "latest" / "drill-report.json"
    try:
        document = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise BenchError(f"{path}: no drill report ({exc}); the drill did not finish") from exc
    return dict(document)


def checked_report(report_dir: Path) -> dict[str, Any]:
    """The drill report of one drill in which every check ran and passed; anything else is refused, with why."""
    report = _read_report(report_dir)
    verdict = report.get("verdict", {}).get("value")
    drills = report.get("drills", [])
    if verdict != "RECOVERABLE" or len(drills) != 1:
        raise BenchError(f"the drill did not pass ({verdict}, {len(drills)} drill(s)): see {report_dir}")
    outcomes = {
        check["name"]: check.get("status") for criterion in drills[0]["criteria"] for check in criterion["checks"]
    }
    not_run = sorted(name for name, status in outcomes.items() if status != "passed")
    if not_run:
        raise BenchError(
            f"checks that did not run and pass ({', '.join(not_run)}): every check must run for the figure to mean "
            f"anything; does the backup hold baseline answers (backup create --baseline-from)? See {report_dir}"
        )
    return report


def run_drill(argv: list[str], report_dir: Path) -> float:
    """Wall time of one pytest drill process; a failing one is refused with what pytest printed and its report."""
    os.sync()  # earlier runs' dirty pages are written back first, as for every timed child
    began = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S, check=False)
    wall = time.perf_counter() - began
    if done.returncode != 0:
        printed = (done.stdout[-1500:] + done.stderr[-500:]).strip()
        raise BenchError(f"the drill failed (pytest exit {done.returncode}; report in {report_dir}):\n{printed}")
    return wall


def _drill_once(argv: list[str], report_dir: Path, work: Path) -> DrillRun:
    shutil.rmtree(report_dir, ignore_errors=True)
    with DiskWatch(work) as watch:
        wall = run_drill(argv, report_dir)
    report = checked_report(report_dir)
    drill = report["drills"][0]
    phases = {str(p["name"]): float(p["seconds"]) for p in drill.get("phases", [])}
    checks = {
        str(check["name"]): float(check.get("duration_s", 0.0))
        for criterion in drill["criteria"]
        for check in criterion["checks"]
    }
    shutil.rmtree(report_dir, ignore_errors=True)
    return DrillRun(wall, phases, checks, watch.peak_bytes)


def _read_once(openssl: str, backup: Path) -> float:
    return timed([openssl, "dgst", "-sha256", str(backup)])[0]


def median_by_key(rows: Sequence[dict[str, float]]) -> dict[str, float]:
    keys = list(dict.fromkeys(key for row in rows for key in row))
    return {key: statistics.median(row.get(key, 0.0) for row in rows) for key in keys}


def measure_point(cached: CachedBackup, work: Path, runs: int, say: Say, extra: Sequence[str] = ()) -> dict[str, Any]:
    """One point of a curve: medians of `runs` alternating one-read and drill runs, after a warm-up of each."""
    openssl = tool("openssl", "Install it: apt-get install -y openssl")
    report_dir = work / "reports"
    argv = drill_argv(cached.backup, cached.release, report_dir, extra=extra)
    label = f"{cached.recipe.label()} genes, {cached.recipe.datasets} datasets"
    reads: list[float] = []
    drills: list[DrillRun] = []
    say(f"  {label}: warm-up (one read, one drill, untimed)")
    _read_once(openssl, cached.backup)
    warm = _drill_once(argv, report_dir, work)
    say(f"    warm-up drill {warm.wall_s:.2f} s")
    for run in range(runs):
        order = ("read", "drill") if run % 2 == 0 else ("drill", "read")
        for side in order:
            if side == "read":
                reads.append(_read_once(openssl, cached.backup))
            else:
                drills.append(_drill_once(argv, report_dir, work))
        say(f"    run {run + 1}/{runs}: one read {reads[-1]:.2f} s, drill {drills[-1].wall_s:.2f} s")
    read = summarize(reads)
    wall = summarize([d.wall_s for d in drills])
    return {
        "label": cached.recipe.label(),
        "genes": cached.recipe.genes,
        "datasets": cached.recipe.datasets,
        "backup_bytes": cached.backup_bytes,
        "build_s": cached.build_s,
        "reused": cached.reused,
        "code_version": cached.code_version,
        "one_read_s": read,
        "drill_s": wall,
        "ratio": wall["median"] / read["median"],
        "phases_s": median_by_key([d.phases for d in drills]),
        "checks_s": median_by_key([d.checks for d in drills]),
        "disk_peak_bytes": max(d.disk_peak_bytes for d in [warm, *drills]),
        "command": argv,
    }


# --- the profile ---------------------------------------------------------------------------------------------------


def _where(key: tuple[str, int, str]) -> str:
    filename, line, name = key
    for marker in OWN_CODE:
        if marker in filename:
            return f"{marker.strip('/')}/{filename.split(marker, 1)[1]}:{line} {name}"
    if filename == "~":
        return name  # a built-in: {method 'read' of ...}
    return f"{Path(filename).name}:{line} {name}"


def summarize_profile(path: Path, top: int = 8) -> dict[str, Any]:
    """The heaviest of the suite's own functions by cumulative time, and the heaviest functions of all by own
    time (where the process itself spends: hashing, reading, waiting on a socket or a child)."""
    stats = pstats.Stats(str(path))
    table: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    total = max((row[3] for row in table.values()), default=0.0)
    own = [
        (key, row)
        for key, row in table.items()
        if any(marker in key[0] for marker in OWN_CODE) and "conftest" not in key[0] and key[2] != "<module>"
    ]
    cumulative = sorted(own, key=lambda item: item[1][3], reverse=True)[:top]
    tottime = sorted(table.items(), key=lambda item: item[1][2], reverse=True)[:top]
    return {
        "total_s": float(total),
        "cumulative": [
            {"where": _where(key), "seconds": float(row[3]), "calls": int(row[1])} for key, row in cumulative
        ],
        "own_time": [{"where": _where(key), "seconds": float(row[2]), "calls": int(row[1])} for key, row in tottime],
    }


def profile_point(cached: CachedBackup, work: Path, say: Say, extra: Sequence[str] = ()) -> dict[str, Any]:
    """One serial drill of `cached` under cProfile (wall clock), summarised."""
    report_dir = work / "reports-profile"
    output = work / "drill.prof"
    argv = drill_argv(cached.backup, cached.release, report_dir, serial=True, extra=extra)
    profiled = [argv[0], "-m", "cProfile", "-o", str(output), *argv[1:]]
    say(f"  profiling one serial drill of {cached.recipe.label()} genes (cProfile)")
    began = time.perf_counter()
    os.sync()
    done = subprocess.run(profiled, cwd=REPO_ROOT, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S, check=False)
    wall = time.perf_counter() - began
    if done.returncode != 0:
        raise BenchError(f"the profiled drill failed ({done.returncode}): {done.stdout[-1500:]}{done.stderr[-500:]}")
    checked_report(report_dir)
    summary = summarize_profile(output)
    shutil.rmtree(report_dir, ignore_errors=True)
    output.unlink(missing_ok=True)
    say(f"    profiled serial drill {wall:.1f} s")
    return {"wall_s": wall, "command": profiled, **summary}


# --- the curves ----------------------------------------------------------------------------------------------------


def curve(
    recipes: Sequence[Recipe],
    samples: Path,
    work: Path,
    *,
    runs: int,
    keep: bool,
    profile: bool,
    say: Say,
    reuse_older: bool = False,
    extra: Sequence[str] = (),
) -> dict[str, Any]:
    """Every recipe built (or reused), then measured; the largest one also broken down and profiled."""
    work.mkdir(parents=True, exist_ok=True)
    samples.mkdir(parents=True, exist_ok=True)
    ensure_disk(work, disk_plan(recipes, samples, keep), f"this curve ({len(recipes)} backups)")
    points: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    largest: dict[str, Any] = {}
    biggest = max(recipes, key=lambda r: (r.genes or 0) * r.datasets)
    for recipe in recipes:
        ensure_disk(work, disk_plan([recipe], samples, keep), f"the {recipe.label()}-gene backup and its drill")
        cached = cached_backup(samples, recipe, say, reuse_older)
        try:
            point = measure_point(cached, work, runs, say, extra)
            points.append(point)
            if recipe == biggest and profile:
                largest = profile_point(cached, work, say, extra)
        except BenchError as exc:  # one size failing must not lose the others
            say(f"  {recipe.label()} genes: not measured: {exc}")
            failed.append({"label": recipe.label(), "datasets": recipe.datasets, "reason": str(exc)[-2000:]})
            _keep_reports(work, samples, recipe)
        finally:
            if not keep and not cached.reused:  # what this run built; a cache it found stays
                shutil.rmtree(cached.folder, ignore_errors=True)
    replacements = {str(samples): "$SAMPLES", str(work): "$BENCH"}
    for point in points:
        point["command"] = display(point["command"], replacements)
    if largest:
        largest["command"] = display(largest["command"], replacements)
    if not points:
        raise BenchError("no size could be measured: " + "; ".join(f"{f['label']}: {f['reason']}" for f in failed))
    return {"points": points, "failed": failed, "profile": largest, "runs": runs}


def _keep_reports(work: Path, samples: Path, recipe: Recipe) -> None:
    """A failed drill's reports, kept beside the samples cache (the scratch folder is removed at the end)."""
    for name in ("reports", "reports-profile"):
        if (work / name).is_dir():
            target = samples.parent / "failed-reports" / f"{recipe.stem()}-{time.strftime('%Y%m%dT%H%M%S')}-{name}"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(work / name), str(target))
