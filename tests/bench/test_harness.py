"""The bench harness's own logic, without Docker or large samples: what it refuses and what it reports.

The benchmarks themselves are not tests (they run with `make bench`); these check that the harness refuses a drill
it must not time, reads `make drill`'s arguments from the Makefile, refuses when the disk is short, parses its
options, reuses only fresh cache entries of the same code, and judges the targets both ways.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.bench import cost_curves, render_curves, samples
from tests.bench.__main__ import _dataset_counts, _sections, _sizes
from tests.bench.common import BenchError


def _report(statuses: dict[str, str], verdict: str = "RECOVERABLE") -> dict[str, Any]:
    checks = [{"name": name, "status": status, "duration_s": 0.5} for name, status in statuses.items()]
    return {
        "verdict": {"value": verdict},
        "drills": [{"phases": [{"name": "transfer", "seconds": 1.0}], "criteria": [{"checks": checks}]}],
    }


def _write_report(folder: Path, document: dict[str, Any]) -> Path:
    (folder / "latest").mkdir(parents=True)
    (folder / "latest" / "drill-report.json").write_text(json.dumps(document))
    return folder


def test_a_drill_where_every_check_passed_is_accepted(tmp_path: Path) -> None:
    report = cost_curves.checked_report(_write_report(tmp_path, _report({"test_a": "passed", "test_b": "passed"})))
    assert report["verdict"]["value"] == "RECOVERABLE"


def test_a_drill_with_a_skipped_check_is_refused_naming_it(tmp_path: Path) -> None:
    folder = _write_report(tmp_path, _report({"test_a": "passed", "test_baseline_answers_replay_exactly": "skipped"}))
    with pytest.raises(BenchError, match=r"test_baseline_answers_replay_exactly.*baseline"):
        cost_curves.checked_report(folder)


def test_a_drill_that_did_not_pass_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="NOT_RECOVERABLE"):
        cost_curves.checked_report(_write_report(tmp_path, _report({"test_a": "failed"}, "NOT_RECOVERABLE")))


def test_a_missing_report_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="no drill report"):
        cost_curves.checked_report(tmp_path)


def test_make_drill_arguments_come_from_the_makefile(tmp_path: Path) -> None:
    args = cost_curves.make_drill_args()
    assert "-n" in args
    assert "--dist" in args
    assert "$(DRILL_ARGS)" not in args
    makefile = tmp_path / "Makefile"
    makefile.write_text("drill: images\n\t$(PY) -m pytest drills -n 3 -p no:foo $(DRILL_ARGS)\n")
    assert cost_curves.make_drill_args(makefile) == ["-n", "3", "-p", "no:foo"]
    makefile.write_text("test:\n\tpytest tests\n")
    with pytest.raises(BenchError, match="drill"):
        cost_curves.make_drill_args(makefile)


def test_the_profiled_drill_runs_without_xdist() -> None:
    argv = cost_curves._without_xdist(["pytest", "drills", "-n", "2", "--dist", "loadgroup", "--max-worker-restart=0"])
    assert argv == ["pytest", "drills"]


def test_disk_short_is_refused_with_the_figures(tmp_path: Path) -> None:
    cost_curves.ensure_disk(tmp_path, 0, "nothing")
    with pytest.raises(BenchError, match=r"not enough free disk at .*GiB free.*--sizes"):
        cost_curves.ensure_disk(tmp_path, 1 << 60, "the 1M-gene backup")


def test_the_disk_plan_grows_with_the_sizes(tmp_path: Path) -> None:
    small = cost_curves.disk_plan([samples.Recipe(None)], tmp_path, keep=False)
    large = cost_curves.disk_plan([samples.Recipe(None), samples.Recipe(1_000_000)], tmp_path, keep=True)
    assert large > 5 * 5_000_000_000 > small


def test_options_parse_sizes_sections_and_dataset_counts() -> None:
    assert _sizes("default,100k,300000,1M") == [None, 100_000, 300_000, 1_000_000]
    assert _sections("curves,throughput") == {"curves", "drills"}
    assert _dataset_counts("2,4,8") == [2, 4, 8]
    for parse, bad in ((_sizes, "lots"), (_sizes, "5"), (_sections, "curve"), (_dataset_counts, "1,2")):
        with pytest.raises(argparse.ArgumentTypeError):
            parse(bad)


def _entry(folder: Path, built_at: datetime) -> None:
    folder.mkdir(parents=True)
    (folder / samples.BACKUP_NAME).write_bytes(b"x")
    (folder / "entry.json").write_text(json.dumps({"built_at": built_at.isoformat(), "build_s": 1.0}))


def test_the_cache_reuses_only_fresh_entries(tmp_path: Path) -> None:
    fresh, stale = tmp_path / "fresh", tmp_path / "stale"
    _entry(fresh, datetime.now(UTC))
    _entry(stale, datetime.now(UTC) - timedelta(hours=samples.MAX_AGE_H + 1))
    assert samples._usable(fresh) is not None
    assert samples._usable(stale) is None
    assert samples._usable(tmp_path / "absent") is None


def test_the_cache_key_names_recipe_and_code_version() -> None:
    one = samples.Recipe(100_000).key()
    assert one.endswith(samples.code_version())
    assert "g100000" in one
    assert samples.Recipe(100_000, samples.releases_for(8), second_species=False).key() != one
    assert samples.Recipe(100_000, samples.releases_for(8), second_species=False).datasets == 8


def test_pruning_keeps_this_code_versions_entries(tmp_path: Path) -> None:
    mine = tmp_path / samples.Recipe(None).key()
    building = tmp_path / (samples.Recipe(10).key() + ".building")
    other = tmp_path / "gdefault-r3-mm-000000000000"
    for folder in (mine, building, other):
        folder.mkdir()
    samples.prune(tmp_path)
    assert mine.exists()
    assert building.exists()
    assert not other.exists()


def test_the_profile_summary_names_the_heavy_calls(tmp_path: Path) -> None:
    output = tmp_path / "p.prof"
    profiler = cProfile.Profile()
    profiler.runcall(cost_curves.make_drill_args)
    profiler.dump_stats(output)
    summary = cost_curves.summarize_profile(output)
    assert any("make_drill_args" in row["where"] for row in summary["cumulative"])
    assert summary["own_time"]


def _point(genes: int | None, ratio: float) -> dict[str, Any]:
    summary = {"median": ratio, "min": ratio, "max": ratio, "runs": 3}
    return {
        "label": "1,000,000" if genes else "default",
        "genes": genes,
        "datasets": 4,
        "backup_bytes": 5_500_000_000,
        "one_read_s": {"median": 1.0, "min": 1.0, "max": 1.0, "runs": 3},
        "drill_s": summary,
        "ratio": ratio,
        "phases_s": {"verify_extract": 2.0, "transfer": 9.0},
        "checks_s": {"test_a": 3.0},
    }


@pytest.mark.parametrize(("ratio", "met"), [(3.9, True), (4.1, False)])
def test_the_curve_target_is_judged_on_the_1m_point(ratio: float, met: bool) -> None:
    results = {"curves": {"ok": True, "data": {"points": [_point(None, 50.0), _point(1_000_000, ratio)]}}}
    [(label, measured, verdict, why)] = render_curves.targets(results)
    assert "4x" in label
    assert f"{ratio:.1f}x" in measured
    assert verdict is met
    assert "transfer 9.0 s" in why
    assert "test_a" in why


def test_without_the_1m_point_the_curve_target_is_not_judged() -> None:
    results = {"curves": {"ok": True, "data": {"points": [_point(None, 50.0)]}}}
    [(_, measured, verdict, _)] = render_curves.targets(results)
    assert verdict is None
    assert "not measured" in measured


@pytest.mark.parametrize(("wall", "met"), [(2.5, True), (3.5, False)])
def test_the_make_drill_target(wall: float, met: bool) -> None:
    data = {"wall_s": {"median": wall, "min": wall, "max": wall, "runs": 5}, "phases_s": {"fetch": 1.0}, "command": ""}
    [(_, _, verdict, why)] = render_curves.targets({"make-drill": {"ok": True, "data": data}})
    assert verdict is met
    assert "fetch 1.0 s" in why


def test_an_entry_of_older_code_is_reused_only_when_asked(tmp_path: Path) -> None:
    recipe = samples.Recipe(None)
    older = tmp_path / recipe.key("000000000000")
    _entry(older, datetime.now(UTC))
    reused = samples.cached_backup(tmp_path, recipe, lambda _: None, reuse_older=True)
    assert reused.folder == older
    assert reused.reused
    assert not (tmp_path / recipe.key()).exists()


def test_a_failing_drill_process_is_refused_with_what_it_printed(tmp_path: Path) -> None:
    assert cost_curves.run_drill([sys.executable, "-c", "print('fine')"], tmp_path) >= 0
    with pytest.raises(BenchError, match=r"pytest exit 1.*\n.*1 failed"):
        cost_curves.run_drill([sys.executable, "-c", "print('1 failed'); raise SystemExit(1)"], tmp_path)
