"""Structured log lines on stderr: one JSON object per line, as Atlas's tracing json layer writes them.

Each line carries `timestamp`, `level`, `event_id`, `message` and `fields`. With `ATLAS_LOG_JSON=false` the same
content is written as one text line shaped like tracing's default formatter, which Atlas uses then:
`<timestamp> <LEVEL> <target>: <message> event_id="<id>" key=value ...`. Callers pass only values that are safe to
log: configuration goes through `runtime_config.redact` before it gets here.
"""

from __future__ import annotations

import json
import sys
import threading
from datetime import UTC, datetime
from typing import Any, TextIO

_LEVELS = {"error": 0, "warn": 1, "info": 2, "debug": 3, "trace": 4}


class Logger:
    def __init__(self, *, json_lines: bool = True, level: str = "info", stream: TextIO | None = None) -> None:
        self.json_lines = json_lines
        self.threshold = _LEVELS.get(level, 2)
        self.stream = stream if stream is not None else sys.stderr
        self._lock = threading.Lock()

    def event(self, level: str, event_id: str, message: str, **fields: Any) -> None:
        if _LEVELS[level] > self.threshold:
            return
        timestamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        if self.json_lines:
            record = {
                "timestamp": timestamp,
                "level": level.upper(),
                "event_id": event_id,
                "message": message,
                "fields": fields,
            }
            line = json.dumps(record, separators=(",", ":"), default=str)
        else:
            rendered = " ".join(f"{key}={value}" for key, value in fields.items())
            line = f'{timestamp} {level.upper():>5} atlas_drills::standin: {message} event_id="{event_id}" {rendered}'
            line = line.rstrip()
        with self._lock:
            self.stream.write(line + "\n")
            self.stream.flush()
