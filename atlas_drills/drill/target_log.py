"""Reading the events a target logged: JSON lines, as Atlas's tracing JSON layer writes them (`event_id` and the
event's fields either at the top of the object or under `fields`), and as the stand-in writes them; or text lines, as
Atlas writes them with ATLAS_LOG_JSON=false (`... event_id="startup" release_id="R"`, colour codes removed)."""

from __future__ import annotations

import json
import re
from typing import Any, Final

from atlas_drills.sandbox.target import strip_ansi

# What Atlas logs at start-up, each naming the release it serves (`app/server/host.rs`).
STARTUP_EVENTS: Final = ("config_loaded", "startup")
# One `name=value` field of a text line (tracing's fmt layer quotes strings: `name="value"`).
_TEXT_FIELD: Final = re.compile(r'\b([A-Za-z_][\w.]*)=("(?:[^"\\]|\\.)*"|[^\s"]+)')


def events(log: str) -> list[dict[str, Any]]:
    """Every event logged one per line: a JSON object with its `fields` merged in, or a text line's `name=value`
    fields when it names an `event_id` (other lines are skipped)."""
    found = []
    for line in strip_ansi(log).splitlines():
        record = _json_record(line)
        if record is None or "event_id" not in record:
            # A text line can end in JSON of its own (Atlas's config_loaded carries effective_config={...}): its
            # event is in the text fields before it.
            record = _text_record(line) or record
        if record is not None:
            found.append(record)
    return found


def _json_record(line: str) -> dict[str, Any] | None:
    start = line.find("{")
    if start < 0:
        return None
    try:
        record = json.loads(line[start:])
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    fields = record.get("fields")
    return {**record, **fields} if isinstance(fields, dict) else record


def _text_record(line: str) -> dict[str, Any] | None:
    fields = {name: value[1:-1] if value.startswith('"') else value for name, value in _TEXT_FIELD.findall(line)}
    return fields if "event_id" in fields else None


def announced_releases(log: str) -> dict[str, list[Any]]:
    """The release id each start-up event announced, by event (an event logged twice lists both; one never logged
    is absent)."""
    announced: dict[str, list[Any]] = {}
    for event in events(log):
        if event.get("event_id") in STARTUP_EVENTS:
            announced.setdefault(str(event["event_id"]), []).append(event.get("release_id"))
    return announced
