"""Operator text for `atlas-drills evidence check`: broken links grouped by file, one line each, no Python reprs.

Values are written the way an operator reads them: strings bare, lists and objects cut after a few items with a
count of the rest. `--json` is where the complete findings are; this is a reading aid.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Final

from atlas_drills.evidence.paths import RELEASE_FILES
from atlas_drills.evidence.schemas import OWN_PREFIX
from atlas_drills.findings import Finding

MAX_ITEMS: Final = 4
MAX_CHARS: Final = 100
_SCHEMA_CHECK: Final = " matches "
_VALIDATED: Final = frozenset(release_file.relpath for release_file in RELEASE_FILES)


def show(value: Any, depth: int = 0) -> str:  # noqa: PLR0911 - one return per kind of JSON value
    """`value` as an operator reads it: `nothing`, `true`, a bare string, `[a, b, ... (+3 more)]`."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value if len(value) <= MAX_CHARS else f"{value[:MAX_CHARS]}... ({len(value)} chars)"
    if isinstance(value, int | float):
        return str(value)
    if depth >= 2:
        return "[...]" if isinstance(value, list) else "{...}"
    if isinstance(value, list):
        return "[" + _cut([show(v, depth + 1) for v in value]) + "]"
    if isinstance(value, dict):
        return "{" + _cut([f"{k}: {show(v, depth + 1)}" for k, v in value.items()]) + "}"
    return type(value).__name__


def _cut(items: list[str]) -> str:
    if len(items) <= MAX_ITEMS:
        return ", ".join(items)
    return ", ".join(items[:MAX_ITEMS]) + f", ... (+{len(items) - MAX_ITEMS} more)"


def _rule(expected: Any) -> str:
    """A schema finding's expected {keyword, value}, as the rule it states."""
    keyword, value = expected.get("keyword"), expected.get("value")
    if keyword == "required":
        return "present"
    if keyword == "additionalProperties" and value is False:
        return "no key the schema does not define"
    return f"{keyword} {show(value)}"


def _file_and_field(where: str) -> tuple[str, str]:
    file, _, rest = where.partition(": ")
    return file, rest or "(the file)"


def _schema_of(finding: Finding) -> str:
    """The schema that judged `finding`, when it is a schema finding of a release file; else ""."""
    file, _, schema = finding.check.partition(_SCHEMA_CHECK)
    return schema if file in _VALIDATED else ""


def line(finding: Finding) -> str:
    """One broken link: `field: what was checked: expected X, observed Y`."""
    _, name = _file_and_field(finding.where)
    expected, schema = finding.expected, _schema_of(finding)
    if schema and isinstance(expected, dict) and set(expected) == {"keyword", "value"}:
        check, expected_text = f"schema {schema}", _rule(expected)
    else:
        check, expected_text = finding.check, show(expected)
    observed = show(finding.observed)
    if finding.observed is None and finding.message:
        observed = f"nothing ({finding.message})"
    return f"  {name}: {check}: expected {expected_text}, observed {observed}"


def _grouped(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    groups: dict[str, list[Finding]] = {}
    for finding in findings:
        groups.setdefault(_file_and_field(finding.where)[0], []).append(finding)
    return groups


def failures(failed: list[Finding]) -> Iterator[str]:
    for file, group in _grouped(failed).items():
        yield f"FAIL {file}: {len(group)} broken"
        for finding in group:
            yield line(finding)


def passes(held: list[Finding]) -> Iterator[str]:
    for file, group in _grouped(held).items():
        yield f"ok   {file}: {len(group)} hold"
        for finding in group:
            yield f"  {_file_and_field(finding.where)[1]}: {finding.check}"


def judges(findings: list[Finding]) -> Iterator[str]:
    """Which schema judged each release file: the one the release ships, or the suite's own."""
    seen: dict[str, str] = {}
    for finding in findings:
        if schema := _schema_of(finding):
            seen.setdefault(finding.check.partition(_SCHEMA_CHECK)[0], schema)
    if seen:
        yield "schemas:"
    for file, schema in seen.items():
        origin = (
            "atlas-drills schema: the release ships none"
            if schema.startswith(OWN_PREFIX)
            else "shipped with the release"
        )
        yield f"  {file}: {schema} ({origin})"
