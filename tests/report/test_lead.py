"""Reports lead with the failure: paths relative to the backup, a next step per failed criterion, failed findings
before passing ones (which are only counted), and a JUnit failure message that starts with its first cause."""

from __future__ import annotations

from typing import Any

import pytest

from atlas_drills.findings import CONTEXT_PROPERTY, CRITERIA, FINDING_PROPERTY
from plugins.drill_report.collect import backup_relative, relative_to_backup
from plugins.drill_report.junit import PASSED_PROPERTY, compact_properties, first_cause, lead_with_cause
from plugins.drill_report.model import CheckRecord, build_drill, finish_report, schema_errors
from plugins.drill_report.render_html import render_html
from plugins.drill_report.render_md import render_md

STAGING = "/tmp/pytest-of-root/pytest-7/drill-sample0/staging"  # noqa: S108 - a path as a drill records it
DRILL = "file:///backups/bad.tar.zst"
FILES: dict[str, str | None] = {
    "json": "drill-report.json",
    "markdown": "drill-report.md",
    "html": "drill-report.html",
    "junit": "junit.xml",
    "events": "events.jsonl",
}


def finding(
    criterion: str, check: str, ok: bool, where: str, *, expected: Any = 1, observed: Any = 1
) -> dict[str, Any]:
    verdict = "pass" if ok else "fail"
    return {
        "criterion": criterion,
        "check": check,
        "verdict": verdict,
        "expected": expected,
        "observed": observed,
        "where": where,
        "message": "",
    }


def record(criterion: str, name: str, findings: list[dict[str, Any]], status: str = "passed") -> CheckRecord:
    nodeid = f"drills/test_{criterion.replace(' ', '_')}.py::{name}[{DRILL}]"
    context = {"backup": "/backups/bad.tar.zst", "staging": STAGING, "phases": {}}
    return CheckRecord(nodeid, DRILL, criterion, name, status=status, findings=tuple(findings), context=context)


def test_a_staging_path_becomes_relative_to_the_backup_and_other_paths_stay() -> None:
    assert backup_relative(f"{STAGING}/store/catalog.json", STAGING) == "store/catalog.json"
    assert backup_relative(f"cannot open {STAGING}", STAGING) == "cannot open ."
    assert backup_relative({"a": [f"{STAGING}/config/atlas.env"]}, STAGING) == {"a": ["config/atlas.env"]}
    # Not under this drill's staging folder (another drill's, or a kept tree): left as it is.
    other = "/tmp/pytest-of-root/pytest-7/drill-sample1/staging/store/x"  # noqa: S108
    assert backup_relative(other, STAGING) == other
    assert backup_relative(f"{STAGING}/store/x", None) == f"{STAGING}/store/x"


def test_the_collector_applies_it_to_findings_messages_and_log_excerpts() -> None:
    bad = finding("query paths", "artifact readable", False, f"{STAGING}/store/110/gene_summary.sqlite")
    bad["observed"] = f"unable to open {STAGING}/store/110/gene_summary.sqlite"
    checked = record("query paths", "test_q", [bad], status="failed")
    checked = relative_to_backup(
        CheckRecord(**{**checked.__dict__, "message": f"at {STAGING}/store", "log_excerpt": f"E {STAGING}/x"})
    )
    assert checked.findings[0]["where"] == "store/110/gene_summary.sqlite"
    assert checked.findings[0]["observed"] == "unable to open store/110/gene_summary.sqlite"
    assert (checked.message, checked.log_excerpt) == ("at store", "E x")
    without = CheckRecord("n", DRILL, "evidence", "t", findings=(bad,), context={"backup": "b"})
    assert relative_to_backup(without).findings[0]["where"] == bad["where"]  # no staging recorded: nothing to do


def _report(failing: dict[str, str], artefacts: tuple[str, ...] = ()) -> dict[str, Any]:
    """One drill: every criterion passes with 40 findings per check, except those in `failing` (criterion -> where)."""
    checks = []
    for criterion in CRITERIA:
        passing = [finding(criterion, f"{criterion} fact {i}", True, f"passing-where-{i}") for i in range(40)]
        if criterion in failing:
            bad = finding(criterion, "the broken fact", False, failing[criterion], expected="A", observed="B")
            checks.append(record(criterion, "test_broken", [*passing, bad], status="failed"))
        else:
            checks.append(record(criterion, "test_fine", passing))
    run = {
        "id": "r",
        "started_at": "2026-11-27T00:00:00+00:00",
        "finished_at": "2026-11-27T00:01:00+00:00",
        "duration_s": 60.0,
        "trigger": "on-demand",
        "host": {"name": "h", "platform": "p", "python": "3"},
        "versions": {"python": "3"},
        "seed": 1,
        "workers": 0,
        "shard": None,
        "shards": [],
        "planned": None,
        "pick": None,
        "command": [],
        "pytest_exit_status": 1,
    }
    drill = build_drill(DRILL, checks, artefacts=artefacts).to_dict()
    return finish_report(run, [drill], [], gate_required=False, allow_local=False, files=FILES)


