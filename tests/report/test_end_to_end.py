"""One end-to-end run of the real drills (`pytest drills`) with the report plugin, checked against the schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

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
    assert report["drills"], "the drill plan names at least the embedded sample"
    for drill in report["drills"]:
        assert [c["name"] for c in drill["criteria"]][:5] == list(CRITERIA)
        assert drill["backup_manifest_sha256"] is not None, drill["outcome"]
    expected = "RECOVERABLE" if done.returncode == 0 else ("NOT RECOVERABLE", "INCONCLUSIVE")
    assert report["verdict"]["value"] in expected, done.stdout[-3000:]
    assert "run verdict: " + report["verdict"]["value"] in done.stdout
    assert (tmp_path / "latest" / "junit.xml").is_file()
