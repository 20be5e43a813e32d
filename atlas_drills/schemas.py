"""The project's JSON Schemas (`ops/schema/`): one loader and one way of naming a violation, for every part that
validates a document (the drill plan, the backup manifest, the release files, the drill report).

A violation is named by the failing field as a path (`files[2].sha256`; for a missing or unexpected key, the key
itself; `$` for the document as a whole), then the validator's message: `files[2].sha256: 'x' does not match ...`.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from jsonschema import ValidationError

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


def violations(document: Any, relpath: str) -> list[ValidationError]:
    """Every way `document` breaks the schema at `ops/schema/<relpath>`, in field order (the schema's own `$schema`
    decides the draft; 2020-12 when it names none)."""
    from jsonschema import Draft202012Validator
    from jsonschema.validators import validator_for

    schema = load_schema(relpath)
    validator = validator_for(schema, default=Draft202012Validator)(schema)
    return sorted(validator.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path])


def field_path(error: ValidationError) -> str:
    """The failing field as `a.b[2].c`; for a missing or unexpected key, the key itself ("$" is the document)."""
    parts = list(error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict):
        required: list[str] = list(error.validator_value) if isinstance(error.validator_value, list) else []
        missing = [key for key in required if key not in error.instance]
        named = [key for key in missing if error.message.startswith(repr(key))]
        parts.extend(named[:1] or missing[:1])
    elif error.validator == "additionalProperties" and (extra := extra_keys(error)):
        parts.append(",".join(extra))
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "$"


def extra_keys(error: ValidationError) -> list[str]:
    """The keys an `additionalProperties` violation is about."""
    allowed = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
    return sorted(str(key) for key in error.instance if key not in allowed) if isinstance(error.instance, dict) else []


def problems(document: Any, relpath: str) -> list[str]:
    """Every violation as `field: message` (empty when `document` is valid)."""
    return [f"{field_path(error)}: {error.message}" for error in violations(document, relpath)]
