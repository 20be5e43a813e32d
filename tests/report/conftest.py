"""The drill report's own tests use pytester, enabled for the whole suite in pyproject.toml (`-p pytester`):
pytest refuses `pytest_plugins` in a conftest below the root."""

from __future__ import annotations
