"""Comparing two servers' answers to the same requests: what a drill reads (a difference that can change a verdict)
and everything else (cosmetic), with bodies normalised for time and order.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from atlas_drills.client import Answer, AtlasClient
from atlas_drills.conformance.probes import Probe, Relation

# Values that differ on every request or every start, never data: removed before the cosmetic comparison.
_VOLATILE_KEYS = re.compile(
    r"(request_id|trace_id|span_id|timestamp|time|_at|_ms|_s|_seconds|uptime.*|started.*|pid|pod_id|now)$"
)
_VOLATILE_HEADERS = frozenset({"date", "x-request-id", "x-trace-id", "traceparent", "content-length", "server"})
VERDICT = "verdict"
COSMETIC = "cosmetic"


@dataclass(frozen=True)
class Difference:
    kind: str  # verdict | cosmetic
    probe: str
    request: str
    part: str
    reference: Any  # the stand-in's
    observed: Any  # the given server's

    def render(self, limit: int = 12) -> str:
        lines = [f"[{self.kind}] {self.probe}: {self.request}: {self.part}"]
        spots = diff_paths(self.reference, self.observed)
        for where, mine, theirs in spots[:limit]:
            lines.append(f"    at {where or '(whole)'}: stand-in {_short(mine)} | server {_short(theirs)}")
        if len(spots) > limit:
            lines.append(f"    ... and {len(spots) - limit} more")
        return "\n".join(lines)


_MISSING = "<absent>"


def _short(value: Any) -> str:
    shown = json.dumps(value, sort_keys=True, default=str) if value is not _MISSING else _MISSING
    return shown if len(shown) <= 160 else shown[:157] + "..."


def diff_paths(mine: Any, theirs: Any, where: str = "") -> list[tuple[str, Any, Any]]:
    """Where two JSON values differ: (path, stand-in value, server value), deepest first-level differences."""
    if isinstance(mine, dict) and isinstance(theirs, dict):
        spots: list[tuple[str, Any, Any]] = []
        for key in sorted(set(mine) | set(theirs)):
            spots.extend(diff_paths(mine.get(key, _MISSING), theirs.get(key, _MISSING), f"{where}.{key}"))
        return spots
    if isinstance(mine, list) and isinstance(theirs, list) and len(mine) == len(theirs):
        spots = []
        for index, (left, right) in enumerate(zip(mine, theirs, strict=True)):
            spots.extend(diff_paths(left, right, f"{where}[{index}]"))
        return spots
    return [] if mine == theirs else [(where, mine, theirs)]


def normalise(value: Any) -> Any:
    """Drop volatile keys, sort object keys and array items (order is not what the cosmetic view compares)."""
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in sorted(value.items()) if not _VOLATILE_KEYS.search(k)}
    if isinstance(value, list):
        return sorted((normalise(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True, default=str))
    return value


def _body(answer: Answer) -> Any:
    if answer.headers.get("content-type", "").startswith("application/json"):
        try:
            return normalise(json.loads(answer.body))
        except ValueError:
            pass
    if answer.headers.get("content-type", "").startswith("text/plain; version=0.0.4"):
        # Prometheus text: the metric names served, not their values (which move with every request).
        return sorted({line.split("{")[0].split(" ")[0] for line in answer.text.splitlines() if line[:1].isalpha()})
    return answer.text.strip()


def _headers(answer: Answer) -> dict[str, str]:
    return {k: v for k, v in sorted(answer.headers.items()) if k not in _VOLATILE_HEADERS}


def describe(probe: Probe) -> str:
    query = "&".join(f"{k}={v}" for k, v in probe.params.items())
    return f"GET {probe.path}" + (f"?{query}" if query else "")


def ask(client: AtlasClient, probes: list[Probe]) -> dict[str, Answer]:
    return {probe.name: client.get(probe.path, probe.params or None) for probe in probes}


def compare(
    probes: list[Probe], relations: list[Relation], reference: dict[str, Answer], observed: dict[str, Answer]
) -> list[Difference]:
    differences: list[Difference] = []
    for probe in probes:
        mine, theirs = reference[probe.name], observed[probe.name]
        request = describe(probe)
        read_differs = False
        for part, read in probe.reads.items():
            expected, seen = read(mine), read(theirs)
            if expected != seen:
                read_differs = True
                differences.append(Difference(VERDICT, probe.name, request, part, expected, seen))
        if read_differs:
            continue  # the verdict difference says it; its cosmetic echoes would only repeat it
        if mine.status != theirs.status:
            differences.append(Difference(COSMETIC, probe.name, request, "status", mine.status, theirs.status))
        if _body(mine) != _body(theirs):
            differences.append(Difference(COSMETIC, probe.name, request, "body", _body(mine), _body(theirs)))
        for name in sorted(set(_headers(mine)) | set(_headers(theirs))):
            if _headers(mine).get(name) != _headers(theirs).get(name):
                differences.append(
                    Difference(
                        COSMETIC,
                        probe.name,
                        request,
                        f"header {name}",
                        mine.headers.get(name),
                        theirs.headers.get(name),
                    )
                )
    for relation in relations:
        expected, seen = relation.holds(reference), relation.holds(observed)
        if expected != seen:
            differences.append(Difference(VERDICT, relation.name, "(relation)", "holds", expected, seen))
    return differences
