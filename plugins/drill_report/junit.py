"""What JUnit XML carries of a drill check: its first cause up front, and properties cut to what a CI page needs.

A CI page shows a failure's `message` attribute (pytest keeps about its first 500 characters, in whole lines), so
the failure text starts with the first failed finding: criterion, check, where, expected against observed, each cut
to a sane length. Properties keep the drill id, criterion, the failed findings (values cut) and a count of the
passed ones, and the context's identifying fields; every finding in full stays in `drill-report.json`.
"""

from __future__ import annotations

import json
from typing import Any

from atlas_drills.findings import CONTEXT_PROPERTY, FINDING_PROPERTY
from plugins.drill_report.collect import FIRST_CAUSE, backup_relative
from plugins.drill_report.lead import first_difference

PASSED_PROPERTY = "drill.findings.passed"
# What a CI page needs to tell drills apart; the drill's whole context is in drill-report.json.
JUNIT_CONTEXT = ("drill", "backup", "backup_manifest_sha256", "target", "target_image", "sandbox", "isolation")
VALUE_CHARS = 160
CAUSE_CHARS = 450


def cut(value: Any, limit: int = VALUE_CHARS) -> str:
    """A value on one line (JSON for structures), cut to `limit` characters with an ellipsis."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _staging(properties: list[tuple[str, Any]]) -> str | None:
    context = next((v for k, v in reversed(properties) if k == CONTEXT_PROPERTY and isinstance(v, dict)), None)
    staging = (context or {}).get("staging")
    return staging if isinstance(staging, str) else None


def first_cause(properties: list[tuple[str, Any]]) -> str | None:
    """`first cause: [criterion] check at where: expected X, observed Y`, for the first failed finding, or None."""
    finding = next(
        (v for k, v in properties if k == FINDING_PROPERTY and isinstance(v, dict) and v.get("verdict") == "fail"),
        None,
    )
    if finding is None:
        return None
    finding = backup_relative(finding, _staging(properties))
    path, expected, observed = first_difference(finding.get("expected"), finding.get("observed"))
    line = (
        f"{FIRST_CAUSE}[{finding.get('criterion')}] {cut(finding.get('check'), 120)} "
        f"at {cut(finding.get('where'), 120)}{f' ({path})' if path else ''}: expected {cut(expected)}, "
        f"observed {cut(observed)}"
    )
    return cut(line, CAUSE_CHARS)


def lead_with_cause(longrepr: str, properties: list[tuple[str, Any]]) -> str | None:
    """The failure text with its first cause as the first line (paths relative to the backup), or None when the
    check recorded no failed finding (an assertion or an error keeps pytest's own text)."""
    cause = first_cause(properties)
    if cause is None:
        return None
    return cause + "\n" + str(backup_relative(longrepr, _staging(properties)))


def compact_properties(properties: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """The properties JUnit XML gets: failed findings with their values cut, one count of passed findings, and the
    context's identifying fields; everything else as it was."""
    staging = _staging(properties)
    kept: list[tuple[str, Any]] = []
    passed = 0
    for name, value in properties:
        if name == FINDING_PROPERTY and isinstance(value, dict):
            if value.get("verdict") != "fail":
                passed += 1
                continue
            finding = backup_relative(value, staging)
            kept.append((name, {k: cut(v) if k in ("expected", "observed") else v for k, v in finding.items()}))
        elif name == CONTEXT_PROPERTY and isinstance(value, dict):
            kept.append((name, {k: value.get(k) for k in JUNIT_CONTEXT if k in value}))
        else:
            kept.append((name, value))
    if passed:
        kept.append((PASSED_PROPERTY, passed))
    return kept
