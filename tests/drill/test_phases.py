"""Phases and budgets: one definition (`atlas_drills.drill.phases`) for the readiness check and the report."""

from __future__ import annotations

import pytest

from atlas_drills.drill.phases import PHASES, PhaseClock, check_budgets, ordered, recovery_seconds

MEASURED = {"fetch": 1.0, "verify_extract": 2.0, "transfer": 0.5, "start": 3.0, "ready": 4.0, "checks": 9.0}
BUDGETS = {"restore": 3.5, "ready": 6.0, "total": 11.0}


def test_each_budget_covers_its_phases_and_nothing_else() -> None:
    results = {r.name: r for r in check_budgets(MEASURED, BUDGETS)}
    assert list(results) == ["restore", "ready", "total"]
    assert (results["restore"].phases, results["restore"].seconds) == (("fetch", "verify_extract", "transfer"), 3.5)
    assert (results["ready"].phases, results["ready"].seconds) == (("start", "ready"), 7.0)
    assert results["total"].seconds == recovery_seconds(MEASURED) == 10.5  # the checks are no part of recovery
    assert [r.within for r in results.values()] == [True, False, True]


def test_a_budget_exceeded_names_itself_its_phases_and_the_measure() -> None:
    (ready,) = [r for r in check_budgets(MEASURED, BUDGETS) if r.name == "ready"]
    assert ready.message == "ready budget 6 s, phases start + ready measured 7.000 s: over by 1.000 s"
    assert ready.to_dict() == {
        "name": "ready",
        "phases": ["start", "ready"],
        "seconds": 7.0,
        "budget_s": 6.0,
        "within": False,
    }


def test_a_budget_whose_phases_never_ran_is_left_out() -> None:
    assert check_budgets({"fetch": 1.0}, BUDGETS)[0].name == "restore"
    assert [r.name for r in check_budgets({}, BUDGETS)] == []


def test_the_clock_times_each_phase_once_in_drill_order() -> None:
    clock = PhaseClock()
    clock.record("teardown", 0.2)
    with clock.phase("verify_extract"):
        pass
    clock.record("fetch", 0.1)
    assert [name for name, _ in ordered(clock.seconds)] == ["fetch", "verify_extract", "teardown"]
    assert set(PHASES) >= set(clock.seconds)
    with pytest.raises(ValueError, match="phase 'warmup'"):
        clock.record("warmup", 1.0)
