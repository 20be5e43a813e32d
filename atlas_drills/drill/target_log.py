"""Reading the events a target logged: JSON lines, as Atlas's tracing JSON layer writes them (`event_id` and the
event's fields either at the top of the object or under `fields`), and as the stand-in writes them."""

from __future__ import annotations

import json
from typing import Any, Final

# What Atlas logs at start-up, each naming the release it serves (`app/server/host.rs`).
STARTUP_EVENTS: Final = ("config_loaded", "startup")


def events(log: str) -> list[dict[str, Any]]:
    """Every JSON object logged one per line, with its `fields` merged in (lines that are not JSON are skipped)."""
    found = []
    for line in log.splitlines():
        start = line.find("{")
        if start < 0:
            continue
        try:
            record = json.loads(line[start:])
        except ValueError:
            continue
        if isinstance(record, dict):
            fields = record.get("fields")
            found.append({**record, **fields} if isinstance(fields, dict) else record)
    return found


def announced_releases(log: str) -> dict[str, list[Any]]:
    """The release id each start-up event announced, by event (an event logged twice lists both; one never logged
    is absent)."""
    announced: dict[str, list[Any]] = {}
    for event in events(log):
        if event.get("event_id") in STARTUP_EVENTS:
            announced.setdefault(str(event["event_id"]), []).append(event.get("release_id"))
    return announced
