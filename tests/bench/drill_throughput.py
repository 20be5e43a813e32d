"""Drill throughput: the wall time of 1, 4 and 16 drills, serially and with `-n 2 --dist loadgroup`, and the suite's
own overhead (a full drill minus its restore and readiness).

The backups are byte-identical copies of one sample backup under distinct names, drilled with
`pytest drills --drill-backup=<folder> --drill-pick=all --drill-expect=<sample release>`. Every drill gets its own
container (and its destructive checks, the rollback and the drain, their own fresh restore and container). Serial and
parallel runs alternate; each run is timed as a whole pytest process, start-up and collection included.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.bench.common import BenchError, summarize, timed

Say = Callable[[str], None]
REPO_ROOT = Path(__file__).resolve().parents[2]
PARALLEL = ("-n", "2", "--dist", "loadgroup", "--max-worker-restart=0")
RESTORE_AND_READINESS = ("verify_extract", "transfer", "start", "ready")


def drill_argv(backups: Path, expect: Path, report_dir: Path, parallel: bool) -> list[str]:
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "drills",
        f"--drill-backup={backups}",
        "--drill-pick=all",
        f"--drill-expect={expect}",
        "--drill-sandbox=docker",
        f"--drill-report-dir={report_dir}",
        "-p",
        "no:cacheprovider",
        # As `make drill` runs them: the hypothesis plugin (a dev dependency) costs each process ~0.9 s for nothing.
        "-p",
        "no:hypothesispytest",
        "-q",
    ]
    return [*argv, *PARALLEL] if parallel else argv


def display(argv: list[str]) -> str:
    """The command as a reader would type it (`python -m pytest ...`, bench paths as placeholders)."""
    return " ".join(["python", *argv[1:]])


def _report(report_dir: Path) -> dict[str, Any]:
    document = json.loads((report_dir / "latest" / "drill-report.json").read_bytes())
    verdict = document.get("verdict", {}).get("value")
    if verdict != "RECOVERABLE":
        raise BenchError(f"the drills did not pass ({verdict}): see {report_dir}")
    return dict(document)


def _phases(drill: dict[str, Any]) -> dict[str, float]:
    return {str(phase["name"]): float(phase["seconds"]) for phase in drill.get("phases", [])}


def measure(
    work: Path, backup: Path, expect: Path, *, counts: list[int], runs: int, say: Say
) -> tuple[dict[str, Any], list[str]]:
    """Wall times per drill count and mode, the parallel/serial ratio, and the overhead breakdown."""
    result: dict[str, Any] = {}
    commands: list[str] = []
    for count in counts:
        folder = work / f"backups-{count}"
        folder.mkdir()
        for index in range(count):
            shutil.copyfile(backup, folder / f"drill-{index + 1:02d}.tar.zst")
        seconds: dict[str, list[float]] = {"serial": [], "parallel": []}
        overhead: list[dict[str, float]] = []
        modes = ["serial", "parallel"]
        for run in range(runs):
            for mode in modes if run % 2 == 0 else modes[::-1]:
                report_dir = work / f"reports-{count}-{mode}-{run}"
                argv = drill_argv(folder, expect, report_dir, parallel=mode == "parallel")
                if run == 0:
                    commands.append(display(argv).replace(str(work), "$BENCH"))
                elapsed, _ = timed(argv, cwd=REPO_ROOT)
                report = _report(report_dir)
                drills = report["drills"]
                if len(drills) != count or any(d["verdict"] != "pass" for d in drills):
                    raise BenchError(f"{count} drills ({mode}): not every drill passed: see {report_dir}")
                seconds[mode].append(elapsed)
                if mode == "serial":
                    overhead.append(_overhead(elapsed, report))
                say(f"  {count:2} drills {mode:8} run {run + 1}: {elapsed:6.2f}s")
                shutil.rmtree(report_dir, ignore_errors=True)
        shutil.rmtree(folder)
        serial, parallel = summarize(seconds["serial"]), summarize(seconds["parallel"])
        result[str(count)] = {
            "seconds": seconds,
            "serial": serial,
            "parallel": parallel,
            "ratio_parallel_serial": parallel["median"] / serial["median"],
            "overhead": {key: summarize([row[key] for row in overhead]) for key in overhead[0]},
        }
    return result, commands


def _overhead(wall: float, report: dict[str, Any]) -> dict[str, float]:
    """Where the serial wall time of the drills went, per drill. The shared restore and readiness are the drill's
    own recovery; everything else is what the suite adds: interpreter start-up and imports, collection, the checks
    themselves, the destructive checks' own restores and containers, container removal, the report."""
    drills = report["drills"]
    count = len(drills)
    phases = [_phases(drill) for drill in drills]
    restore_ready = sum(sum(p.get(name, 0.0) for name in RESTORE_AND_READINESS) for p in phases)
    checks = sum(p.get("checks", 0.0) for p in phases)
    tests = sum(
        float(check["duration_s"])
        for drill in drills
        for criterion in drill["criteria"]
        for check in criterion["checks"]
    )
    session = float(report["run"]["duration_s"])
    return {
        "wall_per_drill": wall / count,
        "restore_and_readiness_per_drill": restore_ready / count,
        "overhead_per_drill": (wall - restore_ready) / count,
        "checks_per_drill": checks / count,
        "fixtures_per_drill": (tests - checks - restore_ready) / count,
        "session_rest_per_drill": (session - tests) / count,
        "outside_session_per_drill": (wall - session) / count,
    }
