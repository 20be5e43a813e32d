"""Fixtures for the drill report's own tests: pytester, and a synthetic drill suite written into its folder."""

from __future__ import annotations

pytest_plugins = ["pytester"]
