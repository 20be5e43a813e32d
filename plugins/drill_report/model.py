"""The drill report's data model: check records in, one JSON document out, with every verdict computed here.

JSON is the truth (`ops/schema/drill-report.schema.json`); the Markdown and HTML renderers and the terminal summary
only read it. Verdicts:

- a check is passed, failed (an assertion or a failed finding), refused (its restore was refused), inconclusive
  (the drill could not run here), error (setup or teardown broke), skipped, crashed (its worker died) or not run;
- a criterion of a drill is `pass` when at least one check ran and all passed, `fail` when any check failed or was
  refused, `inconclusive` otherwise;
- a drill is `fail` when any criterion failed, `pass` when every criterion (all five at least) passed;
- the run is RECOVERABLE only when every drill passed, NOT RECOVERABLE when any failed, INCONCLUSIVE otherwise
  (also when there is no drill, or a run-level problem such as a missing shard).
"""

from __future__ import annotations

import platform
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from typing import Any

from atlas_drills.drill.phases import BudgetResult, check_budgets, ordered, recovery_seconds
from atlas_drills.findings import CRITERIA
from atlas_drills.schemas import problems
from plugins.drill_report.next_step import next_step

FORMAT = "atlas-drills/drill-report/1"
SCHEMA = "drill-report.schema.json"
RECOVERABLE = "RECOVERABLE"
NOT_RECOVERABLE = "NOT RECOVERABLE"
INCONCLUSIVE = "INCONCLUSIVE"
CHECK_STATUSES = ("passed", "failed", "refused", "inconclusive", "error", "skipped", "crashed", "not run")
FAILING_STATUSES = frozenset({"failed", "refused"})
UNPLACED_CRITERION = "(unplaced)"
CONTEXT_FIELDS = (
    "backup",
    "backup_kind",
    "backup_id",
    "backup_created_at",
    "backup_manifest_sha256",
    "backup_release_id",
    "expect",
    "expect_release_id",
    "target",
    "target_image",
    "target_image_id",
    "target_image_digest",
    "sandbox",
    "isolation",
    "sandbox_reason",
    "config_overrides",
)
# Context a drill carries for the recovery questions (README "The three recovery questions"); absent (None) in a
# drill that could not be set up.
QUESTION_FIELDS = ("catalog_recovery", "backup_classes", "backup_excluded", "rpo_hours")


@dataclass(frozen=True)
class CheckRecord:
    """One drill check (a test item) after all its phases, as primitives."""

    nodeid: str
    drill_id: str
    criterion: str
    name: str
    status: str = "not run"
    when: str | None = None
    duration_s: float = 0.0
    call_s: float = 0.0
    findings: tuple[dict[str, Any], ...] = ()
    context: dict[str, Any] | None = None
    outcome: dict[str, Any] | None = None
    teardowns: tuple[dict[str, Any], ...] = ()  # of any drill's restore torn down meanwhile
    message: str = ""
    log_excerpt: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "nodeid": self.nodeid,
            "name": self.name,
            "status": self.status,
            "when": self.when,
            "duration_s": round(self.duration_s, 3),
            "message": self.message,
            "findings": list(self.findings),
            "log_excerpt": self.log_excerpt,
        }


def criterion_verdict(checks: list[CheckRecord]) -> tuple[str, str]:
    """pass / fail / inconclusive for one criterion of one drill, with the reason in words."""
    if not checks:
        return "inconclusive", "no check of this criterion ran"
    counts: dict[str, int] = {}
    for check in checks:
        counts[check.status] = counts.get(check.status, 0) + 1
    summary = ", ".join(f"{counts[s]} {s}" for s in CHECK_STATUSES if s in counts)
    if any(check.status in FAILING_STATUSES for check in checks):
        return "fail", summary
    if all(check.status == "passed" for check in checks):
        return "pass", f"all {len(checks)} check(s) passed"
    return "inconclusive", summary


def _context(checks: list[CheckRecord]) -> dict[str, Any]:
    """The drill's context: the richest one recorded (most phases), first by node id, so serial and xdist agree."""
    recorded = [c.context for c in sorted(checks, key=lambda c: c.nodeid) if c.context]
    if not recorded:
        return {}
    return max(recorded, key=lambda ctx: len(ctx.get("phases") or {}))


def measured_phases(
    context: dict[str, Any], checks: list[CheckRecord], teardowns: list[dict[str, Any]]
) -> dict[str, float]:
    """Every phase of the drill's restore the context describes: its own timings, the checks' call time, and the
    teardown of that same restore (matched by its `life`)."""
    measured = {str(k): float(v) for k, v in (context.get("phases") or {}).items() if isinstance(v, int | float)}
    if any(check.call_s for check in checks):
        measured["checks"] = sum(check.call_s for check in checks)
    life = context.get("life")
    for teardown in teardowns:
        if life is not None and teardown.get("life") == life and isinstance(teardown.get("seconds"), int | float):
            measured["teardown"] = float(teardown["seconds"])
    return measured


