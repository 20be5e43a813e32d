"""Budgets in real drill runs: exceeding one fails the drill (readiness), naming the budget, its phases and the
measure, and the report says the same; a target that gets ready after the ready budget, but well within the
start-up timeout, fails readiness only, while every other criterion still looks at a serving target."""

from __future__ import annotations

import json
from pathlib import Path

from atlas_drills.sample import SampleRelease
from tests.drill.test_life import target_file
from tests.faults.drill_run import PLAN, run_drills

# The self-test plan's ready budget is 4 s and its start-up timeout 8 s.
LATE = 'local_command = ["sh", "-c", "sleep 5 && exec \\"$0\\" -m atlas_drills.standin", "{python}"]'


def test_a_late_target_fails_readiness_only(sample_backup: Path, sample_release: SampleRelease, tmp_path: Path) -> None:
    target = target_file(tmp_path, LATE)
    outcome = run_drills(
        sample_backup, sample_release.root, tmp_path / "run", "local", extra=(f"--drill-target={target}",)
    )
    assert outcome.failed_criteria == {"readiness"}, outcome.output
    assert set(outcome.verdicts.values()) == {"pass", "fail"}, outcome.verdicts
    assert any("ready budget 4 s, phases start + ready measured" in m and "over by" in m for m in outcome.messages), (
        outcome.messages
    )


def test_a_drill_over_its_total_budget_is_not_recoverable(
    sample_backup: Path, sample_release: SampleRelease, tmp_path: Path
) -> None:
    plan = tmp_path / "tight.toml"
    plan.write_text(PLAN.format(sandbox="local", target="standin").replace("total = 120", "total = 0.01"))
    work = tmp_path / "run"
    outcome = run_drills(sample_backup, sample_release.root, work, "local", extra=(f"--drill-plan={plan}",))
    assert outcome.failed_criteria == {"readiness"}, outcome.output
    assert any(
        "total budget 0.01 s, phases fetch + verify_extract + catalog + transfer + start + ready" in m
        for m in outcome.messages
    )
    report = json.loads((work / "reports" / "latest" / "drill-report.json").read_text())
    assert report["verdict"]["value"] == "NOT RECOVERABLE"
    (drill,) = report["drills"]
    assert [(b["name"], b["within"]) for b in drill["budgets"]] == [
        ("restore", True),
        ("ready", True),
        ("total", False),
    ]
