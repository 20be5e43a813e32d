"""Hooks the drill report offers to other plugins (registered through `pytest_addhooks`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


def pytest_drill_report_ready(config: pytest.Config, report: dict[str, Any], folder: Path) -> None:
    """Called on the controller once every report file is written to `folder` (`reports/<run-id>/`).

    `report` is the redacted JSON document (`ops/schema/drill-report.schema.json`); treat it as read-only. Use it to
    upload the report, notify a channel, or attach the verdict to a release.
    """


@pytest.hookspec(firstresult=True)
def pytest_drill_plan_facts(config: pytest.Config) -> dict[str, Any] | None:
    """The run's planned drill set and folder pick, as primitives: `{"planned": {"drills": [{"id",
    "manifest_sha256"}], "digest"}, "pick": {...} | None}`. The drill fixtures answer it; the report records it in
    `run`, so merging shards can tell that they were planned from one set and that every planned drill ran."""
