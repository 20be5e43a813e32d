"""From pytest's phase reports (setup, call, teardown, and xdist's synthetic crash report) to check records.

Reports of different tests interleave under xdist, so everything is keyed by node id and decided only at the end.
A crashed worker's report (`when == "???"`) carries no user properties: its drill and criterion come from the
node's earlier phases, from collection (serial runs), or from the node id itself (`test_x.py::test_y[<drill id>]`)
and what other checks of the same module said their criterion was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from atlas_drills.findings import (
    CONTEXT_PROPERTY,
    CRITERIA,
    CRITERION_PROPERTY,
    DRILL_ID_PROPERTY,
    FINDING_PROPERTY,
    OUTCOME_PROPERTY,
    TEARDOWN_PROPERTY,
)
from plugins.drill_report.model import UNPLACED_CRITERION, CheckRecord
from plugins.drill_report.redact import Redactor

CRASH_WHEN = "???"
FIRST_CAUSE = "first cause: "
EXCERPT_CHARS = 2000
_PARAMS = re.compile(r"^(?P<base>[^\[]*)\[(?P<params>.*)\]$")


@dataclass
class PhaseResult:
    when: str
    outcome: str
    duration: float
    longrepr: str
    logs: str
    xfail: bool


@dataclass
class NodeState:
    nodeid: str
    phases: list[PhaseResult] = field(default_factory=list)
    properties: list[tuple[str, Any]] = field(default_factory=list)


def placement_from(properties: list[tuple[str, Any]]) -> tuple[str | None, str | None]:
    drill_id = next((str(v) for k, v in properties if k == DRILL_ID_PROPERTY), None)
    criterion = next((str(v) for k, v in properties if k == CRITERION_PROPERTY), None)
    return drill_id, criterion


def module_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def criterion_from_module(module: str) -> str | None:
    """`drills/test_query_paths.py` -> "query paths", and `drills/test_rollback_policy_performed.py` -> "rollback
    policy": a module named after a criterion, or after a criterion and more. Only modules in a `drills` folder
    count: a self-test that happens to be called `test_readiness.py` is not a drill check."""
    folder, _, name = module.rpartition("/")
    if folder.rsplit("/", 1)[-1] != "drills":
        return None
    stem = name.removesuffix(".py").removeprefix("test_").replace("_", " ")
    return next((c for c in CRITERIA if stem == c or stem.startswith(c + " ")), None)


def drill_id_from_nodeid(nodeid: str, known: set[str]) -> str | None:
    """The drill id inside a node id's parameters: a known id when one fits, else the whole parameter string."""
    match = _PARAMS.match(nodeid)
    if match is None:
        return None
    params = match.group("params")
    if params in known:
        return params
    fitting = [k for k in known if params.startswith(k + "-") or params.endswith("-" + k) or f"-{k}-" in params]
    return max(fitting, key=len) if fitting else params


