"""The phases of a drill and the budgets of the drill plan: one definition, used by the readiness check, the report
and the README.

A drill runs through these phases, each timed on its own:

| phase | what it measures |
|---|---|
| fetch | obtaining the backup (building the embedded sample on first use) |
| verify_extract | verifying and extracting the backup into the staging folder (one pass) |
| catalog | checking the restored catalog and, as the drill's catalog mode says, rebuilding it from sealed datasets |
| transfer | moving the restored store into the sandbox (nothing to move for a local process) |
| start | from starting the target to its start-up log line |
| ready | from the start-up log line to the readiness path answering 200 |
| checks | the drill checks themselves (measured by the report on the controller) |
| teardown | saving what explains a failure, stopping the sandbox, removing the staging folder |

The budgets of the drill plan each cover a fixed set of phases:

| budget | phases | meaning |
|---|---|---|
| restore | fetch, verify_extract, catalog, transfer | from nothing to the restored store the target reads |
| ready | start, ready | from starting the target on the restored state to a ready service |
| total | fetch .. ready | the measured recovery time (RTO): from nothing to a ready service |

Checks and teardown are timed and reported, but are no part of recovery, so no budget covers them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

PHASES: Final = ("fetch", "verify_extract", "catalog", "transfer", "start", "ready", "checks", "teardown")
RECOVERY_PHASES: Final = ("fetch", "verify_extract", "catalog", "transfer", "start", "ready")
BUDGET_PHASES: Final[dict[str, tuple[str, ...]]] = {
    "restore": ("fetch", "verify_extract", "catalog", "transfer"),
    "ready": ("start", "ready"),
    "total": RECOVERY_PHASES,
}


class PhaseClock:
    """Where every phase of one drill is timed: `with clock.phase("fetch"): ...`, or `record` for a phase a part
    timed itself (the sandbox times transfer, start and ready inside its own start-up)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        began = time.monotonic()
        try:
            yield
        finally:
            self.record(name, time.monotonic() - began)

    def record(self, name: str, seconds: float) -> None:
        if name not in PHASES:
            raise ValueError(f"phase {name!r}: expected one of {', '.join(PHASES)}")
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds


@dataclass(frozen=True)
class BudgetResult:
    """One budget of the plan against the phases it covers."""

    name: str
    phases: tuple[str, ...]  # the covered phases that were measured
    seconds: float
    budget_s: float

    @property
    def within(self) -> bool:
        return self.seconds <= self.budget_s

    @property
    def where(self) -> str:
        return "phases " + " + ".join(self.phases)

    @property
    def message(self) -> str:
        """Names the budget, the phases it covers and the measure, whether within or not."""
        state = "within" if self.within else f"over by {self.seconds - self.budget_s:.3f} s"
        return f"{self.name} budget {self.budget_s:g} s, {self.where} measured {self.seconds:.3f} s: {state}"

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "phases": list(self.phases),
            "seconds": round(self.seconds, 3),
            "budget_s": float(self.budget_s),
            "within": self.within,
        }


def check_budgets(phases: Mapping[str, float], budgets: Mapping[str, float]) -> list[BudgetResult]:
    """Every budget against the measured phases it covers, in the order restore, ready, total. A budget none of
    whose phases was measured (the restore never ran) is left out."""
    results = []
    for name in sorted(budgets, key=lambda n: (list(BUDGET_PHASES).index(n) if n in BUDGET_PHASES else 99, n)):
        covered = tuple(p for p in BUDGET_PHASES.get(name, (name,)) if p in phases)
        if covered:
            results.append(BudgetResult(name, covered, sum(phases[p] for p in covered), float(budgets[name])))
    return results


def ordered(phases: Mapping[str, float]) -> list[tuple[str, float]]:
    """The measured phases in drill order (unknown names last, sorted)."""
    known = [(name, phases[name]) for name in PHASES if name in phases]
    return known + sorted((name, seconds) for name, seconds in phases.items() if name not in PHASES)


def recovery_seconds(phases: Mapping[str, float]) -> float:
    """The measured RTO: the sum of the recovery phases (what the total budget covers)."""
    return sum(phases.get(name, 0.0) for name in RECOVERY_PHASES)
