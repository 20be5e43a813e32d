"""The project's JSON Schemas (`ops/schema/`): one loader for every part that validates a document."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, Final

SCHEMA_ROOT: Final = Path(__file__).resolve().parents[1] / "ops" / "schema"


@cache
def load_schema(relpath: str) -> dict[str, Any]:
    """The schema at `ops/schema/<relpath>` (e.g. "backup-manifest.schema.json", "release/identity.schema.json")."""
    path = SCHEMA_ROOT / relpath
    try:
        schema: dict[str, Any] = json.loads(path.read_bytes())
    except FileNotFoundError as exc:
        raise FileNotFoundError(
            f"{path}: JSON Schema missing; run from an atlas-drills checkout (pip install -e .), "
            "where ops/schema/ sits beside the atlas_drills package"
        ) from exc
    return schema
