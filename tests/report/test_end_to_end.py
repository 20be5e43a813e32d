"""One end-to-end run of the real drills (`pytest drills`) with the report plugin, checked against the schema."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from atlas_drills.drill.phases import PHASES
from atlas_drills.findings import CRITERIA
from atlas_drills.plan import PROJECT_ROOT
from plugins.drill_report.model import schema_errors

DRILLS_DIR = PROJECT_ROOT / "drills"


@pytest.mark.skipif(not any(DRILLS_DIR.glob("test_*.py")), reason="no drill modules in drills/ yet")
def test_the_real_drills_write_a_valid_report(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "drills", "-p", "no:cacheprovider", f"--drill-report-dir={tmp_path}"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    report_path = tmp_path / "latest" / "drill-report.json"
    assert report_path.is_file(), done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(report_path.read_text())
    assert not schema_errors(report)
    # The plan's embedded sample is a good backup: every check of every criterion passes, in whatever sandbox.
    assert done.returncode == 0, done.stdout[-3000:]
    assert report["verdict"]["value"] == "RECOVERABLE", report["verdict"]
    assert report["drills"], "the drill plan names at least the embedded sample"
    for drill in report["drills"]:
        assert [(c["name"], c["verdict"]) for c in drill["criteria"]] == [(name, "pass") for name in CRITERIA]
        assert drill["backup_manifest_sha256"] is not None, drill["outcome"]
        assert [p["name"] for p in drill["phases"]] == list(PHASES)
    lines = done.stdout.splitlines()
    verdict = report["verdict"]
    assert f"run verdict: {verdict['value']} ({verdict['reason']})" in lines
    # pytest's JUnit XML, in the report folder, lists exactly the checks the report lists.
    suite = ET.parse(tmp_path / "latest" / "junit.xml").getroot()  # noqa: S314 - pytest's own output of this run
    cases = {f"{c.get('classname')}::{c.get('name')}" for c in suite.iter("testcase")}
    checks = {
        _junit_name(check["nodeid"])
        for drill in report["drills"]
        for criterion in drill["criteria"]
        for check in criterion["checks"]
    }
    assert cases == checks


def _junit_name(nodeid: str) -> str:
    """`drills/test_x.py::test_y[id]` as JUnit XML names it: `drills.test_x::test_y[id]`."""
    module, _, name = nodeid.partition("::")
    return f"{module.removesuffix('.py').replace('/', '.')}::{name}"
