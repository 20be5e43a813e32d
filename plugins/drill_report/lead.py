"""What both renderers lead with: the failed criteria of every drill, their failed findings, and counts of the rest.

The JSON report keeps every finding; a reader of the Markdown or HTML first needs what failed and what to do about
it, and only counts of what passed (the passing findings of 3 drills run to thousands of rows).
"""

from __future__ import annotations

from typing import Any

MAX_FAILED_FINDINGS = 12  # per check, in the rendered summaries; every one stays in drill-report.json
VALUE_CHARS = 300


def failed_criteria(drills: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(drill, criterion) for every failed criterion, drill by drill in report order."""
    return [(d, c) for d in drills for c in d["criteria"] if c["verdict"] == "fail"]


def difference(finding: dict[str, Any]) -> tuple[str, Any, Any]:
    """A failed finding's first difference: (path inside the values, or "", expected there, observed there)."""
    return first_difference(finding.get("expected"), finding.get("observed"))


def failed_findings(check: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in check["findings"] if f.get("verdict") == "fail"]


def counts(criterion: dict[str, Any]) -> dict[str, int]:
    """Checks, and findings passed / failed, for a criterion's one-line summary."""
    found = {"checks": len(criterion["checks"]), "findings passed": 0, "findings failed": 0}
    for check in criterion["checks"]:
        for finding in check["findings"]:
            found["findings failed" if finding.get("verdict") == "fail" else "findings passed"] += 1
    return found


def summary(criterion: dict[str, Any]) -> str:
    """`7 check(s), 33 finding(s) passed` (and failed, when any)."""
    found = counts(criterion)
    failed = f", {found['findings failed']} failed" if found["findings failed"] else ""
    return f"{found['checks']} check(s), {found['findings passed']} finding(s) passed{failed}"


def failing_first(criteria: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Failed criteria, then inconclusive, then passed, each group in its report order."""
    rank = {"fail": 0, "inconclusive": 1}
    return sorted(criteria, key=lambda c: rank.get(c["verdict"], 2))


def first_difference(expected: Any, observed: Any, path: str = "") -> tuple[str, Any, Any]:
    """Where two recorded values first differ (`response.data.rows[0].end`), and the values there: a long answer
    is cut to its cause rather than to its first, equal, characters."""
    if isinstance(expected, dict) and isinstance(observed, dict):
        for key in sorted(set(expected) | set(observed)):
            if expected.get(key) != observed.get(key):
                return first_difference(expected.get(key), observed.get(key), f"{path}.{key}" if path else str(key))
    if isinstance(expected, list) and isinstance(observed, list) and len(expected) == len(observed):
        for index, (e, o) in enumerate(zip(expected, observed, strict=True)):
            if e != o:
                return first_difference(e, o, f"{path}[{index}]")
    return path, expected, observed
