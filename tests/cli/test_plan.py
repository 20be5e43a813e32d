"""`atlas-drills plan`: each drill's backup, expectation, target, image, sandbox, budgets, pick and seed, read from
the backup manifest only, never restoring; and `--collect-only` writes no report."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from atlas_drills.backup.restore import restore_backup
from atlas_drills.cli import main
from atlas_drills.plan import PROJECT_ROOT, DrillSpec
from atlas_drills.plan_preview import EngineView, backup_facts, setup_problems
from atlas_drills.sample import SampleRelease

NO_ENGINE = EngineView(None, "no engine in this test")


def _plan_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["plan", "--json", *args])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip().startswith("{") else {}


def test_backup_facts_come_from_the_manifest_and_match_a_restore(sample_backup: Path, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    facts = backup_facts(f"file://{sample_backup}", 26.0, now)
    restored = restore_backup(sample_backup, tmp_path / "staging")
    manifest = restored.manifest
    assert facts["problem"] is None
    assert facts["path"] == str(sample_backup)
    assert facts["kind"] == "tar.zst"
    assert facts["size_bytes"] == sample_backup.stat().st_size
    assert facts["created_at"] == manifest.created_at
    assert facts["release_id"] == manifest.release.release_id
    assert facts["backup_id"] == manifest.backup_id
    # The digest the drill report records for the same backup (fixtures: sha256 of the re-rendered manifest).
    assert facts["manifest_sha256"] == hashlib.sha256(manifest.render()).hexdigest()
    assert facts["within_max_age"] is True
    later = backup_facts(f"file://{sample_backup}", 26.0, now + timedelta(hours=30))
    assert later["within_max_age"] is False
    assert later["age_hours"] >= 30


def test_an_unreadable_backup_is_a_problem_not_a_crash(sample_backup: Path, tmp_path: Path) -> None:
    truncated = tmp_path / "cut.tar.zst"
    truncated.write_bytes(sample_backup.read_bytes()[:100])
    facts = backup_facts(f"file://{truncated}", 26.0, datetime.now(UTC))
    assert facts["problem"] is not None
    assert str(truncated) in facts["problem"]
    assert "manifest_sha256" not in facts


def test_plan_previews_a_real_backup_without_restoring_or_reporting(
    sample_backup: Path,
    sample_release: SampleRelease,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copy(sample_backup, tmp_path / "b.tar.zst")

    def no_restore(*args: object) -> None:
        raise AssertionError("a preview must not restore anything")

    monkeypatch.setattr("atlas_drills.backup.restore._extract_all", no_restore)
    code, document = _plan_json(
        capsys,
        "--drill-backup=b.tar.zst",
        f"--drill-expect={os.path.relpath(sample_release.root)}",
        "--drill-sandbox=local",
        "--drill-report-dir=reports",
    )
    assert code == 0
    (drill,) = document["drills"]
    assert drill["id"] == (tmp_path / "b.tar.zst").resolve().as_uri()
    assert drill["backup"]["path"] == str(tmp_path / "b.tar.zst")
    assert drill["backup"]["size_bytes"] == sample_backup.stat().st_size
    assert drill["expectation"]["release_id"] == drill["backup"]["release_id"]
    assert drill["sandbox"] == {"preference": "local", "resolved": "local", "reason": "asked for a local process"}
    assert drill["target_name"] == "stand-in"
    assert sum(drill["checks"].values()) > 0
    assert set(drill["checks"]) >= {"release identity", "readiness", "evidence"}
    assert document["budgets_s"] == {"restore": 120.0, "ready": 30.0, "total": 300.0}
    assert document["restored"] is False
    assert not (tmp_path / "reports").exists(), "a preview must write no report"


def test_a_random_pick_is_replayable_with_the_printed_seed(
    sample_backup: Path, sample_release: SampleRelease, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    for name in ("a.tar.zst", "b.tar.zst", "c.tar.zst", "d.tar.zst"):
        shutil.copy(sample_backup, folder / name)
    common = [f"--drill-backup={folder}", f"--drill-expect={sample_release.root}", "--drill-sandbox=local"]
    code, first = _plan_json(capsys, *common, "--drill-pick=random")
    assert code == 0
    seed = first["seed"]
    expected = random.Random(seed).choice(sorted(folder.iterdir()))
    assert [d["backup"]["path"] for d in first["drills"]] == [str(expected)]
    _, again = _plan_json(capsys, *common, "--drill-pick=random", f"--drill-seed={seed}")
    assert again["drills"][0]["id"] == first["drills"][0]["id"]
    assert again["pick"] == "random"
    _, every = _plan_json(capsys, *common, "--drill-pick=all")
    assert len(every["drills"]) == 4


def test_plan_text_names_every_fact(
    sample_backup: Path, sample_release: SampleRelease, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["plan", f"--drill-backup={sample_backup}", f"--drill-expect={sample_release.root}", "--drill-sandbox=local"]
    )
    out = capsys.readouterr().out
    assert code == 0
    for fact in (
        "backup",
        "manifest sha256",
        "release",
        "expectation",
        "target",
        "image",
        "sandbox",
        "budgets",
        "pick latest",
        "seed",
        "checks",
        "nothing was restored",
    ):
        assert fact in out, fact


def test_plan_reports_a_wrong_target_as_a_problem_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, document = _plan_json(capsys, "--drill-target=no-such-target", "--drill-sandbox=local")
    assert code == 1
    assert "no such target file" in document["drills"][0]["problems"][0]


def test_plan_gives_pytest_usage_errors_their_exit_code(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["plan", f"--drill-backup={tmp_path / 'missing.tar.zst'}", "--drill-expect=sample://current"])
    err = capsys.readouterr().err
    assert code == 4
    assert err.count("missing.tar.zst: no such file or folder") == 1
    assert "Traceback" not in err


def test_unknown_options_are_refused_outside_plan(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["faults", "list", "--drill-backup=x"])
    assert exited.value.code == 2
    assert "unrecognized arguments: --drill-backup=x" in capsys.readouterr().err


def test_collect_only_writes_no_report_and_leaves_latest(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "latest").symlink_to("earlier-run")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "drills",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--drill-report-dir={reports}",
            "--drill-gate",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "sample://current" in done.stdout
    assert sorted(p.name for p in reports.iterdir()) == ["latest"]
    assert os.readlink(reports / "latest") == "earlier-run"


def test_setup_problems_name_each_cause_and_nothing_for_a_good_drill(
    sample_backup: Path, sample_release: SampleRelease, tmp_path: Path
) -> None:
    good = DrillSpec(
        f"file://{sample_backup}", f"file://{sample_backup}", f"file://{sample_release.root}", sandbox="local"
    )
    assert setup_problems([good], NO_ENGINE) == []
    assert (
        setup_problems(
            [DrillSpec("sample://current", "sample://current", "sample://current", sandbox="local")], NO_ENGINE
        )
        == []
    )
    missing = DrillSpec("file://x", f"file://{tmp_path / 'gone.tar'}", f"file://{sample_release.root}", sandbox="local")
    no_ops = DrillSpec("file://y", f"file://{sample_backup}", f"file://{tmp_path}", sandbox="local")
    bad_target = DrillSpec(
        "file://z", f"file://{sample_backup}", f"file://{sample_release.root}", target="nope", sandbox="local"
    )
    no_engine = DrillSpec("file://w", f"file://{sample_backup}", f"file://{sample_release.root}", sandbox="docker")
    problems = setup_problems([missing, no_ops, bad_target, no_engine], NO_ENGINE)
    assert len(problems) == 4
    assert problems[0].startswith("drill file://x: backup ")
    assert "no such file" in problems[0]
    assert problems[1].startswith("drill file://y: expectation ")
    assert "identity.json" in problems[1]
    assert problems[2].startswith("drill file://z: ")
    assert "no such target file" in problems[2]
    assert problems[3].startswith("drill file://w: --drill-sandbox=docker, but no engine in this test")
