"""The report's rules without pytest runs: redaction, check status, verdicts, placement of crashed checks."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from atlas_drills.findings import CRITERIA
from plugins.drill_report.collect import Collector, criterion_from_module, drill_id_from_nodeid
from plugins.drill_report.model import CheckRecord, build_drill, criterion_verdict, gate_result, run_verdict
from plugins.drill_report.redact import REDACTED, Redactor


@pytest.mark.parametrize(
    ("text", "leaked"),
    [
        ("ATLAS_STORE_S3_BEARER=abc123secret", "abc123secret"),
        ("{'ATLAS_STORE_HTTP_BEARER': 'tok-9876', 'ATLAS_ENV': 'prod'}", "tok-9876"),
        ('{"db_password": "hunter22"}', "hunter22"),
        ("Authorization: Bearer eyJhbGciOi.payload.sig", "eyJhbGciOi.payload.sig"),
        ("redis at redis://admin:pa55word@10.0.0.1:6379/0", "pa55word"),
        ("api_key: k-1234", "k-1234"),
        ("GITHUB_TOKEN=ghp_abcdef", "ghp_abcdef"),
    ],
)
def test_redaction_removes_secrets_from_text(text: str, leaked: str) -> None:
    redacted = Redactor().text(text)
    assert leaked not in redacted
    assert REDACTED in redacted


def test_redaction_keeps_ordinary_values_and_remembers_secrets_seen_under_secret_keys() -> None:
    redactor = Redactor()
    value = {"ATLAS_STORE_S3_BEARER": "planted-value", "backup_manifest_sha256": "ab" * 32, "nested": [{"token": 1}]}
    redactor.learn(value)
    assert redactor.value(value) == {
        "ATLAS_STORE_S3_BEARER": REDACTED,
        "backup_manifest_sha256": "ab" * 32,
        "nested": [{"token": REDACTED}],
    }
    assert redactor.text("observed 'planted-value' at config") == f"observed '{REDACTED}' at config"
    assert redactor.text("release 112, 3 datasets, store/catalog.json") == "release 112, 3 datasets, store/catalog.json"


def check(status: str, criterion: str = "readiness", nodeid: str = "t.py::test[d]") -> CheckRecord:
    return CheckRecord(nodeid, "d", criterion, "test", status=status)


@pytest.mark.parametrize(
    ("statuses", "verdict"),
    [
        ([], "inconclusive"),
        (["passed", "passed"], "pass"),
        (["passed", "failed"], "fail"),
        (["refused", "passed"], "fail"),
        (["passed", "skipped"], "inconclusive"),
        (["passed", "crashed"], "inconclusive"),
        (["passed", "error"], "inconclusive"),
        (["crashed", "failed"], "fail"),
        (["not run"], "inconclusive"),
    ],
)
def test_criterion_verdicts(statuses: list[str], verdict: str) -> None:
    assert criterion_verdict([check(s) for s in statuses])[0] == verdict


def test_a_drill_passes_only_when_all_five_criteria_passed() -> None:
    passing = [check("passed", c, f"t.py::{c}[d]") for c in CRITERIA]
    assert build_drill("d", passing).verdict == "pass"
    assert build_drill("d", passing[:-1]).verdict == "inconclusive"
    assert build_drill("d", [*passing, check("failed", "evidence", "t.py::x[d]")]).verdict == "fail"


def drill(verdict: str, isolation: str = "container") -> dict[str, Any]:
    return {"id": verdict, "verdict": verdict, "isolation": isolation}


def test_run_verdicts_and_the_gate() -> None:
    assert run_verdict([], [])[0] == "INCONCLUSIVE"
    assert run_verdict([drill("pass"), drill("pass")], [])[0] == "RECOVERABLE"
    assert run_verdict([drill("pass"), drill("inconclusive")], [])[0] == "INCONCLUSIVE"
    assert run_verdict([drill("fail"), drill("inconclusive")], [])[0] == "NOT RECOVERABLE"
    assert run_verdict([drill("pass")], ["shard 2/2 is missing"])[0] == "INCONCLUSIVE"
    local = [drill("pass", "process")]
    assert gate_result("RECOVERABLE", local, required=True, allow_local=False).passed is False
    assert gate_result("RECOVERABLE", local, required=True, allow_local=True).passed is True
    assert gate_result("INCONCLUSIVE", [drill("pass")], required=True, allow_local=True).passed is False


def test_a_crashed_check_is_placed_by_its_node_id_and_its_module() -> None:
    assert drill_id_from_nodeid("drills/test_readiness.py::test_ready[sample://current]", set()) == "sample://current"
    known = {"file:///b/1.tar", "file:///b/1.tar.zst"}
    assert drill_id_from_nodeid("d/t.py::test_x[file:///b/1.tar.zst-slow]", known) == "file:///b/1.tar.zst"
    assert drill_id_from_nodeid("d/t.py::test_plain", known) is None
    assert criterion_from_module("drills/test_query_paths.py") == "query paths"
    assert criterion_from_module("drills/test_helpers.py") is None

    collector = Collector(Redactor())
    collector.collected_items(
        dict.fromkeys(["drills/test_x.py::test_a[d1]", "drills/test_x.py::test_b[d1]"], (None, None))
    )

    def report(nodeid: str, when: str, outcome: str, props: list[tuple[str, Any]]) -> Any:
        return SimpleNamespace(
            nodeid=nodeid, when=when, outcome=outcome, user_properties=props, duration=0.1, longrepr=None, sections=[]
        )

    labels = [("drill.id", "d1"), ("drill.criterion", "evidence")]
    for when in ("setup", "call", "teardown"):
        collector.add(report("drills/test_x.py::test_a[d1]", when, "passed", labels))
    crash = report("drills/test_x.py::test_b[d1]", "???", "failed", [])
    crash.longrepr = "worker 'gw0' crashed while running 'drills/test_x.py::test_b[d1]'"
    collector.add(crash)
    records = {r.nodeid: r for r in collector.records()}
    crashed = records["drills/test_x.py::test_b[d1]"]
    assert (crashed.drill_id, crashed.criterion, crashed.status) == ("d1", "evidence", "crashed")
    assert "crashed" in crashed.message
