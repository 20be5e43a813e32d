"""The history of a report folder as one document: every run with its verdict, each drill's time to recover over
the runs, and the last success of every backup on every target. Pure functions of run summaries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from atlas_drills.history.runs import RunSummary, epoch

HISTORY_FORMAT = "atlas-drills/drill-history/1"


def build_history(runs: list[RunSummary]) -> dict[str, Any]:
    """Runs oldest first; per drill, its time to recover in each run it took part in; per backup and target, the
    last run in which that drill passed (None when it never did)."""
    rows = []
    series: dict[str, list[dict[str, Any]]] = {}
    last_success: dict[tuple[str, str], dict[str, Any]] = {}
    for run in runs:
        rows.append(
            {
                "run_id": run.run_id,
                "path": run.path,
                "started_at": run.started_at,
                "finished_at": run.finished_at,
                "trigger": run.trigger,
                "verdict": run.verdict,
                "reason": run.reason,
                "drills": {drill.id: drill.verdict for drill in run.drills},
            }
        )
        for drill in run.drills:
            series.setdefault(drill.id, []).append(
                {"run_id": run.run_id, "finished_at": run.finished_at, "rto_s": drill.rto_s, "verdict": drill.verdict}
            )
            # The drill id is the backup's URI: stable across runs, where the sample's file path is not.
            key = (drill.id, drill.target)
            entry = last_success.setdefault(key, {"backup": drill.id, "target": drill.target, "last_success": None})
            entry["last_run_at"] = run.finished_at
            entry["last_verdict"] = drill.verdict
            if drill.verdict == "pass":  # runs come oldest first: a later pass replaces an earlier one
                entry["last_success"] = {
                    "run_id": run.run_id,
                    "finished_at": run.finished_at,
                    "release_id": drill.backup_release_id,
                    "manifest_sha256": drill.backup_manifest_sha256,
                    "target_image": drill.target_image,
                    "rto_s": drill.rto_s,
                }
    return {
        "format": HISTORY_FORMAT,
        "runs": rows,
        "time_to_recover": dict(sorted(series.items())),
        "last_success": [last_success[key] for key in sorted(last_success)],
        "counts": {
            verdict: sum(1 for run in runs if run.verdict == verdict)
            for verdict in ("RECOVERABLE", "NOT RECOVERABLE", "INCONCLUSIVE", "UNREADABLE")
        },
    }


def short_time(timestamp: str) -> str:
    """`2026-11-27T17:39:50.123174+00:00` as `2026-11-27T17:39:50Z` (UTC, to the second), or `-`."""
    moment = epoch(timestamp)
    if moment is None:
        return timestamp or "-"
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}s"


def render_text(history: dict[str, Any]) -> str:
    """The history for a terminal: one line per run (oldest first), then the last success per backup and target."""
    runs = history["runs"]
    drills = sorted({drill for run in runs for drill in run["drills"]})
    lines = [f"{len(runs)} run(s): " + ", ".join(f"{n} {v}" for v, n in history["counts"].items() if n)]
    lines.append("")
    lines.append(f"{'finished':21} {'run':26} {'verdict':16} time to recover per drill")
    for run in runs:
        per_drill = []
        for drill in drills:
            point = next((p for p in history["time_to_recover"][drill] if p["run_id"] == run["run_id"]), None)
            if point is not None:
                per_drill.append(f"{drill} {point['verdict']} {_seconds(point['rto_s'])}")
        detail = "; ".join(per_drill) or run["reason"]
        lines.append(f"{short_time(run['finished_at']):21} {run['run_id'][:26] or '-':26} {run['verdict']:16} {detail}")
    lines.append("")
    lines.append("last success per backup and target:")
    for entry in history["last_success"]:
        success = entry["last_success"]
        when = (
            f"{short_time(success['finished_at'])} (run {success['run_id']}, release {success['release_id']}, "
            f"time to recover {_seconds(success['rto_s'])})"
            if success
            else "NEVER"
        )
        lines.append(f"  {entry['backup']} on {entry['target']}: {when}; last run {entry['last_verdict']}")
    return "\n".join(lines) + "\n"
