"""A drill run that cannot start says so once, with pytest's usage-error exit code (4), and its report still says
why nothing ran; a backup that cannot be restored is not a setup error but a drill verdict."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from atlas_drills.plan import PROJECT_ROOT
from atlas_drills.sample import SampleRelease

USAGE_ERROR = 4


def run_drills(reports: Path, *options: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "drills", "-p", "no:cacheprovider", f"--drill-report-dir={reports}"]
    return subprocess.run(
        [*command, *options], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, check=False
    )


def assert_one_message(done: subprocess.CompletedProcess[str], message: str, reports: Path) -> None:
    output = done.stdout + done.stderr
    assert done.returncode == USAGE_ERROR, output
    assert output.count(message) == 1, output
    assert "Traceback" not in output
    assert "ERROR collecting" not in output
    report = json.loads((reports / "latest" / "drill-report.json").read_text())
    assert report["verdict"]["value"] == "INCONCLUSIVE"
    assert report["drills"] == []
    assert any(message in problem for problem in report["verdict"]["problems"]), report["verdict"]["problems"]
    assert report["run"]["pytest_exit_status"] == USAGE_ERROR


def test_a_missing_backup_is_one_usage_error(tmp_path: Path, sample_release: SampleRelease) -> None:
    missing = tmp_path / "backups" / "2026-11-20.tar.zst"
    done = run_drills(tmp_path / "reports", f"--drill-backup={missing}", f"--drill-expect={sample_release.root}")
    assert_one_message(done, f"{missing}: no such file or folder", tmp_path / "reports")


def test_a_wrong_target_is_one_usage_error_also_under_xdist(tmp_path: Path) -> None:
    done = run_drills(tmp_path / "reports", "--drill-target=no-such-target", "-n", "2", "--drill-sandbox=local")
    assert_one_message(done, "no-such-target.toml: no such target file", tmp_path / "reports")


def test_a_missing_image_is_one_usage_error(tmp_path: Path, docker_client: Any) -> None:
    del docker_client  # an engine must answer, or the image would never be looked for
    done = run_drills(tmp_path / "reports", "--drill-sandbox=docker", "--drill-target-image=atlas-drills/absent:0")
    assert_one_message(done, "target image atlas-drills/absent:0 is not in the engine", tmp_path / "reports")


def test_a_backup_that_cannot_be_restored_is_a_drill_verdict_not_a_setup_error(
    tmp_path: Path, sample_backup: Path, sample_release: SampleRelease
) -> None:
    cut = tmp_path / "cut.tar.zst"
    cut.write_bytes(sample_backup.read_bytes()[: sample_backup.stat().st_size // 2])
    reports = tmp_path / "reports"
    done = run_drills(
        reports, f"--drill-backup={cut}", f"--drill-expect={sample_release.root}", "--drill-sandbox=local"
    )
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads((reports / "latest" / "drill-report.json").read_text())
    assert report["verdict"]["value"] == "NOT RECOVERABLE"
    assert report["drills"][0]["outcome"]["kind"] == "refused"


def test_runs_that_collect_no_drills_folder_check_no_plan(tmp_path: Path) -> None:
    """The suite's own tests load the same plugins; a drill setting that cannot work must not stop them."""
    command = [sys.executable, "-m", "pytest", "tests/unit/test_store_dataset_id.py", "-p", "no:cacheprovider", "-q"]
    env = {**os.environ, "ATLAS_DRILLS_BACKUP": str(tmp_path / "missing.tar.zst"), "ATLAS_DRILLS_TARGET": "nope"}
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
        env.pop(name, None)
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, check=False, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
