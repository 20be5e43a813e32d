"""The release a target announced at start-up, read from its start-up events (not from any line of its log)."""

from __future__ import annotations

import json
from typing import Any

from atlas_drills.drill.target_log import announced_releases

ATLAS_STYLE: list[dict[str, Any]] = [  # tracing's JSON layer: the event's fields under "fields"
    {"level": "INFO", "fields": {"event_id": "config_loaded", "release_id": "ops_run-a", "message": "config"}},
    {"level": "INFO", "fields": {"event_id": "startup", "release_id": "ops_run-a", "message": "listening"}},
]
STANDIN_STYLE: list[dict[str, Any]] = [  # the stand-in: event_id at the top, the rest under "fields"
    {"event_id": "config_loaded", "fields": {"release_id": "ops_run-a"}},
    {"event_id": "startup", "fields": {"release_id": "ops_run-a"}},
]


def log(*records: dict[str, Any]) -> str:
    return "\n".join(json.dumps(record) for record in records) + "\n"


def test_both_start_up_events_name_the_release() -> None:
    for records in (ATLAS_STYLE, STANDIN_STYLE):
        assert announced_releases(log(*records)) == {"config_loaded": ["ops_run-a"], "startup": ["ops_run-a"]}


def test_a_release_named_elsewhere_in_the_log_is_not_an_announcement() -> None:
    # The start-up event names another release; a later request log mentions the expected one.
    records: list[dict[str, Any]] = [*ATLAS_STYLE[:1], {"fields": {"event_id": "startup", "release_id": "ops_run-b"}}]
    text = log(*records, {"fields": {"event_id": "request", "release_id": "ops_run-a"}}) + "plain text ops_run-a\n"
    assert announced_releases(text) == {"config_loaded": ["ops_run-a"], "startup": ["ops_run-b"]}
    assert announced_releases("release_id ops_run-a\nnot json\n") == {}


# Atlas with ATLAS_LOG_JSON=false (lines as bijux-atlas-server 09b857200c15 writes them, shortened, colours kept):
# config_loaded ends in the effective configuration as JSON, which must not hide the event before it.
ATLAS_TEXT = (
    "\x1b[2m2026-11-27T20:32:08.073405Z\x1b[0m \x1b[32m INFO\x1b[0m \x1b[2mbijux_atlas::app::server::host\x1b[0m"
    '\x1b[2m:\x1b[0m effective runtime config \x1b[3mevent_id\x1b[0m\x1b[2m=\x1b[0m"config_loaded" '
    "\x1b[3mrelease_id\x1b[0m\x1b[2m=\x1b[0mops_run-a \x1b[3meffective_config\x1b[0m\x1b[2m=\x1b[0m"
    '{"api":{"allowed_api_keys":["<redacted>"],"audit":{"enabled":false}}}\n'
    "\x1b[2m2026-11-27T20:32:08.075551Z\x1b[0m \x1b[32m INFO\x1b[0m bijux-atlas-server listening "
    '\x1b[3mevent_id\x1b[0m\x1b[2m=\x1b[0m"startup" \x1b[3mrelease_id\x1b[0m\x1b[2m=\x1b[0mops_run-a '
    "\x1b[3mbind_addr\x1b[0m\x1b[2m=\x1b[0m127.0.0.1:18555\n"
)


def test_text_lines_that_end_in_json_still_announce_their_event() -> None:
    assert announced_releases(ATLAS_TEXT) == {"config_loaded": ["ops_run-a"], "startup": ["ops_run-a"]}
    other = ATLAS_TEXT.replace("ops_run-a \x1b[3meffective", "ops_run-b \x1b[3meffective")
    assert announced_releases(other) == {"config_loaded": ["ops_run-b"], "startup": ["ops_run-a"]}
