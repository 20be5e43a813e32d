"""A target that gets ready after the ready budget, but well within the start-up timeout, fails the readiness
criterion only, with a message naming the budget, its phases and the measure; every other criterion still looks at
a serving target and passes."""

from __future__ import annotations

from pathlib import Path

from atlas_drills.sample import SampleRelease
from tests.drill.test_life import target_file
from tests.faults.drill_run import run_drills

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
