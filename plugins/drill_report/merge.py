"""Merging shard reports (`--drill-shard=K/N` on several machines) into one report with one verdict.

Drills are taken as they are (each was decided on its shard) and the verdict is decided again over all of them by
the same function as a single run's. Reports of another format or tool version are refused; a drill reported by two
shards is an error; so are shards planned from different drill sets (each report records the whole planned set, ids
and backup manifest digests: the drills that differ are named). A shard missing from a complete set (some K of N
absent), a planned drill that no shard reported, or a report that records no planned set makes the verdict
INCONCLUSIVE.
"""

from __future__ import annotations

import json
import socket
from datetime import datetime
from pathlib import Path
from typing import Any

from atlas_drills.history.prom import PROM_NAME, prometheus_textfile
from plugins.drill_report import files
from plugins.drill_report.files import HTML_NAME, JSON_NAME, MD_NAME
from plugins.drill_report.model import FORMAT, finish_report, schema_errors, versions
from plugins.drill_report.redact import Redactor
from plugins.drill_report.render_html import render_html
from plugins.drill_report.render_md import render_md


class MergeError(ValueError):
    """Shard reports that cannot be merged; the message names every offending file."""


def load_shard_report(path: Path) -> dict[str, Any]:
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise MergeError(f"{path}: no such report") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MergeError(f"{path}: not a JSON document: {exc}") from exc
    if not isinstance(report, dict) or report.get("format") != FORMAT:
        found = report.get("format") if isinstance(report, dict) else type(report).__name__
        raise MergeError(f"{path}: format {found!r}, expected {FORMAT!r}: only drill reports of this format merge")
    errors = schema_errors(report)
    if errors:
        raise MergeError(f"{path}: does not match drill-report.schema.json: {'; '.join(errors[:5])}")
    return report