class Collector:
    """Accumulates phase reports of drill checks; `records()` decides each check's status."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor
        self.nodes: dict[str, NodeState] = {}
        self.collected: dict[str, tuple[str | None, str | None]] = {}
        self.collection_errors: list[str] = []

    def collected_items(self, placements: dict[str, tuple[str | None, str | None]]) -> None:
        """Node ids this run will run, with their placement when known (serial runs know it from the items)."""
        for nodeid, placement in placements.items():
            if placement != (None, None) or nodeid not in self.collected:
                self.collected[nodeid] = placement

    def add(self, report: Any) -> NodeState:
        state = self.nodes.setdefault(report.nodeid, NodeState(report.nodeid))
        properties = [(str(k), v) for k, v in getattr(report, "user_properties", []) or []]
        if len(properties) >= len(state.properties):
            state.properties = properties
        for _, value in properties:
            self.redactor.learn(value)
        longrepr = _longrepr_text(report)
        logs = "\n".join(f"--- {title} ---\n{content}" for title, content in getattr(report, "sections", []) or [])
        state.phases.append(
            PhaseResult(
                when=str(report.when),
                outcome=str(report.outcome),
                duration=float(getattr(report, "duration", 0.0) or 0.0),
                longrepr=longrepr,
                logs=logs,
                xfail=bool(getattr(report, "wasxfail", None) is not None),
            )
        )
        return state

    def placement(self, nodeid: str) -> tuple[str | None, str]:
        state = self.nodes.get(nodeid)
        drill_id, criterion = placement_from(state.properties) if state else (None, None)
        collected_drill, collected_criterion = self.collected.get(nodeid, (None, None))
        drill_id = drill_id or collected_drill
        criterion = criterion or collected_criterion
        if drill_id is None:
            drill_id = drill_id_from_nodeid(nodeid, self.known_drills()) if self._is_drill_module(nodeid) else None
        if criterion is None:
            criterion = self.module_criteria().get(module_of(nodeid)) or criterion_from_module(module_of(nodeid))
        return drill_id, criterion or UNPLACED_CRITERION

    def known_drills(self) -> set[str]:
        known = {d for d, _ in self.collected.values() if d}
        known.update(d for s in self.nodes.values() if (d := placement_from(s.properties)[0]))
        return known

    def module_criteria(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for nodeid, (_, criterion) in self.collected.items():
            if criterion:
                found.setdefault(module_of(nodeid), criterion)
        for state in self.nodes.values():
            criterion = placement_from(state.properties)[1]
            if criterion:
                found.setdefault(module_of(state.nodeid), criterion)
        return found

    def _is_drill_module(self, nodeid: str) -> bool:
        """A node without drill properties is a drill check only if its module holds other drill checks (or
        is named after a criterion): a crashed drill check has no properties, a plain unit test never has."""
        module = module_of(nodeid)
        return module in self.module_criteria() or criterion_from_module(module) is not None

    def records(self) -> list[CheckRecord]:
        """Every drill check of the run, run or not, with its status decided from all its phases."""
        records = []
        for nodeid in sorted(set(self.nodes) | set(self.collected)):
            drill_id, criterion = self.placement(nodeid)
            if drill_id is None:
                continue
            name = nodeid.split("::")[-1].split("[", 1)[0]
            state = self.nodes.get(nodeid)
            if state is None:
                records.append(CheckRecord(nodeid, drill_id, criterion, name, message=NOT_RUN))
            else:
                records.append(_decide(CheckRecord(nodeid, drill_id, criterion, name), state))
        return records


NOT_RUN = "not run: the run ended before this check started"


def _decide(placed: CheckRecord, state: NodeState) -> CheckRecord:
    """The check as its phases and properties say it went."""
    props = state.properties
    contexts = [v for k, v in props if k == CONTEXT_PROPERTY and isinstance(v, dict)]
    outcomes = [v for k, v in props if k == OUTCOME_PROPERTY and isinstance(v, dict)]
    bad = next((p for p in state.phases if p.outcome == "failed" or p.when == CRASH_WHEN), None)
    shown = bad or next((p for p in state.phases if p.outcome == "skipped"), None)
    record = replace(
        placed,
        findings=tuple(dict(v) for k, v in props if k == FINDING_PROPERTY and isinstance(v, dict)),
        context=contexts[-1] if contexts else None,
        outcome=outcomes[-1] if outcomes else None,
        teardowns=tuple(dict(v) for k, v in props if k == TEARDOWN_PROPERTY and isinstance(v, dict)),
        duration_s=sum(p.duration for p in state.phases),
        call_s=sum(p.duration for p in state.phases if p.when == "call"),
        when=bad.when if bad else None,
        message=_first_line(shown.longrepr) if shown else "",
        log_excerpt=_tail(_essence(shown.longrepr) + ("\n" + shown.logs if shown.logs else "")) if shown else "",
    )
    record = relative_to_backup(record)
    return replace(record, status=_status({p.when: p for p in state.phases}, record))


def backup_relative(value: Any, staging: str | None) -> Any:
    """Every path into the restored tree, in a string or nested in lists and dicts, made relative to the backup:
    `<staging>/store/x` becomes `store/x` and `<staging>` itself `.`. The tree is removed at teardown, so only the
    relative path still means something (it names the same member of the backup)."""
    if not staging:
        return value
    root = staging.rstrip("/")
    if isinstance(value, str):
        return value.replace(root + "/", "").replace(root, ".") if root in value else value
    if isinstance(value, list | tuple):
        return [backup_relative(item, root) for item in value]
    if isinstance(value, dict):
        return {key: backup_relative(item, root) for key, item in value.items()}
    return value


def relative_to_backup(record: CheckRecord) -> CheckRecord:
    """The check with its findings (where, expected, observed, message), its message and its log excerpt citing
    paths relative to the backup, as its drill context says where the backup was restored."""
    staging = (record.context or {}).get("staging")
    if not isinstance(staging, str) or not staging:
        return record
    return replace(
        record,
        findings=tuple(backup_relative(finding, staging) for finding in record.findings),
        message=backup_relative(record.message, staging),
        log_excerpt=backup_relative(record.log_excerpt, staging),
        context=_overrides_relative(record.context, staging),
    )


def _overrides_relative(context: dict[str, Any] | None, staging: str) -> dict[str, Any] | None:
    """The drill context with the overrides' values (the sandbox's own store root, inside the restored tree)
    relative to the backup; every other field as it was."""
    if not context or "config_overrides" not in context:
        return context
    return {**context, "config_overrides": backup_relative(context["config_overrides"], staging)}


def _status(by_when: dict[str, PhaseResult], record: CheckRecord) -> str:
    """The first rule that applies wins: a crash, a failed finding, the restore's outcome, then the phases."""
    outcome = {"crashed": CRASH_WHEN in by_when}
    outcome["failed"] = any(f.get("verdict") == "fail" for f in record.findings)
    if record.outcome is not None:
        outcome["refused" if record.outcome.get("kind") == "refused" else "inconclusive"] = True
    setup, call, teardown = by_when.get("setup"), by_when.get("call"), by_when.get("teardown")
    outcome["failed"] |= call is not None and call.outcome == "failed"
    outcome["error"] = any(p is not None and p.outcome == "failed" for p in (setup, teardown))
    outcome["skipped"] = any(p is not None and p.outcome == "skipped" for p in (setup, call))
    outcome["passed"] = call is not None and call.outcome == "passed" and teardown is not None
    order = ("crashed", "failed", "refused", "inconclusive", "error", "skipped", "passed")
    return next((status for status in order if outcome.get(status)), "not run")


