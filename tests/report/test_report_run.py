"""The drill report in real pytest runs of a synthetic drill suite: serial and xdist, crashes, secrets, the gate."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from atlas_drills.findings import CRITERIA
from plugins.drill_report.model import schema_errors
from tests.report.synthetic import DRILLS, env_for, latest, load_report, make_suite

SECRET = "PLANTED-s3cr3t-value-9f2c"  # noqa: S105 - the planted secret the test hunts for


@pytest.fixture(autouse=True)
def _project_env(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    env_for(pytester, monkeypatch)


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("drills", *args, timeout=120)


def normalized(report: dict[str, Any]) -> dict[str, Any]:
    """The report without what legitimately differs between two runs of the same drills: the run's identity and
    timings, and which worker ran what."""
    drills = json.loads(json.dumps(report["drills"]))
    for drill in drills:
        drill["rto_s"] = None
        for phase in drill["phases"]:
            phase["seconds"] = None
        for budget in drill["budgets"]:
            budget["seconds"] = budget["within"] = None
        for criterion in drill["criteria"]:
            for check in criterion["checks"]:
                check["duration_s"] = None
    verdict = dict(report["verdict"])
    return {"format": report["format"], "tool": report["tool"], "verdict": verdict, "drills": drills}


def assert_valid(report: dict[str, Any]) -> None:
    __tracebackhide__ = True
    errors = schema_errors(report)
    assert not errors, "\n".join(errors)


def test_serial_and_xdist_runs_write_the_same_valid_report(pytester: pytest.Pytester) -> None:
    make_suite(pytester, {"sample://current": {"fail": ["query paths"]}})
    serial = run(pytester, "--drill-report-dir=serial")
    serial.assert_outcomes(passed=28, errors=2)
    parallel = run(pytester, "-n", "2", "--dist", "loadgroup", "--drill-report-dir=parallel")
    parallel.assert_outcomes(passed=28, errors=2)
    one, two = load_report(pytester.path / "serial/latest"), load_report(pytester.path / "parallel/latest")
    assert_valid(one)
    assert_valid(two)
    assert normalized(one) == normalized(two)
    assert (one["run"]["workers"], two["run"]["workers"]) == (0, 2)
    assert [d["id"] for d in one["drills"]] == sorted(DRILLS)
    assert one["verdict"]["value"] == "NOT RECOVERABLE"
    broken = next(d for d in one["drills"] if d["id"] == "sample://current")
    assert {c["name"]: c["verdict"] for c in broken["criteria"]}["query paths"] == "fail"
    failed = [f for c in broken["criteria"] for ch in c["checks"] for f in ch["findings"] if f["verdict"] == "fail"]
    assert failed[0] | {"criterion": "query paths", "expected": "ok", "observed": "broken"} == failed[0]
    assert [p["name"] for p in broken["phases"]][:5] == ["fetch", "verify_extract", "transfer", "start", "ready"]
    assert [b["name"] for b in broken["budgets"]] == ["restore", "ready", "total"]
    assert one["verdict"]["valid_for"]["expect_release_ids"] == ["112"]
    assert len(one["verdict"]["valid_for"]["backup_manifest_sha256"]) == 3
    # The terminal: one line per drill and criterion, the verdict, and the paths.
    for drill in DRILLS:
        for criterion in CRITERIA:
            assert any(line.startswith(drill) and criterion in line for line in parallel.outlines), (drill, criterion)
    parallel.stdout.fnmatch_lines(["run verdict: NOT RECOVERABLE (*", "report: *parallel/*/drill-report.json*"])


def test_junit_xml_has_unique_ids_and_the_drill_properties(pytester: pytest.Pytester) -> None:
    make_suite(pytester)
    run(pytester, "-n", "2").assert_outcomes(passed=30)
    suite = ET.parse(latest(pytester.path) / "junit.xml").getroot()  # noqa: S314 - our own run's output
    cases = suite.findall(".//testcase")
    assert len(cases) == 30
    ids = [(case.get("classname"), case.get("name")) for case in cases]
    assert len(set(ids)) == len(ids)
    for case in cases:
        props = {str(p.get("name")): str(p.get("value")) for p in case.findall("./properties/property")}
        assert props["drill.id"] in DRILLS
        assert props["drill.criterion"] in CRITERIA
        assert json.loads(props["drill.context.json"])["backup"] == props["drill.id"]
        # Passed findings are counted, not listed (every one is in drill-report.json); only failed ones are listed.
        assert int(props["drill.findings.passed"]) >= 1
        assert "drill.finding.json" not in props


AUDIT_CONFTEST = """
import json, os, sys
from pathlib import Path
import pytest

