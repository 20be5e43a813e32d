"""The three recovery questions: answered in every report, from the drill's own facts, and able to say no."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from atlas_drills.findings import CRITERIA
from plugins.drill_report.model import CheckRecord, build_drill, finish_report, schema_errors
from plugins.drill_report.questions import recovery_questions
from plugins.drill_report.render_html import render_html
from plugins.drill_report.render_md import render_md

DRILL = "sample://current"
STARTED = "2026-11-21T06:00:00Z"


def _recovery(action: str = "restored", matched: bool | None = True) -> dict[str, Any]:
    return {
        "mode": "restore" if action == "restored" else "rebuild-if-lost",
        "action": action,
        "problem": None if action == "restored" else "store/catalog.json is missing (lost)",
        "seconds": 0.012,
        "expected_epoch": "a" * 64,
        "expected_source": "expectation store/catalog.json",
        "epoch": "a" * 64 if matched else "b" * 64,
        "epoch_matched": matched,
        "datasets": ["110/homo_sapiens/GRCh38", "112/homo_sapiens/GRCh38"],
        "left_out": [] if matched else [{"dataset": "111/homo_sapiens/GRCh38", "state": "quarantined", "reasons": []}],
        "differing": [] if matched else ["111/homo_sapiens/GRCh38 expected, not in the catalog (quarantined: x)"],
        "checks": [{"name": "catalog epoch equals the expected release's", "verdict": "pass" if matched else "fail",
                    "expected": "a" * 64, "observed": "a" * 64}],
    }  # fmt: skip


def _drill(
    *, failing: str | None = None, created: str = "2026-11-21T00:00:00Z", recovery: Any = None
) -> dict[str, Any]:
    checks = []
    for criterion in CRITERIA:
        module = criterion.replace(" ", "_")
        checks.append(
            CheckRecord(
                f"drills/test_{module}.py::test_x[{DRILL}]", DRILL, criterion, "test_x",
                status="failed" if criterion == failing else "passed",
            )
        )  # fmt: skip
    checks[0] = replace(checks[0], context={
        "backup": "file:///backups/b.tar.zst", "backup_kind": "tar.zst", "backup_id": "b1",
        "backup_created_at": created, "backup_manifest_sha256": "c" * 64, "backup_release_id": "112",
        "phases": {"fetch": 1.0}, "rpo_hours": 26.0, "catalog_recovery": recovery or _recovery(),
        "backup_classes": {"durable": {"files": 3, "bytes": 2048, "folders": ["store", "ops"]},
                           "reconstructable": {"files": 1, "bytes": 10, "folders": ["baseline"]},
                           "disposable": {"files": 0, "bytes": 0, "folders": []}},
        "backup_excluded": [{"pattern": "cache/**", "reason": "disposable: caches are never backed up", "matched": 0}],
    })  # fmt: skip
    return build_drill(DRILL, checks).to_dict()


def _answers(drill: dict[str, Any]) -> dict[str, Any]:
    [answers] = recovery_questions([drill], at=STARTED)["drills"]
    assert isinstance(answers, dict)
    return answers


def test_a_good_drill_answers_all_three_questions() -> None:
    answers = _answers(_drill())
    backup = answers["authoritative_backup"]
    assert (backup["where"], backup["manifest_sha256"], backup["age_hours"], backup["within_rpo"]) == (
        "file:///backups/b.tar.zst", "c" * 64, 6.0, True,
    )  # fmt: skip
    assert backup["holds"]["durable"]["folders"] == ["store", "ops"]
    assert backup["left_out"][0]["reason"].startswith("disposable")
    assert answers["catalog_integrity"]["action"] == "restored"
    assert answers["ready_to_serve"]["verdict"] == "pass"
    assert {c["criterion"] for c in answers["ready_to_serve"]["checks"]} == {
        "readiness",
        "query paths",
        "release identity",
    }


def test_a_stale_backup_is_not_within_the_rpo() -> None:
    assert _answers(_drill(created="2026-10-01T00:00:00Z"))["authoritative_backup"]["within_rpo"] is False


@pytest.mark.parametrize("failing", ["readiness", "query paths", "release identity"])
def test_a_failed_serving_check_answers_not_ready(failing: str) -> None:
    ready = _answers(_drill(failing=failing))["ready_to_serve"]
    assert ready["verdict"] == "fail"
    assert [c["name"] for c in ready["checks"] if c["verdict"] == "fail"] == ["test_x"]


def test_a_rebuilt_catalog_says_from_what_in_how_long_and_whether_the_epoch_matched() -> None:
    matched = _answers(_drill(recovery=_recovery("rebuilt", matched=True)))["catalog_integrity"]
    assert matched["how"].startswith("rebuilt (mode rebuild-if-lost) from 2 sealed dataset(s) in 0.012 s")
    assert "epoch matched" in matched["how"]
    broken = _answers(_drill(recovery=_recovery("rebuilt", matched=False)))["catalog_integrity"]
    assert "epoch DID NOT match" in broken["how"]
    assert broken["differing"] == ["111/homo_sapiens/GRCh38 expected, not in the catalog (quarantined: x)"]
    assert [c["verdict"] for c in broken["checks"]] == ["fail"]


def test_every_report_carries_the_answers_first_and_valid_and_renders_them() -> None:
    run = {"id": "r", "trigger": "manual", "host": {"name": "h", "platform": "p", "python": "3"},
           "started_at": STARTED, "finished_at": STARTED, "seed": 1, "versions": {"python": "3"}, "duration_s": 0,
           "workers": 0, "pytest_exit_status": 0}  # fmt: skip
    report = finish_report(run, [_drill()], [], gate_required=False, allow_local=False, files={})
    assert list(report)[:2] == ["format", "recovery_questions"]
    errors = [e for e in schema_errors(report) if "recovery_questions" in e or "drills" in e]
    assert errors == []
    md, html = render_md(report), render_html(report)
    assert md.index("## Recovery questions") < md.index("## Files")
    assert "Where is the authoritative backup of the serving store?" in md
    assert 'id="recovery-questions"' in html
    assert html.index('id="recovery-questions"') < html.index('id="matrix"')


def test_a_failed_rewarm_is_reported_beside_the_rto_and_changes_no_verdict() -> None:
    checks = []
    for criterion in CRITERIA:
        record = CheckRecord(f"drills/test_{criterion.replace(' ', '_')}.py::test_x[{DRILL}]", DRILL, criterion,
                             "test_x", status="passed")  # fmt: skip
        checks.append(record)
    checks[0] = replace(checks[0], context={"life": "gw0/drill-0", "phases": {"fetch": 1.0, "ready": 2.0}})
    failure = "110/h/G gene: GET /v1/genes answered 503"
    rewarm = {"ready_s": 0.5, "warm_s": 9.0, "datasets": [], "queries": 3, "failures": [failure]}
    teardown = {"drill": DRILL, "life": "gw0/drill-0", "seconds": 0.1, "rewarm": rewarm}
    drill = build_drill(DRILL, checks, [teardown]).to_dict()
    assert drill["verdict"] == "pass"
    assert drill["rewarm"] == rewarm
    assert drill["rto_s"] == 3.0  # the rewarm's 9.5 s are no part of it
    md = render_md(_minimal_report(drill))
    assert "time to warm 9.00 s" in md
    assert "GET /v1/genes answered 503" in md


def _minimal_report(drill: dict[str, Any]) -> dict[str, Any]:
    run = {"id": "r", "trigger": "manual", "host": {"name": "h", "platform": "p", "python": "3"},
           "started_at": STARTED, "finished_at": STARTED, "seed": 1, "versions": {"python": "3"}, "duration_s": 0,
           "workers": 0, "pytest_exit_status": 0}  # fmt: skip
    return finish_report(run, [drill], [], gate_required=False, allow_local=False, files={})