def _longrepr_text(report: Any) -> str:
    longrepr = report.longrepr
    if longrepr is None:
        return ""
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # a skip: (path, line, "Skipped: reason")
        return str(longrepr[2])
    if isinstance(longrepr, str):  # rewritten on the controller (first cause, redaction): newer than `longreprtext`,
        return longrepr  # which a report from an xdist worker carries as rendered there
    return str(getattr(report, "longreprtext", "") or longrepr)


def _first_line(text: str) -> str:
    if text.startswith(FIRST_CAUSE):  # the reporter put the first failed finding up front
        return text.splitlines()[0][:300]
    for line in text.splitlines():
        if line.strip().startswith("E "):
            return line.strip()[2:].strip()[:300]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


_WORKER_HEADER = re.compile(r"^\[gw\d+\] .* -- Python \S+ \S+$")


def _essence(longrepr: str) -> str:
    """The error lines (`E ...`) and where it was raised: stable across runs and workers, unlike the full traceback
    (which shows object addresses and xdist's worker header). A failure without a traceback (`pytrace=False`, as
    a drill check's failed findings are reported) is kept whole, less xdist's worker header."""
    lines = [line for line in longrepr.splitlines() if not _WORKER_HEADER.match(line)]
    errors = [line for line in lines if line.startswith("E ")]
    where = [line for line in lines if re.match(r"^\S+:\d+: \w", line)]
    kept = errors + where[-1:]
    return "\n".join(kept or lines)


def _tail(text: str) -> str:
    text = text.strip()
    return text if len(text) <= EXCERPT_CHARS else "...\n" + text[-EXCERPT_CHARS:]
