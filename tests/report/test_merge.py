"""Shards and merge: --drill-shard picks a deterministic share; merging the shards equals the unsharded run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from atlas_drills.history.prom import prometheus_textfile
from plugins.drill_report.merge import MergeError, merge_reports
from plugins.drill_report.model import schema_errors
from plugins.drill_report.plugin import shard_of
from tests.report.synthetic import DRILLS, env_for, load_report, make_suite
from tests.report.test_report_run import normalized


@pytest.fixture(autouse=True)
def _project_env(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    env_for(pytester, monkeypatch)


def merge_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "atlas_drills", "report", "merge", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_shard_of_is_stable_and_covers_every_shard() -> None:
    ids = [f"file:///backups/{day:02d}.tar.zst" for day in range(1, 61)]
    assert [shard_of(i, 4) for i in ids] == [shard_of(i, 4) for i in ids]
    assert {shard_of(i, 4) for i in ids} == {1, 2, 3, 4}
    assert shard_of("sample://current", 1) == 1


def test_merged_shards_equal_the_unsharded_run(pytester: pytest.Pytester, tmp_path: Path) -> None:
    make_suite(pytester, {"sample://current": {"fail": ["rollback policy"]}})
    pytester.runpytest_subprocess("drills", "--drill-report-dir=whole", timeout=120)
    shard_reports = []
    for index in (1, 2):
        result = pytester.runpytest_subprocess(
            "drills", "-n", "2", "--dist", "loadgroup", f"--drill-shard={index}/2", f"--drill-report-dir=s{index}"
        )
        assert result.ret in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED)
        shard_reports.append(pytester.path / f"s{index}/latest/drill-report.json")
    shards = [load_report(p.parent) for p in shard_reports]
    picked = [{d["id"] for d in s["drills"]} for s in shards]
    assert picked[0] | picked[1] == set(DRILLS)
    assert not picked[0] & picked[1]
    for index, ids in enumerate(picked, start=1):
        assert all(shard_of(i, 2) == index for i in ids)

    done = merge_cli(*shard_reports, "--out", tmp_path / "merged")
    assert done.returncode == 1, done.stderr  # NOT RECOVERABLE: rollback policy fails in sample://current
    assert "NOT RECOVERABLE" in done.stdout
    merged = load_report(tmp_path / "merged")
    assert not schema_errors(merged)
    whole = load_report(pytester.path / "whole/latest")
    assert normalized(merged) == normalized(whole)
    assert [s["shard"]["index"] for s in merged["run"]["shards"]] == [1, 2]
    assert (tmp_path / "merged/drill-report.html").is_file()
    assert (tmp_path / "merged/drill-report.md").is_file()
    prom = (tmp_path / "merged/drill-report.prom").read_text()
    assert "atlas_drills_last_run_timestamp_seconds " in prom
    assert prom == prometheus_textfile(tmp_path, tmp_path / "merged")


def _report(pytester: pytest.Pytester, folder: str, *args: str) -> dict[str, Any]:
    pytester.runpytest_subprocess("drills", f"--drill-report-dir={folder}", *args, timeout=120)
    return load_report(pytester.path / folder / "latest")


def test_merge_refuses_another_format_and_a_drill_reported_twice(pytester: pytest.Pytester, tmp_path: Path) -> None:
    make_suite(pytester)
    report = _report(pytester, "one", "-k", "sample")
    with pytest.raises(MergeError, match=r"drill sample://current is reported by both a.json and b.json"):
        merge_reports([("a.json", report), ("b.json", report)])
    other_tool = json.loads(json.dumps(report)) | {"tool": {"name": "atlas-drills", "version": "0.0.1"}}
    with pytest.raises(MergeError, match="different tool versions"):
        merge_reports([("a.json", report), ("b.json", other_tool | {"drills": []})])
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps({"format": "pytest-reportlog/1", "drills": []}))
    good = tmp_path / "good.json"
    good.write_text(json.dumps(report))
    done = merge_cli(good, foreign, "--out", tmp_path / "out")
    assert done.returncode == 2
    assert "foreign.json: format 'pytest-reportlog/1', expected 'atlas-drills/drill-report/1'" in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_missing_shard_makes_the_merged_run_inconclusive(pytester: pytest.Pytester, tmp_path: Path) -> None:
    make_suite(pytester)
    count = 3
    present = [k for k in range(1, count + 1) if any(shard_of(d, count) == k for d in DRILLS)]
    reports = [("s.json", _report(pytester, f"s{k}", f"--drill-shard={k}/{count}")) for k in present[:-1]]
    assert all(r["verdict"]["value"] == "RECOVERABLE" for _, r in reports)
    merged = merge_reports(reports)
    assert merged["verdict"]["value"] == "INCONCLUSIVE"
    assert f"shard {present[-1]}/{count} is missing" in merged["verdict"]["problems"]
    unreported = sorted(d for d in DRILLS if shard_of(d, count) == present[-1])
    assert f"planned drill(s) in no shard report: {', '.join(unreported)}" in merged["verdict"]["problems"]


def test_every_shard_report_records_the_whole_planned_set(pytester: pytest.Pytester) -> None:
    make_suite(pytester)
    report = _report(pytester, "s1", "--drill-shard=1/2")
    planned = report["run"]["planned"]
    assert [d["id"] for d in planned["drills"]] == sorted(DRILLS)
    assert report["run"]["shard"] == {"index": 1, "count": 2}
    assert {d["id"] for d in report["drills"]} < set(DRILLS) or not report["drills"]


def test_shards_planned_from_different_sets_are_refused_naming_the_drills(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    make_suite(pytester)
    first = _report(pytester, "s1", "--drill-shard=1/2")
    # Shard 2 planned without one backup: together the shards would never drill it.
    dropped = DRILLS[0]
    plan = (pytester.path / "plan.toml").read_text()
    entry = f"\n[[drills]]\nbackup = '{dropped}'\nexpect = 'sample://current'\n"
    assert entry in plan
    (pytester.path / "other.toml").write_text(plan.replace(entry, ""))
    second = _report(pytester, "s2", "--drill-shard=2/2", "--drill-plan=other.toml")
    with pytest.raises(MergeError, match=rf"planned from different drill sets.*drill {dropped} .* planned by s1.json"):
        merge_reports([("s1.json", first), ("s2.json", second)])
    paths = []
    for name, report in (("s1.json", first), ("s2.json", second)):
        paths.append(tmp_path / name)
        paths[-1].write_text(json.dumps(report))
    done = merge_cli(*paths, "--out", tmp_path / "out")
    assert done.returncode == 2
    assert dropped in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_planned_drill_deselected_in_every_shard_makes_the_merged_run_inconclusive(
    pytester: pytest.Pytester,
) -> None:
    make_suite(pytester)
    reports = [(f"s{k}.json", _report(pytester, f"s{k}", f"--drill-shard={k}/2", "-k", "sample")) for k in (1, 2)]
    merged = merge_reports(reports)
    assert merged["verdict"]["value"] == "INCONCLUSIVE"
    skipped = sorted(d for d in DRILLS if not d.startswith("sample"))
    assert f"planned drill(s) in no shard report: {', '.join(skipped)}" in merged["verdict"]["problems"]


def test_an_empty_shard_exits_zero_and_still_writes_its_report(pytester: pytest.Pytester) -> None:
    make_suite(pytester)
    count = 50
    empty = next(k for k in range(1, count + 1) if all(shard_of(d, count) != k for d in DRILLS))
    result = pytester.runpytest_subprocess("drills", f"--drill-shard={empty}/{count}")
    assert result.ret == pytest.ExitCode.OK
    report = load_report(pytester.path / "reports/latest")
    assert report["drills"] == []
    assert report["run"]["shard"] == {"index": empty, "count": count}


def test_a_bad_shard_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    make_suite(pytester)
    result = pytester.runpytest_subprocess("drills", "--drill-shard=3/2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--drill-shard '3/2': expected K/N with 1 <= K <= N*"])
