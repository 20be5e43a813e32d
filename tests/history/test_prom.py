"""`drill-report.prom`: valid Prometheus text format (checked with the Prometheus client library's own parser), the
right values, last successes looked up in earlier runs, and written by every drill run."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from atlas_drills.history.prom import PROM_NAME, earlier_runs, render_prom
from atlas_drills.history.runs import DrillRun, RunSummary, epoch
from tests.report.synthetic import env_for, latest, make_suite


def drill(drill_id: str, verdict: str, rto: float | None = 4.5, target: str = "standin") -> DrillRun:
    return DrillRun(drill_id, verdict, rto, drill_id, "112", "ab" * 32, target, "atlas-drills/standin:abc")


def run(run_id: str, finished: str, verdict: str, *drills: DrillRun) -> RunSummary:
    return RunSummary(run_id, f"{run_id}/drill-report.json", finished, finished, verdict, "", "ci", tuple(drills))


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a textfile, parsed by prometheus_client (raises on anything not in the text format)."""
    found = {}
    for family in text_string_to_metric_families(text):
        assert family.type == "gauge", family.name
        assert family.documentation, family.name
        for sample in family.samples:
            found[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return found


def test_values_and_last_successes_from_earlier_runs() -> None:
    current = run(
        "r3",
        "2026-11-27T03:00:00+00:00",
        "NOT RECOVERABLE",
        drill("sample://current", "fail", 7.25),
        drill("file://b.tar", "pass", 3.0),
    )
    earlier = [
        run("r2", "2026-11-26T03:00:00+00:00", "NOT RECOVERABLE", drill("sample://current", "fail")),
        run("r1", "2026-11-25T03:00:00+00:00", "RECOVERABLE", drill("sample://current", "pass")),
    ]
    got = samples(render_prom(current, earlier))
    assert got["atlas_drills_last_run_timestamp_seconds", ()] == epoch("2026-11-27T03:00:00+00:00")
    assert got["atlas_drills_last_success_timestamp_seconds", ()] == epoch("2026-11-25T03:00:00+00:00")
    assert got["atlas_drills_run_verdict", (("verdict", "NOT RECOVERABLE"),)] == 1.0
    assert got["atlas_drills_run_verdict", (("verdict", "RECOVERABLE"),)] == 0.0
    sample_labels = (("drill", "sample://current"), ("target", "standin"))
    assert got["atlas_drills_drill_verdict", (*sample_labels[:1], ("target", "standin"), ("verdict", "fail"))] == 1.0
    assert got["atlas_drills_drill_time_to_recover_seconds", sample_labels] == 7.25
    assert got["atlas_drills_drill_last_success_timestamp_seconds", sample_labels] == epoch("2026-11-25T03:00:00+00:00")
    file_labels = (("drill", "file://b.tar"), ("target", "standin"))
    assert got["atlas_drills_drill_last_success_timestamp_seconds", file_labels] == epoch("2026-11-27T03:00:00+00:00")


def test_never_succeeded_is_zero_and_an_unmeasured_drill_has_no_time_to_recover() -> None:
    got = samples(
        render_prom(
            run("r1", "2026-11-27T03:00:00Z", "INCONCLUSIVE", drill("sample://current", "inconclusive", None)), []
        )
    )
    assert got["atlas_drills_last_success_timestamp_seconds", ()] == 0.0
    assert (
        got["atlas_drills_drill_last_success_timestamp_seconds", (("drill", "sample://current"), ("target", "standin"))]
        == 0.0
    )
    assert not [key for key in got if key[0] == "atlas_drills_drill_time_to_recover_seconds"]


def test_hostile_drill_ids_survive_label_escaping() -> None:
    hostile = 'file:///backups/a "quoted"\\path\nline.tar'
    got = samples(render_prom(run("r1", "2026-11-27T03:00:00Z", "RECOVERABLE", drill(hostile, "pass")), []))
    assert got["atlas_drills_drill_time_to_recover_seconds", (("drill", hostile), ("target", "standin"))] == 4.5


def test_the_parser_refuses_what_escaping_prevents() -> None:
    """The check above can fail: an unescaped quote in a label value is not the text format."""
    with pytest.raises(ValueError):  # noqa: PT011 - the parser raises a bare ValueError
        list(text_string_to_metric_families('# TYPE m gauge\nm{drill="a "quoted" id"} 1\n'))


def test_earlier_runs_are_read_only_until_every_answer_is_known() -> None:
    consumed: list[str] = []

    def older() -> Iterator[RunSummary]:
        for index in range(50):
            consumed.append(f"r{index}")
            yield run(f"r{index}", "2026-11-20T00:00:00Z", "RECOVERABLE", drill("sample://current", "pass"))

    render_prom(run("now", "2026-11-27T00:00:00Z", "RECOVERABLE", drill("sample://current", "pass")), older())
    assert consumed == []
    render_prom(run("now", "2026-11-27T00:00:00Z", "NOT RECOVERABLE", drill("sample://current", "fail")), older())
    assert consumed == ["r0"]


def test_earlier_runs_go_newest_first_and_skip_latest_and_the_current_run(tmp_path: Path) -> None:
    for name in ("20261125T000000Z-aaaaaa", "20261127T000000Z-cccccc", "20261126T000000Z-bbbbbb"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "drill-report.json").write_text(json.dumps({"format": "x", "run": {"id": name}}))
    (tmp_path / "latest").symlink_to("20261127T000000Z-cccccc")
    paths = [Path(r.path).parent.name for r in earlier_runs(tmp_path, "20261127T000000Z-cccccc")]
    assert paths == ["20261126T000000Z-bbbbbb", "20261125T000000Z-aaaaaa"]


def _run_suite(pytester: pytest.Pytester, scenario: dict[str, Any]) -> Path:
    (pytester.path / "scenario.json").write_text(json.dumps(scenario))
    pytester.runpytest_subprocess("drills", timeout=120)
    return latest(pytester.path).resolve()


def test_every_drill_run_writes_the_textfile_with_the_last_success_of_an_earlier_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_suite(pytester)
    env_for(pytester, monkeypatch)
    good = _run_suite(pytester, {})
    time.sleep(1.1)  # run ids are per second
    bad = _run_suite(pytester, {"sample://current": {"fail": ["query paths"]}})
    assert good != bad
    good_report = json.loads((good / "drill-report.json").read_text())
    first = samples((good / PROM_NAME).read_text())
    second = samples((bad / PROM_NAME).read_text())
    assert (latest(pytester.path) / PROM_NAME).is_file()
    good_finished = epoch(good_report["run"]["finished_at"])
    assert first["atlas_drills_last_success_timestamp_seconds", ()] == good_finished
    assert second["atlas_drills_last_success_timestamp_seconds", ()] == good_finished
    assert second["atlas_drills_last_run_timestamp_seconds", ()] > good_finished
    assert second["atlas_drills_run_verdict", (("verdict", "NOT RECOVERABLE"),)] == 1.0
    labels = (("drill", "sample://current"), ("target", "standin"))
    assert second["atlas_drills_drill_last_success_timestamp_seconds", labels] == good_finished
    assert second["atlas_drills_drill_verdict", (*labels, ("verdict", "fail"))] == 1.0
    assert second["atlas_drills_drill_time_to_recover_seconds", labels] > 0