@dataclass(frozen=True)
class PhaseTime:
    name: str
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "seconds": round(self.seconds, 3)}


@dataclass(frozen=True)
class CriterionResult:
    name: str
    verdict: str
    reason: str
    checks: tuple[CheckRecord, ...]
    next_step: str | None = None  # what the operator does next, for a failed criterion only

    def to_dict(self) -> dict[str, Any]:
        checks = [c.to_dict() for c in self.checks]
        criterion = {"name": self.name, "verdict": self.verdict, "reason": self.reason, "checks": checks}
        return {**criterion, "next_step": self.next_step}


@dataclass(frozen=True)
class DrillResult:
    """One drill of the report: its context, every criterion's verdict with its checks, phases against budgets."""

    id: str
    verdict: str
    reason: str
    context: dict[str, Any]  # CONTEXT_FIELDS, each a primitive or None
    crashed: bool
    outcome: dict[str, str] | None
    phases: tuple[PhaseTime, ...]
    budgets: tuple[BudgetResult, ...]
    criteria: tuple[CriterionResult, ...]

    @property
    def rto_s(self) -> float:
        return recovery_seconds({p.name: p.seconds for p in self.phases})

    def to_dict(self) -> dict[str, Any]:
        drill: dict[str, Any] = {"id": self.id, "verdict": self.verdict, "reason": self.reason}
        drill.update({name: self.context.get(name) for name in CONTEXT_FIELDS + QUESTION_FIELDS})
        drill.update(
            {
                "crashed": self.crashed,
                "outcome": self.outcome,
                "phases": [p.to_dict() for p in self.phases],
                "rto_s": round(self.rto_s, 3),
                "rewarm": self.context.get("rewarm"),
                "budgets": [b.to_dict() for b in self.budgets],
                "criteria": [c.to_dict() for c in self.criteria],
            }
        )
        return drill


def build_drill(
    drill_id: str,
    checks: list[CheckRecord],
    teardowns: Sequence[dict[str, Any]] = (),
    artefacts: Sequence[str] = (),
) -> DrillResult:
    """One drill from its check records (and the teardowns of its restores, and the files saved about it under the
    report folder, which a failed criterion's next step may name)."""
    checks = sorted(checks, key=lambda c: c.nodeid)
    context = _context(checks)
    outcomes = sorted(
        ({"kind": str(c.outcome.get("kind")), "reason": str(c.outcome.get("reason", ""))} for c in checks if c.outcome),
        key=lambda o: (o["kind"] != "refused", o["reason"]),
    )
    names = list(CRITERIA) + sorted({c.criterion for c in checks} - set(CRITERIA))
    criteria = []
    for name in names:
        mine = tuple(c for c in checks if c.criterion == name)
        verdict, reason = criterion_verdict(list(mine))
        step = None
        if verdict == "fail":
            step = next_step(
                name,
                [c.to_dict() for c in mine],
                backup=context.get("backup"),
                outcome=outcomes[0] if outcomes else None,
                artefacts=artefacts,
            )
        criteria.append(CriterionResult(name, verdict, reason, mine, step))
    failed = [c.name for c in criteria if c.verdict == "fail"]
    open_ = [c.name for c in criteria if c.verdict == "inconclusive"]
    if failed:
        verdict, reason = "fail", f"failed: {', '.join(failed)}"
    elif open_:
        verdict, reason = "inconclusive", f"not proven: {', '.join(open_)}"
    else:
        verdict, reason = "pass", "every criterion passed"
    torn_down = [t for t in teardowns if t.get("drill") == drill_id]
    measured = measured_phases(context, checks, torn_down)
    # The rewarm of the restore the context describes: reported beside the recovery time, never in a verdict.
    rewarmed = next((t["rewarm"] for t in torn_down if t.get("life") == context.get("life") and t.get("rewarm")), None)
    budgets = {k: float(v) for k, v in (context.get("budgets") or {}).items() if isinstance(v, int | float)}
    return DrillResult(
        id=drill_id,
        verdict=verdict,
        reason=reason,
        context={name: context.get(name) for name in CONTEXT_FIELDS + QUESTION_FIELDS} | {"rewarm": rewarmed},
        crashed=any(c.status == "crashed" for c in checks),
        outcome=outcomes[0] if outcomes else None,
        phases=tuple(PhaseTime(name, seconds) for name, seconds in ordered(measured)),
        budgets=tuple(check_budgets(measured, budgets)),
        criteria=tuple(criteria),
    )