_opened = []


def _audit(event, args):
    if event == "open" and isinstance(args[0], str) and "/reports" in args[0]:
        _opened.append(args[0])


sys.addaudithook(_audit)


# At the end of the worker's session (last of its sessionfinish hooks, after any report a reporter would write), and
# before xdist tells the controller the worker finished: an unconfigure hook may be cut short when the controller
# ends first.
@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    config = session.config
    worker = getattr(config, "workerinput", {}).get("workerid")
    if worker:
        registered = config.pluginmanager.get_plugin("drill-report") is not None
        record = {"worker": worker, "registered": registered, "opened": _opened}
        Path(os.environ["AUDIT_DIR"], worker + ".json").write_text(json.dumps(record))
"""


def test_workers_never_register_the_reporter_nor_open_report_files(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_suite(pytester)
    (root / "drills" / "conftest.py").write_text(AUDIT_CONFTEST)
    audit = root / "audit"
    audit.mkdir()
    monkeypatch.setenv("AUDIT_DIR", str(audit))
    run(pytester, "-n", "2").assert_outcomes(passed=30)
    records = [json.loads(p.read_text()) for p in sorted(audit.glob("gw*.json"))]
    assert [r["worker"] for r in records] == ["gw0", "gw1"]
    assert all(not r["registered"] and not r["opened"] for r in records), records
    assert (latest(root) / "drill-report.json").is_file()


# xdist 3.8.0 hangs when it replaces a crashed worker under --dist loadgroup (pytest-xdist#1323, #1327), so the
# grouped variant disables restarts, as the CI examples do; plain load distribution restarts the worker.
@pytest.mark.parametrize(
    "dist", [["--dist", "load"], ["--dist", "loadgroup", "--max-worker-restart=0"]], ids=["load", "loadgroup"]
)
def test_a_worker_killed_mid_drill_leaves_that_drill_crashed_not_missing(
    pytester: pytest.Pytester, dist: list[str]
) -> None:
    crash = "test_readiness.py::test_second"
    make_suite(pytester, {"file:///backups/2026-11-21.tar.zst": {"crash": crash}})
    result = run(pytester, "-n", "2", *dist)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = load_report(latest(pytester.path))
    assert_valid(report)
    assert [d["id"] for d in report["drills"]] == sorted(DRILLS)
    crashed = next(d for d in report["drills"] if d["id"] == "file:///backups/2026-11-21.tar.zst")
    assert crashed["crashed"] is True
    assert crashed["verdict"] == "inconclusive"
    readiness = next(c for c in crashed["criteria"] if c["name"] == "readiness")
    assert readiness["verdict"] == "inconclusive"
    statuses = {ch["name"]: ch["status"] for ch in readiness["checks"]}
    assert statuses["test_second"] == "crashed"
    assert report["verdict"]["value"] == "INCONCLUSIVE"
    check = next(ch for ch in readiness["checks"] if ch["name"] == "test_second")
    assert "crashed" in check["message"]
    events = [json.loads(line) for line in (latest(pytester.path) / "events.jsonl").read_text().splitlines()]
    assert any(e["event"] == "crashed" and e["drill"] == crashed["id"] for e in events)


def test_a_planted_secret_reaches_no_report_file_nor_the_terminal(pytester: pytest.Pytester) -> None:
    make_suite(pytester, {"sample://current": {"fail": ["evidence"], "secret": SECRET, "artefacts": True}})
    result = run(pytester, "-n", "2", "-rA", "-s")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    folder = latest(pytester.path).resolve()
    written = sorted(p for p in folder.rglob("*") if p.is_file())
    assert {p.name for p in written} >= {"drill-report.json", "drill-report.md", "drill-report.html", "junit.xml"}
    # A failed drill's artefacts arrive from the workers as text; the controller writes them, redacted, and
    # only their names travel on into JUnit XML.
    log = folder / "artifacts" / "sample_current" / "target.log"
    assert log.read_text().splitlines() == ["startup", "ATLAS_STORE_S3_BEARER=<redacted>", "the last log line"]
    assert "the last log line" not in (folder / "junit.xml").read_text()
    for path in written:
        assert SECRET not in path.read_text(errors="replace"), path
    assert SECRET not in result.stdout.str() + result.stderr.str()
    report = load_report(folder)
    assert_valid(report)
    assert "<redacted>" in json.dumps(report)


@pytest.mark.parametrize(
    ("scenario", "args", "verdict", "gate_passed"),
    [
        ({}, [], "RECOVERABLE", True),
        ({"sample://current": {"sandbox": "local"}}, [], "RECOVERABLE", False),
        ({"sample://current": {"sandbox": "local"}}, ["--drill-allow-local"], "RECOVERABLE", True),
        ({"sample://current": {"refuse": True}}, [], "NOT RECOVERABLE", False),
        ({"sample://current": {"inconclusive": True}}, [], "INCONCLUSIVE", False),
    ],
    ids=["recoverable", "local-refused", "local-allowed", "refused-restore", "no-sandbox"],
)
def test_verdicts_and_the_release_gate(
    pytester: pytest.Pytester, scenario: dict[str, Any], args: list[str], verdict: str, gate_passed: bool
) -> None:
    make_suite(pytester, scenario)
    result = run(pytester, "--drill-gate", *args)
    report = load_report(latest(pytester.path))
    assert_valid(report)
    assert report["verdict"]["value"] == verdict
    assert report["gate"] | {"required": True, "passed": gate_passed} == report["gate"]
    assert report["run"]["trigger"] == "gate"
    assert (result.ret == 0) is gate_passed
    result.stdout.fnmatch_lines([f"release gate: {'passed' if gate_passed else 'REFUSED'}: *"])
    if scenario.get("sample://current", {}).get("refuse"):
        drill = next(d for d in report["drills"] if d["id"] == "sample://current")
        assert drill["outcome"]["kind"] == "refused"
        assert {c["verdict"] for c in drill["criteria"]} == {"fail"}


def test_trigger_and_report_dir_follow_the_environment(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_suite(pytester)
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("ATLAS_DRILLS_REPORT_DIR", "out/drills")
    run(pytester, "-k", "evidence").assert_outcomes(passed=6, deselected=24)
    report = load_report(pytester.path / "out/drills/latest")
    assert report["run"]["trigger"] == "ci"
    # Only the evidence checks ran: the other criteria are not proven, so the run is not RECOVERABLE.
    assert report["verdict"]["value"] == "INCONCLUSIVE"
    assert {c["verdict"] for d in report["drills"] for c in d["criteria"] if c["name"] != "evidence"} == {
        "inconclusive"
    }


def test_a_run_without_drill_checks_writes_no_report(pytester: pytest.Pytester) -> None:
    """The plugin stays out of such a run: no report, and pytest's own --junitxml left as the command line set it
    (no JUnit XML at all without one)."""
    pytester.makeconftest('pytest_plugins = ["plugins.options", "plugins.run", "plugins.drill_report.plugin"]\n')
    pytester.makepyfile(
        test_plain="def test_plain(request):\n    print('xmlpath', request.config.option.xmlpath)\n",
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*xmlpath None*"])
    assert sorted(p.name for p in pytester.path.rglob("*.xml*")) == []
    mine = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s", "--junitxml=mine.xml")
    mine.stdout.fnmatch_lines(["*xmlpath mine.xml*"])
    assert sorted(p.name for p in pytester.path.rglob("*.xml*")) == ["mine.xml"]
    assert not (pytester.path / "reports").exists() or not any((pytester.path / "reports").iterdir())


def test_the_event_log_survives_a_killed_run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    hold = "test_readiness.py::test_first"
    make_suite(pytester, {"sample://current": {"hold": hold}})
    hold_file = pytester.path / "holding"
    monkeypatch.setenv("SYNTH_HOLD_FILE", str(hold_file))
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", "drills", "-p", "no:randomly"],
        cwd=pytester.path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ | {"PYTHONPATH": os.environ["PYTHONPATH"]},
    )
    try:
        deadline = time.monotonic() + 60
        while not hold_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert hold_file.exists(), "the held check never started"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        process.kill()
    runs = [p for p in (pytester.path / "reports").iterdir() if p.is_dir() and not p.is_symlink()]
    assert len(runs) == 1
    assert not (runs[0] / "drill-report.json").exists()  # killed before the end: no report, no partial one
    events = [json.loads(line) for line in (runs[0] / "events.jsonl").read_text().splitlines()]
    assert events[0]["event"] == "run_started"
    finished = {e["nodeid"] for e in events if e["event"] == "phase" and e["when"] == "teardown"}
    assert len(finished) >= 10  # every check before the held one is on record
    assert not any(nodeid.endswith(f"{hold}[sample://current]") for nodeid in finished)
