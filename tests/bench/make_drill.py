"""`make drill` warm: the wall time of `pytest drills` with the Makefile `drill` target's own arguments on the
embedded default (the drill plan's `sample://current`, built and backed up by the run itself, as a user's
`make drill` does), after one untimed run, so the page cache, the stand-in image and Python's bytecode are warm.

The only argument added is `--drill-report-dir` (and --drill-args, as `make drill DRILL_ARGS=...` would add them), so
the runs do not write into the repository's reports/ (and their reports can be read: a run whose drill does not pass
is refused, not timed).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tests.bench.common import summarize
from tests.bench.cost_curves import checked_report, display, make_drill_args, median_by_key, run_drill

Say = Callable[[str], None]


def measure(work: Path, runs: int, say: Say, extra: Sequence[str] = ()) -> dict[str, Any]:
    report_dir = work / "make-drill-reports"
    argv = [sys.executable, "-m", "pytest", "drills", *make_drill_args(), *extra, f"--drill-report-dir={report_dir}"]
    walls: list[float] = []
    phases: list[dict[str, float]] = []
    for run in range(-1, runs):  # run -1: the untimed warm-up
        shutil.rmtree(report_dir, ignore_errors=True)
        wall = run_drill(argv, report_dir)
        report = checked_report(report_dir)
        label = "warm-up" if run < 0 else f"run {run + 1}/{runs}"
        say(f"  make drill {label}: {wall:.2f} s")
        if run >= 0:
            walls.append(wall)
            phases.append({str(p["name"]): float(p["seconds"]) for p in report["drills"][0].get("phases", [])})
    shutil.rmtree(report_dir, ignore_errors=True)
    return {
        "wall_s": summarize(walls),
        "seconds": walls,
        "phases_s": median_by_key(phases),
        "command": display(argv, {str(work): "$BENCH"}),
    }