def merge_reports(reports: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """One report from shard reports (name, report). Raises MergeError listing every problem at once."""
    if not reports:
        raise MergeError("no report to merge")
    problems: list[str] = []
    tools = {(r["tool"]["name"], r["tool"]["version"]) for _, r in reports}
    if len(tools) > 1:
        listed = ", ".join(f"{name}: {r['tool']['name']} {r['tool']['version']}" for name, r in reports)
        problems.append(f"reports come from different tool versions ({listed}); rerun the shards with one version")
    seen: dict[str, str] = {}
    for name, report in reports:
        for drill in report["drills"]:
            if drill["id"] in seen:
                problems.append(f"drill {drill['id']} is reported by both {seen[drill['id']]} and {name}")
            seen.setdefault(drill["id"], name)
    problems += _planned_set_conflicts(reports)
    if problems:
        raise MergeError("cannot merge: " + "; ".join(problems))
    gaps = set(_shard_gaps(reports)) | set(_unplanned_gaps(reports, seen))
    verdict_problems = sorted({p for _, r in reports for p in r["verdict"]["problems"]} | gaps)
    first = reports[0][1]
    started = min(r["run"]["started_at"] for _, r in reports)
    finished = max(r["run"]["finished_at"] for _, r in reports)
    run = {
        "id": "merged-" + "+".join(sorted(r["run"]["id"] for _, r in reports)),
        "started_at": started,
        "finished_at": finished,
        "duration_s": round((datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds(), 3),
        "trigger": first["run"]["trigger"],
        "host": first["run"]["host"] | {"name": socket.gethostname()},
        "versions": versions(),
        "seed": first["run"]["seed"],
        "workers": sum(r["run"]["workers"] for _, r in reports),
        "shard": None,
        "shards": [_shard_entry(r) for _, r in sorted(reports, key=lambda nr: _shard_key(nr[1]))],
        "planned": first["run"].get("planned"),
        "pick": first["run"].get("pick"),
        "command": ["atlas-drills", "report", "merge", *(name for name, _ in reports)],
        "pytest_exit_status": max((r["run"]["pytest_exit_status"] or 0) for _, r in reports),
    }
    gate = first["gate"]
    return finish_report(
        run,
        [drill for _, r in reports for drill in r["drills"]],
        verdict_problems,
        gate_required=any(r["gate"]["required"] for _, r in reports),
        allow_local=all(r["gate"]["allow_local"] for _, r in reports) and gate["allow_local"],
        files={"json": JSON_NAME, "markdown": MD_NAME, "html": HTML_NAME, "junit": None, "events": None},
    )


def _planned_pairs(report: dict[str, Any]) -> set[tuple[str, str]] | None:
    planned = report["run"].get("planned")
    if not planned:
        return None
    return {(d["id"], d["manifest_sha256"]) for d in planned["drills"]}


def _planned_set_conflicts(reports: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Shards planned from different drill sets (other backups, other manifests, another folder pick) split a set
    no one planned: refuse, naming each drill that is not planned alike by every report."""
    sets = [(name, pairs) for name, r in reports if (pairs := _planned_pairs(r)) is not None]
    if len({frozenset(pairs) for _, pairs in sets}) <= 1:
        return []
    union = set().union(*(pairs for _, pairs in sets))
    common = set.intersection(*(pairs for _, pairs in sets))
    found = []
    for drill_id, digest in sorted(union - common):
        holders = [name for name, pairs in sets if (drill_id, digest) in pairs]
        found.append(
            f"drill {drill_id} (manifest sha256 {digest[:12] or 'unknown'}) is planned by {', '.join(holders)} "
            "but not by the other reports"
        )
    reported = {d["id"]: name for name, r in reports for d in r["drills"]}
    for drill_id, name in sorted(reported.items()):
        own = _planned_pairs(dict(reports)[name])
        if own is not None and drill_id not in {i for i, _ in own}:
            found.append(f"drill {drill_id} is reported by {name} but not in its planned set")
    return [
        "shard reports were planned from different drill sets; rerun every shard with the same backups and options: "
        + "; ".join(found)
    ]


def _unplanned_gaps(reports: list[tuple[str, dict[str, Any]]], reported: dict[str, str]) -> list[str]:
    """Planned drills that no shard reported, and reports that record no planned set: what the merged verdict
    cannot speak for."""
    gaps = [
        f"{name} records no planned drill set: cannot tell whether every planned drill ran"
        for name, r in reports
        if not r["run"].get("planned")
    ]
    planned = {d["id"] for _, r in reports if r["run"].get("planned") for d in r["run"]["planned"]["drills"]}
    missing = sorted(planned - set(reported))
    if missing:
        gaps.append(f"planned drill(s) in no shard report: {', '.join(missing)}")
    return gaps


def _shard_key(report: dict[str, Any]) -> tuple[int, str]:
    shard = report["run"]["shard"]
    return (shard["index"] if shard else 0, report["run"]["id"])


def _shard_entry(report: dict[str, Any]) -> dict[str, Any]:
    run = report["run"]
    return {
        "run_id": run["id"],
        "shard": run["shard"],
        "started_at": run["started_at"],
        "finished_at": run["finished_at"],
        "verdict": report["verdict"]["value"],
        "drills": [d["id"] for d in report["drills"]],
        "host": run["host"]["name"],
    }


def _shard_gaps(reports: list[tuple[str, dict[str, Any]]]) -> list[str]:
    shards = [r["run"]["shard"] for _, r in reports if r["run"]["shard"]]
    counts = {s["count"] for s in shards}
    if not shards:
        return []
    if len(counts) > 1:
        return [f"shard reports split the drills differently (N = {', '.join(map(str, sorted(counts)))})"]
    count = counts.pop()
    indexes = [s["index"] for s in shards]
    gaps = [f"shard {k}/{count} is missing" for k in range(1, count + 1) if k not in indexes]
    gaps += [f"shard {k}/{count} is given twice" for k in sorted(set(indexes)) if indexes.count(k) > 1]
    return gaps


def write_merged(report: dict[str, Any], out: Path) -> Path:
    """Write the merged report (JSON, Markdown, HTML, and the Prometheus textfile a single run writes, with the
    other runs beside `out` as its history) into `out`, atomically, and return the JSON path."""
    redactor = Redactor()
    report = redactor.value(report)
    out.mkdir(parents=True, exist_ok=True)
    files.atomic_write_text(out / MD_NAME, redactor.text(render_md(report)))
    files.atomic_write_text(out / HTML_NAME, redactor.text(render_html(report)))
    written = files.atomic_write_text(out / JSON_NAME, json.dumps(report, indent=2) + "\n")
    files.atomic_write_text(out / PROM_NAME, prometheus_textfile(out.parent, out))
    return written
