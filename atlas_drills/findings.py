"""Findings: one checked fact of a drill, with expected, observed and where, as primitives only.

Findings travel from xdist workers to the controller inside `user_properties`, so every value must be a str, int,
float, bool, None, or a list/dict of those: a Path or an Enum would break the transport. `check_primitive` enforces
that at the moment a finding is recorded, naming the offending key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CRITERIA = ("release identity", "rollback policy", "readiness", "query paths", "evidence")

DRILL_ID_PROPERTY = "drill.id"  # on every drill check, from collection
CRITERION_PROPERTY = "drill.criterion"  # on every drill check that has a criterion marker
FINDING_PROPERTY = "drill.finding"  # one per checked fact: Finding.as_dict()
CONTEXT_PROPERTY = "drill.context"  # once per test that used a restore: atlas_drills.drill.context.drill_context
OUTCOME_PROPERTY = "drill.outcome"  # when the drill could not run normally: {"kind": "refused"|"inconclusive", ...}
TEARDOWN_PROPERTY = "drill.teardown"  # once per restore, when torn down: {"drill", "life", "seconds"}
ARTEFACTS_PROPERTY = "drill.artefacts"  # what explains a failed drill: {"drill", "files": {name: text}}
CRITERION_MARKER = "criterion"


class NotPrimitive(TypeError):
    """A value recorded as evidence that cannot travel between processes."""


def check_primitive(value: Any, key: str = "value") -> None:
    """Raise `NotPrimitive` naming the first non-primitive leaf in `value`."""
    if value is None or isinstance(value, str | bool | int | float):
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check_primitive(item, f"{key}[{index}]")
        return
    if isinstance(value, dict):
        for name, item in value.items():
            if not isinstance(name, str):
                raise NotPrimitive(f"{key}: dict key {name!r} is {type(name).__name__}, expected str")
            check_primitive(item, f"{key}.{name}")
        return
    raise NotPrimitive(f"{key}: {type(value).__name__} is not a primitive; record str(value) or its fields instead")


@dataclass(frozen=True)
class Finding:
    criterion: str
    check: str
    ok: bool
    expected: Any
    observed: Any
    where: str
    message: str = ""

    def __post_init__(self) -> None:
        if self.criterion not in CRITERIA:
            raise ValueError(f"criterion {self.criterion!r}: expected one of {', '.join(CRITERIA)}")
        check_primitive(self.expected, f"{self.check}.expected")
        check_primitive(self.observed, f"{self.check}.observed")

    def as_dict(self) -> dict[str, Any]:
        return {
            "criterion": self.criterion,
            "check": self.check,
            "verdict": "pass" if self.ok else "fail",
            "expected": self.expected,
            "observed": self.observed,
            "where": self.where,
            "message": self.message,
        }

    def __str__(self) -> str:
        state = "ok" if self.ok else "FAILED"
        detail = f" ({self.message})" if self.message else ""
        return (
            f"[{self.criterion}] {self.check} {state} at {self.where}: "
            f"expected {self.expected!r}, observed {self.observed!r}{detail}"
        )
