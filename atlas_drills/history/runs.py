"""The runs under a report folder, each reduced to what a history needs, oldest first.

A report folder holds `<run-id>/drill-report.json` per run (and `latest`, a link to one of them; merged reports
written with `report merge --out DIR` are runs too). A report that cannot be read is listed as unreadable with the
reason, never skipped silently and never fatal: one damaged run must not hide the others.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

REPORT_NAME = "drill-report.json"
REPORT_FORMAT = "atlas-drills/drill-report/1"
LATEST = "latest"


@dataclass(frozen=True)
class DrillRun:
    """One drill of one run."""

    id: str
    verdict: str  # pass | fail | inconclusive
    rto_s: float | None
    backup: str
    backup_release_id: str | None
    backup_manifest_sha256: str | None
    target: str
    target_image: str | None


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    path: str
    started_at: str
    finished_at: str
    verdict: str  # RECOVERABLE | NOT RECOVERABLE | INCONCLUSIVE | UNREADABLE
    reason: str
    trigger: str = ""
    drills: tuple[DrillRun, ...] = field(default_factory=tuple)

    @property
    def finished_epoch(self) -> float | None:
        return epoch(self.finished_at)


def epoch(timestamp: str) -> float | None:
    """Seconds since the epoch of an ISO 8601 time with an offset (`...Z` or `+00:00`), None when unparsable."""
    try:
        moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    return None if moment.tzinfo is None else moment.timestamp()


def _text(value: Any, default: str = "") -> str:
    return value if isinstance(value, str) else default


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def summarize(report: Any, path: str) -> RunSummary:
    """One report document as a run summary; anything not shaped like a drill report is UNREADABLE."""
    if not isinstance(report, dict) or report.get("format") != REPORT_FORMAT:
        observed = report.get("format") if isinstance(report, dict) else type(report).__name__
        return RunSummary("", path, "", "", "UNREADABLE", f"format {observed!r}, expected {REPORT_FORMAT!r}")
    run = _mapping(report.get("run"))
    verdict = _mapping(report.get("verdict"))
    drills = []
    for drill in report.get("drills") or []:
        if not isinstance(drill, dict) or not isinstance(drill.get("id"), str):
            continue
        rto = drill.get("rto_s")
        drills.append(
            DrillRun(
                id=drill["id"],
                verdict=_text(drill.get("verdict"), "inconclusive"),
                rto_s=float(rto) if isinstance(rto, int | float) and drill.get("phases") else None,
                backup=_text(drill.get("backup"), drill["id"]),
                backup_release_id=drill.get("backup_release_id")
                if isinstance(drill.get("backup_release_id"), str)
                else None,
                backup_manifest_sha256=_text(drill.get("backup_manifest_sha256")) or None,
                target=_text(drill.get("target"), "?"),
                target_image=_text(drill.get("target_image")) or None,
            )
        )
    return RunSummary(
        run_id=_text(run.get("id"), Path(path).parent.name),
        path=path,
        started_at=_text(run.get("started_at")),
        finished_at=_text(run.get("finished_at")),
        verdict=_text(verdict.get("value"), "UNREADABLE"),
        reason=_text(verdict.get("reason")),
        trigger=_text(run.get("trigger")),
        drills=tuple(sorted(drills, key=lambda d: d.id)),
    )


def read_run(path: Path) -> RunSummary:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return RunSummary("", str(path), "", "", "UNREADABLE", f"{type(exc).__name__}: {exc}")
    return summarize(document, str(path))


def report_paths(folder: Path) -> list[Path]:
    """Every run's report directly under `folder` (and `folder`'s own, when it is a run), `latest` left out: it
    is one of the others."""
    found = [folder / REPORT_NAME] if (folder / REPORT_NAME).is_file() else []
    for child in sorted(folder.iterdir()):
        if child.name == LATEST or child.name.startswith(".") or child.is_symlink() or not child.is_dir():
            continue
        if (child / REPORT_NAME).is_file():
            found.append(child / REPORT_NAME)
    return found


def order(runs: list[RunSummary]) -> list[RunSummary]:
    """Oldest first by start time (unreadable ones, which have none, first), one entry per run id."""
    unique: dict[str, RunSummary] = {}
    for run in runs:
        unique.setdefault(run.run_id or run.path, run)
    return sorted(unique.values(), key=lambda r: (epoch(r.started_at) or 0.0, r.run_id, r.path))


def load_runs(folder: Path) -> list[RunSummary]:
    return order([read_run(path) for path in report_paths(folder)])
