"""A folder pick through the plugin: the report records the candidates and the replay option, and a replay refuses
once the folder's backups changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.report.synthetic import env_for, load_report, make_suite


@pytest.fixture(autouse=True)
def _project_env(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    env_for(pytester, monkeypatch)


def _backup(folder: Path, name: str, created_at: str) -> None:
    (folder / name).mkdir(parents=True)
    (folder / name / "backup-manifest.json").write_text(json.dumps({"created_at": created_at}))


def test_a_random_pick_is_recorded_and_a_changed_folder_refuses_its_replay(pytester: pytest.Pytester) -> None:
    make_suite(pytester)
    folder = pytester.path / "backups"
    for day in (18, 19, 20):
        _backup(folder, f"b{day}", f"2026-11-{day}T03:00:00Z")
    (pytester.path / "release" / "ops").mkdir(parents=True)
    options = ["--drill-backup=backups", "--drill-expect=release", "--drill-pick=random"]
    pytester.runpytest_subprocess("drills", *options, "--drill-seed=5", "--drill-report-dir=r1", timeout=120)
    report = load_report(pytester.path / "r1/latest")
    pick = report["run"]["pick"]
    assert (pick["mode"], pick["seed"], report["run"]["seed"]) == ("random", 5, 5)
    assert [c["id"] for c in pick["candidates"]] == [(folder / f"b{d}").resolve().as_uri() for d in (18, 19, 20)]
    assert all(len(c["manifest_sha256"]) == 64 for c in pick["candidates"])
    [picked] = pick["picked"]
    assert [d["id"] for d in report["drills"]] == [picked]
    assert [d["id"] for d in report["run"]["planned"]["drills"]] == [picked]
    assert pick["replay"] == f"--drill-seed=5:{pick['candidates_digest']}"

    pytester.runpytest_subprocess("drills", *options, pick["replay"], "--drill-report-dir=r2", timeout=120)
    assert load_report(pytester.path / "r2/latest")["run"]["pick"]["picked"] == [picked]

    _backup(folder, "b21", "2026-11-21T03:00:00Z")
    refused = pytester.runpytest_subprocess("drills", *options, pick["replay"], "--drill-report-dir=r3", timeout=120)
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    refused.stderr.fnmatch_lines(["*backups were added, removed or changed*b21*"])


def test_latest_is_the_newest_manifest_not_the_newest_file(pytester: pytest.Pytester) -> None:
    make_suite(pytester)
    folder = pytester.path / "backups"
    _backup(folder, "newest", "2026-11-21T03:00:00Z")
    _backup(folder, "copied-later", "2026-11-19T03:00:00Z")  # written second: the newer file times
    (pytester.path / "release" / "ops").mkdir(parents=True)
    pytester.runpytest_subprocess(
        "drills", "--drill-backup=backups", "--drill-expect=release", "--drill-report-dir=r", timeout=120
    )
    report = load_report(pytester.path / "r/latest")
    assert report["run"]["pick"]["mode"] == "latest"
    assert [d["id"] for d in report["drills"]] == [(folder / "newest").resolve().as_uri()]