def run_verdict(drills: list[dict[str, Any]], problems: list[str]) -> tuple[str, str]:
    if not drills:
        return INCONCLUSIVE, "no drill ran"
    failed = [d["id"] for d in drills if d["verdict"] == "fail"]
    if failed:
        return NOT_RECOVERABLE, f"{len(failed)} of {len(drills)} drill(s) failed: {', '.join(failed)}"
    open_ = [d["id"] for d in drills if d["verdict"] != "pass"]
    if open_:
        return INCONCLUSIVE, f"{len(open_)} of {len(drills)} drill(s) not proven: {', '.join(open_)}"
    if problems:
        return INCONCLUSIVE, "; ".join(problems)
    return RECOVERABLE, f"all {len(drills)} drill(s) passed every criterion"


@dataclass(frozen=True)
class GateResult:
    """What a release gate decided about a run."""

    required: bool
    allow_local: bool
    passed: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def gate_result(verdict: str, drills: list[dict[str, Any]], *, required: bool, allow_local: bool) -> GateResult:
    """A release gate passes only on RECOVERABLE with container isolation (or local processes, when allowed)."""
    accepted = {"container", "process"} if allow_local else {"container"}
    weak = sorted({str(d.get("isolation")) for d in drills if d.get("isolation") not in accepted})
    if verdict != RECOVERABLE:
        passed, reason = False, f"the run is {verdict}, not {RECOVERABLE}"
    elif weak:
        passed, reason = False, f"isolation {', '.join(weak)} is not accepted (container required; --drill-allow-local)"
    else:
        passed, reason = True, f"{RECOVERABLE} with isolation {', '.join(sorted(accepted & _isolations(drills)))}"
    return GateResult(required, allow_local, passed, reason)


def _isolations(drills: list[dict[str, Any]]) -> set[str]:
    return {str(d["isolation"]) for d in drills if d.get("isolation")}


def _distinct(drills: list[dict[str, Any]], name: str) -> list[str]:
    return sorted({str(d[name]) for d in drills if d.get(name)})


def images(drills: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen = {
        (d.get("target_image"), d.get("target_image_id"), d.get("target_image_digest"))
        for d in drills
        if d.get("target_image")
    }
    return [{"image": i, "id": n, "digest": g} for i, n, g in sorted(seen, key=lambda t: tuple(map(str, t)))]


def finish_report(
    run: dict[str, Any],
    drills: list[dict[str, Any]],
    problems: list[str],
    *,
    gate_required: bool,
    allow_local: bool,
    files: dict[str, str | None],
) -> dict[str, Any]:
    """The complete report from the run facts and the drills: the only place the run verdict is decided."""
    drills = sorted(drills, key=lambda d: d["id"])
    verdict, reason = run_verdict(drills, problems)
    counts = {v: sum(1 for d in drills if d["verdict"] == v) for v in ("pass", "fail", "inconclusive")}
    run = {**run, "images": images(drills)}
    from plugins.drill_report.questions import recovery_questions

    return {
        "format": FORMAT,
        "recovery_questions": recovery_questions(drills, at=run.get("finished_at") or run.get("started_at")),
        "tool": tool_info(),
        "run": run,
        "verdict": {
            "value": verdict,
            "reason": reason,
            "valid_for": {
                "backup_manifest_sha256": _distinct(drills, "backup_manifest_sha256"),
                "expect_release_ids": _distinct(drills, "expect_release_id"),
                "target_images": _distinct(drills, "target_image"),
            },
            "isolation": sorted(_isolations(drills)),
            "problems": problems,
            "counts": {"drills": len(drills), **counts},
        },
        "gate": gate_result(verdict, drills, required=gate_required, allow_local=allow_local).to_dict(),
        "drills": drills,
        "files": files,
    }


VERSIONED = ("pytest", "pluggy", "pytest-xdist", "jsonschema", "docker", "testcontainers", "requests", "zstandard")


def versions() -> dict[str, str]:
    """Python's and every installed dependency's version that a report's reader may need to weigh it."""
    found = {"python": platform.python_version()}
    for name in ("atlas-drills", *VERSIONED):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def tool_info() -> dict[str, str]:
    from atlas_drills import __version__

    return {"name": "atlas-drills", "version": __version__}


def schema_errors(report: dict[str, Any]) -> list[str]:
    """Every way `report` breaks `ops/schema/drill-report.schema.json`, as `field: message` (empty when valid)."""
    return problems(report, SCHEMA)