@pytest.mark.parametrize(
    ("criterion", "where", "says"),
    [
        ("evidence", "ops/release/evidence/sbom.json", "Re-derive `ops/release/evidence/sbom.json`"),
        ("query paths", "GET /v1/genes gene_id=G1", "live service's baseline: replay `GET /v1/genes gene_id=G1`"),
        ("readiness", "GET /readyz", "the target's log saved at `artifacts/bad/target.log`"),
        ("release identity", "ops/release/identity.json", "Compare `ops/release/identity.json` in the backup"),
        ("rollback policy", "store/111/manifest.lock", "Check `store/111/manifest.lock` against `ops/datasets/`"),
    ],
)
def test_each_failed_criterion_gets_its_own_next_step(criterion: str, where: str, says: str) -> None:
    report = _report({criterion: where}, artefacts=("artifacts/bad/restore.json", "artifacts/bad/target.log"))
    assert not schema_errors(report)
    steps = {c["name"]: c["next_step"] for c in report["drills"][0]["criteria"]}
    assert says in str(steps[criterion])
    assert [name for name, step in steps.items() if step] == [criterion]  # passed criteria have none


def test_readiness_without_a_saved_log_says_how_to_keep_one() -> None:
    report = _report({"readiness": "GET /readyz"})
    step = next(c["next_step"] for c in report["drills"][0]["criteria"] if c["name"] == "readiness")
    assert "--drill-keep-on-failure" in step


def test_html_and_markdown_lead_with_the_failure_and_only_count_what_passed() -> None:
    report = _report({"query paths": "GET /v1/genes gene_id=G1"})
    html, md = render_html(report), render_md(report)
    # The failure and its next step come before the recovery questions and before any passing criterion.
    assert html.index('id="what-failed"') < html.index('id="recovery-questions"')
    assert html.index("the broken fact") < html.index('<details class="passed"')
    assert html.count('<details class="passed"') == len(CRITERIA) - 1
    assert "Next step:" in html
    assert "Next step:" in md
    assert md.index("## What failed, and what to do") < md.index("## Recovery questions")
    # Passing findings are counted, never listed, in both.
    assert "passing-where-" not in html
    assert "passing-where-" not in md
    assert "1 check(s), 40 finding(s) passed" in md
    assert "40 passed finding(s)" in html  # beside the failed one in its own check
    # The JSON keeps every finding.
    findings = [f for c in report["drills"][0]["criteria"] for ch in c["checks"] for f in ch["findings"]]
    assert len(findings) == 40 * len(CRITERIA) + 1


def test_a_passing_report_has_no_failure_section() -> None:
    report = _report({})
    assert 'id="what-failed"' not in render_html(report)
    assert "## What failed" not in render_md(report)


def test_the_junit_failure_starts_with_its_first_cause_relative_to_the_backup() -> None:
    expected = {"status": 200, "response": {"rows": [{"name": "DNAH1X", "end": 3}]}}
    observed = {"status": 200, "response": {"rows": [{"name": "DNAH1", "end": 3}]}}
    properties: list[tuple[str, Any]] = [
        (CONTEXT_PROPERTY, {"drill": DRILL, "staging": STAGING, "backup_excluded": ["x"] * 50}),
        (FINDING_PROPERTY, finding("query paths", "fine", True, "GET /v1/a")),
        (
            FINDING_PROPERTY,
            finding("query paths", "gene replays", False, f"{STAGING}/store/db", expected=expected, observed=observed),
        ),
        (FINDING_PROPERTY, finding("query paths", "second", False, "GET /v1/c", expected="x" * 5000, observed="y")),
    ]
    cause = first_cause(properties)
    assert cause == (
        "first cause: [query paths] gene replays at store/db (response.rows[0].name): expected DNAH1X, observed DNAH1"
    )
    led = lead_with_cause(f"2 of 3 finding(s) failed:\n  - at {STAGING}/store/db", properties)
    assert led is not None
    assert led.splitlines() == [cause, "2 of 3 finding(s) failed:", "  - at store/db"]
    assert lead_with_cause("AssertionError: boom", properties[:2]) is None  # no failed finding: pytest's text stays

    compact = compact_properties(properties)
    names = [name for name, _ in compact]
    assert names.count(FINDING_PROPERTY) == 2
    assert (PASSED_PROPERTY, 1) in compact
    long = [v for n, v in compact if n == FINDING_PROPERTY][1]
    assert len(long["expected"]) <= 160
    context = next(v for n, v in compact if n == CONTEXT_PROPERTY)
    assert "backup_excluded" not in context
    assert "staging" not in context


def test_html_states_the_plan_the_pick_and_the_settings_the_drill_overrode() -> None:
    report = _report({})
    report["run"]["planned"] = {"digest": "ab" * 32, "drills": [{"id": DRILL, "manifest_sha256": ""}]}
    report["run"]["pick"] = {
        "folder": "/backups",
        "mode": "random",
        "seed": 7,
        "candidates": [{"id": "file:///backups/a.tar", "manifest_sha256": "c" * 64}] * 3,
        "candidates_digest": "d" * 16,
        "picked": ["file:///backups/a.tar"],
        "replay": "--drill-seed 7:dddd",
    }
    report["drills"][0]["config_overrides"] = [
        {"name": "ATLAS_REGISTRY_TTL_MS", "drill": "100", "restored": "15000"},
        {"name": "ATLAS_BIND", "drill": "127.0.0.1:1234", "restored": None},
    ]
    assert not schema_errors(report)
    html = render_html(report)
    assert f"1 drill(s), digest {'ab' * 8}" in html
    assert (
        "random from /backups: 1 of 3 candidate(s), candidates digest dddddddddddddddd; replay with --drill-seed 7:dddd"
        in html
    )
    assert "ATLAS_REGISTRY_TTL_MS = 100 (restored 15000); ATLAS_BIND = 127.0.0.1:1234" in html
    assert "planned drill set" not in render_html(_report({}))
