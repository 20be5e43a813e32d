"""`atlas-drills report history [DIR]`: every run of a report folder, oldest first, the time to recover of each
drill over the runs, the last success of each backup on each target, as a table and one self-contained HTML page."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from atlas_drills.cli import main
from atlas_drills.history.html import render_html
from atlas_drills.history.model import build_history
from atlas_drills.history.runs import load_runs

FORMAT = "atlas-drills/drill-report/1"


def report(run_id: str, finished: str, verdict: str, drills: list[tuple[str, str, float]]) -> dict[str, Any]:
    """A drill report as the plugin writes it, with the fields a history reads."""
    return {
        "format": FORMAT,
        "run": {"id": run_id, "started_at": finished, "finished_at": finished, "trigger": "ci"},
        "verdict": {"value": verdict, "reason": f"{verdict.lower()} because"},
        "drills": [
            {
                "id": drill_id,
                "verdict": drill_verdict,
                "rto_s": rto,
                "phases": [{"name": "ready", "seconds": rto}],
                "backup": f"/work/run-{run_id}/backup.tar.zst",  # the sample's path changes every run
                "backup_release_id": "112",
                "backup_manifest_sha256": "cd" * 32,
                "target": "standin",
                "target_image": "atlas-drills/standin:abc",
            }
            for drill_id, drill_verdict, rto in drills
        ],
    }


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    runs = [
        report(
            "20261125T030000Z-aaaaaa", "2026-11-25T03:00:09+00:00", "RECOVERABLE", [("sample://current", "pass", 5.5)]
        ),
        report(
            "20261126T030000Z-bbbbbb",
            "2026-11-26T03:00:09+00:00",
            "NOT RECOVERABLE",
            [("sample://current", "pass", 6.5), ("file:///backups/b.tar.zst", "fail", 9.0)],
        ),
        report(
            "20261127T030000Z-cccccc",
            "2026-11-27T03:00:09+00:00",
            "NOT RECOVERABLE",
            [("sample://current", "fail", 30.0)],
        ),
    ]
    for document in runs:
        (tmp_path / document["run"]["id"]).mkdir()
        (tmp_path / document["run"]["id"] / "drill-report.json").write_text(json.dumps(document))
    (tmp_path / "latest").symlink_to("20261127T030000Z-cccccc")
    (tmp_path / "20261124T000000Z-broken").mkdir()
    (tmp_path / "20261124T000000Z-broken" / "drill-report.json").write_text('{"format": "atlas-drills/drill-repo')
    return tmp_path


def test_history_orders_runs_and_finds_the_last_success_per_backup_and_target(folder: Path) -> None:
    runs = load_runs(folder)
    assert [r.run_id or "?" for r in runs] == [
        "?",
        "20261125T030000Z-aaaaaa",
        "20261126T030000Z-bbbbbb",
        "20261127T030000Z-cccccc",
    ]  # latest is not counted twice; the broken one is listed, not dropped
    assert runs[0].verdict == "UNREADABLE"
    history = build_history(runs)
    assert [p["rto_s"] for p in history["time_to_recover"]["sample://current"]] == [5.5, 6.5, 30.0]
    by_backup = {entry["backup"]: entry for entry in history["last_success"]}
    sample = by_backup["sample://current"]
    assert sample["last_success"]["run_id"] == "20261126T030000Z-bbbbbb"  # the latest pass, not the latest run
    assert sample["last_verdict"] == "fail"
    assert by_backup["file:///backups/b.tar.zst"]["last_success"] is None
    assert history["counts"] == {"RECOVERABLE": 1, "NOT RECOVERABLE": 2, "INCONCLUSIVE": 0, "UNREADABLE": 1}


def test_report_history_prints_the_table_and_writes_one_self_contained_page(
    folder: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(folder.parent)
    assert main(["report", "history", folder.name]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    table = [line for line in lines if re.match(r"^\d{4}-\d\d-\d\dT", line)]
    assert [line.split()[1] for line in table] == [
        "20261125T030000Z-aaaaaa",
        "20261126T030000Z-bbbbbb",
        "20261127T030000Z-cccccc",
    ]
    assert "sample://current fail 30.00s" in table[-1]
    assert "UNREADABLE" in out
    assert "file:///backups/b.tar.zst on standin: NEVER" in out
    assert "sample://current on standin: 2026-11-26T03:00:09Z" in out
    page = (folder / "history.html").read_text()
    assert f"history page: {folder / 'history.html'}" in out
    assert "<script" not in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing loaded from elsewhere
    assert page.count("<svg") == 2  # one time-to-recover chart per drill
    assert page.count("<circle") == 4  # one point per measured run of each drill


def test_report_history_json(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "history", str(folder), "--json", "--html", str(folder / "h.html")]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["format"] == "atlas-drills/drill-history/1"
    assert (folder / "h.html").is_file()


def test_a_folder_without_reports_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "history", str(tmp_path)]) == 2
    assert "no <run-id>/drill-report.json here" in capsys.readouterr().err
    assert main(["report", "history", str(tmp_path / "absent")]) == 2


def test_report_values_are_escaped_in_the_page() -> None:
    hostile = report(
        "r<1>", "2026-11-27T03:00:09+00:00", "RECOVERABLE", [("file:///<script>alert(1)</script>", "pass", 1.0)]
    )
    from atlas_drills.history.runs import summarize

    page = render_html(build_history([summarize(hostile, "r/drill-report.json")]))
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
