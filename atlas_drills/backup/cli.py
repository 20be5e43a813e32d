"""Placeholder until the backup commands land."""

from __future__ import annotations

from typing import Any


def register(commands: Any) -> None:
    del commands
