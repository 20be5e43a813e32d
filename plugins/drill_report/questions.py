"""The three questions Atlas's recovery page asks operators to answer before an incident, answered per drill from the
report's own facts (a pure function of the drills, like every verdict of the report):

- **authoritative_backup**: where is the authoritative backup of the serving store? Where it is, its digest, when
  it was made and its age against the recovery point objective, what it holds by class, what it left out and why;
- **catalog_integrity**: how is catalog integrity preserved or rebuilt? Restored or rebuilt (from which datasets,
  in how long, epoch matched or not), and the checks that proved it;
- **ready_to_serve**: what checks prove the recovered instance is ready to serve again? Every check of the
  readiness, query paths and release identity criteria, each with its verdict.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

READY_CRITERIA = ("readiness", "query paths", "release identity")
CATALOG_CHECK = "test_the_catalog_is_restored_or_rebuilt_to_the_expected_epoch"
VERDICT_OF_STATUS = {"passed": "pass", "failed": "fail", "refused": "fail"}


def _age_hours(created: Any, at: Any) -> float | None:
    try:
        made = datetime.fromisoformat(str(created).replace("Z", "+00:00"))
        now = datetime.fromisoformat(str(at).replace("Z", "+00:00"))
    except ValueError:
        return None
    if made.tzinfo is None or now.tzinfo is None:
        return None
    return round((now - made).total_seconds() / 3600, 2)


def authoritative_backup(drill: dict[str, Any], at: Any) -> dict[str, Any]:
    age = _age_hours(drill.get("backup_created_at"), at)
    rpo = drill.get("rpo_hours")
    return {
        "where": drill.get("backup"),
        "kind": drill.get("backup_kind"),
        "backup_id": drill.get("backup_id"),
        "manifest_sha256": drill.get("backup_manifest_sha256"),
        "created_at": drill.get("backup_created_at"),
        "age_hours": age,
        "rpo_hours": rpo,
        "within_rpo": None if age is None or rpo is None else 0 <= age <= float(rpo),
        "release_id": drill.get("backup_release_id"),
        "holds": drill.get("backup_classes"),
        "left_out": drill.get("backup_excluded"),
    }


def _how(recovery: dict[str, Any]) -> str:
    if recovery["action"] == "rebuilt":
        matched = {True: "epoch matched", False: "epoch DID NOT match", None: "no expected epoch to match"}
        return (
            f"rebuilt (mode {recovery['mode']}) from {len(recovery['datasets'])} sealed dataset(s) in "
            f"{recovery['seconds']:.3f} s, {len(recovery['left_out'])} left out; "
            f"{matched[recovery['epoch_matched']]} ({recovery['expected_source']})"
            + (f"; why: {recovery['problem']}" if recovery.get("problem") else "")
        )
    state = "sound" if not recovery.get("problem") else f"NOT sound: {recovery['problem']}"
    return f"restored from the backup (mode {recovery['mode']}), {state}"


def _checks(drill: dict[str, Any], criteria: tuple[str, ...], only: str | None = None) -> list[dict[str, Any]]:
    found = []
    for criterion in drill.get("criteria", []):
        if criterion["name"] not in criteria:
            continue
        for check in criterion["checks"]:
            if only is None or check["name"].startswith(only):
                verdict = VERDICT_OF_STATUS.get(check["status"], "inconclusive")
                found.append({"criterion": criterion["name"], "name": check["name"], "verdict": verdict})
    return found


def catalog_integrity(drill: dict[str, Any]) -> dict[str, Any]:
    recovery = drill.get("catalog_recovery")
    drill_check = _checks(drill, ("rollback policy",), only=CATALOG_CHECK)
    if not recovery:
        return {"how": "not known: the drill did not restore", "action": None, "checks": drill_check}
    checks = [{"criterion": "rollback policy", **c} for c in recovery["checks"]]
    return {
        "how": _how(recovery),
        "action": recovery["action"],
        "mode": recovery["mode"],
        "from_datasets": recovery["datasets"],
        "left_out": recovery["left_out"],
        "seconds": recovery["seconds"],
        "epoch": recovery["epoch"],
        "expected_epoch": recovery["expected_epoch"],
        "expected_source": recovery["expected_source"],
        "epoch_matched": recovery["epoch_matched"],
        "differing": recovery["differing"],
        "checks": checks + drill_check,
    }


def ready_to_serve(drill: dict[str, Any]) -> dict[str, Any]:
    checks = _checks(drill, READY_CRITERIA)
    verdicts = {c["verdict"] for c in checks}
    answer = "fail" if "fail" in verdicts else ("pass" if checks and verdicts == {"pass"} else "inconclusive")
    return {"verdict": answer, "checks": checks}


def recovery_questions(drills: list[dict[str, Any]], at: Any = None) -> dict[str, Any]:
    """The three answers for every drill, in drill order."""
    return {
        "drills": [
            {
                "drill": drill["id"],
                "authoritative_backup": authoritative_backup(drill, at),
                "catalog_integrity": catalog_integrity(drill),
                "ready_to_serve": ready_to_serve(drill),
            }
            for drill in drills
        ]
    }


QUESTIONS = {
    "authoritative_backup": "Where is the authoritative backup of the serving store?",
    "catalog_integrity": "How is catalog integrity preserved or rebuilt?",
    "ready_to_serve": "What checks prove the recovered instance is ready to serve again?",
}


def _mib(size: Any) -> str:
    return f"{(size or 0) / (1 << 20):.1f} MiB"


def answer_lines(answers: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    """Each question of one drill as (question, answer in one line, supporting lines): what Markdown and HTML show."""
    backup = answers["authoritative_backup"]
    rpo = backup["within_rpo"]
    age = (
        f"{backup['age_hours']} h old against an RPO of {backup['rpo_hours']} h "
        f"({'within' if rpo else 'NOT within' if rpo is False else 'not known'})"
    )
    holds = [
        f"{name}: {entry['files']} file(s), {_mib(entry['bytes'])} ({', '.join(entry['folders']) or 'nothing'})"
        for name, entry in (backup["holds"] or {}).items()
    ]
    left = [
        f"left out `{e.get('pattern')}` ({e.get('matched')} matched): {e.get('reason')}"
        for e in backup["left_out"] or []
    ]
    catalog = answers["catalog_integrity"]
    ready = answers["ready_to_serve"]
    return [
        (
            QUESTIONS["authoritative_backup"],
            f"{backup['where']} (manifest sha256 {backup['manifest_sha256']}), created {backup['created_at']}, {age}",
            holds + left,
        ),
        (
            QUESTIONS["catalog_integrity"],
            catalog["how"],
            [f"{c['verdict']}: {c['name']}" for c in catalog["checks"]]
            + [f"differs: {d}" for d in catalog.get("differing") or []],
        ),
        (
            QUESTIONS["ready_to_serve"],
            f"{ready['verdict']} ({sum(c['verdict'] == 'pass' for c in ready['checks'])} of {len(ready['checks'])} "
            "checks passed)",
            [f"{c['verdict']}: [{c['criterion']}] {c['name']}" for c in ready["checks"]],
        ),
    ]
