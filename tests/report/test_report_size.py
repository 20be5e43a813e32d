"""A real 3-drill run (two good copies of the sample backup and one with a fault) gives reports a person can read:
HTML under 300 KB, JUnit XML cut to what a CI page needs with the first cause in the failure message, the failure
before any passing finding, no path into a removed staging folder, and the JSON still complete."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from atlas_drills.drill.prepare import SAMPLE_BACKUP_NAME, SAMPLE_FOLDER, build_sample_backup, once_per_run
from atlas_drills.faults.apply import apply_fault
from atlas_drills.plan import PROJECT_ROOT
from plugins.drill_report.model import schema_errors

HTML_LIMIT = 300_000
JUNIT_LIMIT = 600_000  # the one failure's full text is the element's body; properties are cut


def test_a_three_drill_report_leads_with_its_one_failure_and_stays_small(tmp_path: Path) -> None:
    sample = once_per_run(tmp_path, SAMPLE_FOLDER, build_sample_backup)
    backups = tmp_path / "backups"
    backups.mkdir()
    for name in ("a-good", "b-good"):
        shutil.copy2(sample / SAMPLE_BACKUP_NAME, backups / f"{name}.tar.zst")
    apply_fault("baseline-mismatch", sample / SAMPLE_BACKUP_NAME, backups / "c-bad.tar.zst")
    reports = tmp_path / "reports"
    done = subprocess.run(
        [
            sys.executable, "-m", "pytest", "drills", "-p", "no:cacheprovider", "-q",
            f"--drill-backup={backups}", "--drill-pick=all", f"--drill-expect={sample / 'release'}",
            "--drill-sandbox=local", f"--drill-report-dir={reports}",
        ],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    folder = (reports / "latest").resolve()
    assert (folder / "drill-report.json").is_file(), done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((folder / "drill-report.json").read_text())
    assert not schema_errors(report)
    assert report["verdict"]["value"] == "NOT RECOVERABLE", report["verdict"]
    assert [d["verdict"] for d in report["drills"]] == ["pass", "pass", "fail"]

    html = (folder / "drill-report.html").read_text()
    md = (folder / "drill-report.md").read_text()
    junit = (folder / "junit.xml").read_text()
    assert len(html.encode()) < HTML_LIMIT, len(html.encode())
    assert len(junit.encode()) < JUNIT_LIMIT, len(junit.encode())

    # The JSON is the truth: every passing finding is still there (the sample's evidence chain alone has hundreds).
    findings = [f for d in report["drills"] for c in d["criteria"] for ch in c["checks"] for f in ch["findings"]]
    assert sum(f["verdict"] == "pass" for f in findings) > 1000
    bad = report["drills"][2]
    query = next(c for c in bad["criteria"] if c["name"] == "query paths")
    first = next(f for ch in query["checks"] for f in ch["findings"] if f["verdict"] == "fail")
    assert "baseline" in query["next_step"]
    failed_check = next(ch for ch in query["checks"] if ch["status"] == "failed")
    assert failed_check["message"].startswith(f"first cause: [query paths] {first['check']} at ")

    # The first failure (and its next step) comes before any passing criterion, in both renderings.
    assert html.index(first["check"]) < html.index('<details class="passed"')
    assert html.index('class="next-step"') < html.index('id="recovery-questions"')
    assert md.index(first["check"]) < md.index("## Passed")
    assert md.index("**Next step:**") < md.index("## Recovery questions")

    # No report cites the removed staging folder.
    for text in (html, md, json.dumps(report)):
        assert "/staging/" not in text

    # The JUnit failure message starts with the first cause: criterion, check, where, expected and observed.
    suite = ET.fromstring(junit)  # noqa: S314 - pytest's own output of this run
    failures = [f for case in suite.iter("testcase") for f in case.iter("failure")]
    assert len(failures) == 1
    message = failures[0].get("message", "")
    assert message.startswith(f"first cause: [query paths] {first['check']} at "), message[:300]
    assert "expected " in message.splitlines()[0]
    assert "observed " in message.splitlines()[0]
    assert len(message.splitlines()[0]) <= 450
