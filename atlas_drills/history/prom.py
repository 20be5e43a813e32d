"""`drill-report.prom`: the last run in Prometheus text exposition format (version 0.0.4), for node_exporter's
textfile collector, so an alert can fire on "no successful drill for 26 hours" or on a time to recover that grows.

Gauges, all prefixed `atlas_drills_`:

| metric | labels | value |
|---|---|---|
| `last_run_timestamp_seconds` | | when the last run finished (Unix time) |
| `last_success_timestamp_seconds` | | when the last RECOVERABLE run finished; 0 when none is on record |
| `run_verdict` | `verdict` | 1 for the last run's verdict, 0 for the others |
| `drill_verdict` | `drill`, `target`, `verdict` | 1 for each drill's verdict in the last run, 0 for the others |
| `drill_time_to_recover_seconds` | `drill`, `target` | its measured time to recover (absent when not measured) |
| `drill_last_run_timestamp_seconds` | `drill`, `target` | when the last run with this drill finished |
| `drill_last_success_timestamp_seconds` | `drill`, `target` | when this drill last passed; 0 when it never did |

"Last success" looks back over the runs in the report folder, newest first, and stops as soon as every answer is
known, so a folder of many runs costs only as many reads as it takes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from atlas_drills.history.runs import LATEST, REPORT_NAME, RunSummary, read_run

PREFIX = "atlas_drills_"
RUN_VERDICTS = ("RECOVERABLE", "NOT RECOVERABLE", "INCONCLUSIVE")
DRILL_VERDICTS = ("pass", "fail", "inconclusive")
PROM_NAME = "drill-report.prom"


def _label(value: str) -> str:
    """A label value escaped as the exposition format requires: backslash, double quote and line feed."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{name}="{_label(value)}"' for name, value in labels.items()) + "}" if labels else ""


def _number(value: float) -> str:
    return repr(float(value))


class _Metrics:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, help_text: str, samples: Iterable[tuple[dict[str, str], float]]) -> None:
        samples = list(samples)
        if not samples:
            return
        self.lines.append(f"# HELP {PREFIX}{name} {help_text}")
        self.lines.append(f"# TYPE {PREFIX}{name} gauge")
        self.lines.extend(f"{PREFIX}{name}{_labels(**labels)} {_number(value)}" for labels, value in samples)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def render_prom(current: RunSummary, earlier: Iterable[RunSummary]) -> str:
    """The textfile for `current`, with last successes found in `current` or else in `earlier` (newest first)."""
    finished = current.finished_epoch or 0.0
    drills = {(d.id, d.target): d for d in current.drills}
    drill_success: dict[tuple[str, str], float] = {
        key: finished for key, drill in drills.items() if drill.verdict == "pass"
    }
    run_success = finished if current.verdict == "RECOVERABLE" else None
    older = iter(earlier)
    # Stop as soon as every answer is known (before reading another run): older runs cannot change any of them.
    while run_success is None or len(drill_success) < len(drills):
        run = next(older, None)
        if run is None:
            break
        moment = run.finished_epoch
        if moment is None:
            continue
        if run_success is None and run.verdict == "RECOVERABLE":
            run_success = moment
        for drill in run.drills:
            key = (drill.id, drill.target)
            if key in drills and key not in drill_success and drill.verdict == "pass":
                drill_success[key] = moment
    metrics = _Metrics()
    metrics.family("last_run_timestamp_seconds", "When the last drill run finished (Unix time).", [({}, finished)])
    metrics.family(
        "last_success_timestamp_seconds",
        "When the last RECOVERABLE drill run finished (Unix time); 0 when none is on record.",
        [({}, run_success or 0.0)],
    )
    metrics.family(
        "run_verdict",
        "The last run's verdict: 1 for the verdict it had, 0 for the others.",
        [({"verdict": verdict}, 1.0 if current.verdict == verdict else 0.0) for verdict in RUN_VERDICTS],
    )
    keys = sorted(drills)
    metrics.family(
        "drill_verdict",
        "Each drill's verdict in the last run: 1 for the verdict it had, 0 for the others.",
        [
            ({"drill": d, "target": t, "verdict": v}, 1.0 if drills[d, t].verdict == v else 0.0)
            for d, t in keys
            for v in DRILL_VERDICTS
        ],
    )
    metrics.family(
        "drill_time_to_recover_seconds",
        "The drill's measured time to recover in the last run (every timed phase).",
        [({"drill": d, "target": t}, rto) for d, t in keys if (rto := drills[d, t].rto_s) is not None],
    )
    metrics.family(
        "drill_last_run_timestamp_seconds",
        "When the last run with this drill finished (Unix time).",
        [({"drill": d, "target": t}, finished) for d, t in keys],
    )
    metrics.family(
        "drill_last_success_timestamp_seconds",
        "When this drill last passed (Unix time); 0 when it never did.",
        [({"drill": d, "target": t}, drill_success.get((d, t), 0.0)) for d, t in keys],
    )
    return metrics.text()


def earlier_runs(report_dir: Path, current_run_id: str) -> Iterator[RunSummary]:
    """The other runs of the folder, newest first, read one at a time as they are asked for. Run ids begin with
    their start time (`YYYYmmddTHHMMSSZ-...`), so names sort by time."""
    for child in sorted(report_dir.iterdir(), reverse=True) if report_dir.is_dir() else []:
        if child.name in (LATEST, current_run_id) or child.name.startswith(".") or child.is_symlink():
            continue
        if (child / REPORT_NAME).is_file():
            yield read_run(child / REPORT_NAME)


def prometheus_textfile(report_dir: Path, run_folder: Path) -> str:
    """The textfile for the run written in `run_folder` (its drill-report.json already in place)."""
    return render_prom(read_run(run_folder / REPORT_NAME), earlier_runs(report_dir, run_folder.name))
