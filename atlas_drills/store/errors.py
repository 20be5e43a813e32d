"""Violations: one broken rule, with the field, what was expected and what was observed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Violation:
    """One rule a store file breaks. `where` names the file (or other location) when known."""

    field: str
    rule: str
    expected: Any
    observed: Any
    where: str = ""

    def __str__(self) -> str:
        location = f"{self.where}: " if self.where else ""
        return f"{location}{self.field}: {self.rule} (expected {self.expected!r}, observed {self.observed!r})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "rule": self.rule,
            "expected": self.expected,
            "observed": self.observed,
            "where": self.where,
        }


class StoreError(Exception):
    """A store file that cannot be used, with every violation found in it."""

    def __init__(self, where: str, violations: list[Violation]) -> None:
        self.where = where
        self.violations = violations
        lines = "\n".join(f"  - {violation}" for violation in violations)
        super().__init__(f"{where}: {len(violations)} violation(s)\n{lines}")
