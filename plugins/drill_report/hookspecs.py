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
