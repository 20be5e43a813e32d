"""Schema validation of Atlas's release files against the JSON Schemas in ops/schema/release/.

One passing finding per valid file; one failing finding per violation, naming the file and the failing field
(`ops/release/provenance.json: git_sha: 'xyz' does not match '^[a-f0-9]{40}$'`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from jsonschema import ValidationError

from atlas_drills import schemas
from atlas_drills.evidence.paths import RELEASE_FILES
from atlas_drills.evidence.release_dir import ReleaseDir
from atlas_drills.findings import Finding, NotPrimitive, check_primitive
from atlas_drills.schemas import extra_keys, field_path

CRITERION: Final = "evidence"
SCHEMA_DIR: Final = schemas.SCHEMA_ROOT / "release"
_MAX_OBSERVED_CHARS: Final = 200


def load_schema(name: str) -> dict[str, Any]:
    """The JSON Schema `name` (e.g. "identity.schema.json") from SCHEMA_DIR."""
    return schemas.load_schema(f"release/{name}")


def schema_errors(document: Any, schema_name: str) -> list[ValidationError]:
    """Every violation of `schema_name` by `document`, in field order."""
    return schemas.violations(document, f"release/{schema_name}")


def _observed(error: ValidationError) -> Any:
    if error.validator == "required":
        return "absent"
    if error.validator == "additionalProperties":
        return extra_keys(error)
    value = error.instance
    if isinstance(value, dict):
        return f"object with keys {sorted(map(str, value))}"[:_MAX_OBSERVED_CHARS]
    if isinstance(value, list):
        return f"array of {len(value)} items"
    if isinstance(value, str) and len(value) > _MAX_OBSERVED_CHARS:
        return value[:_MAX_OBSERVED_CHARS] + "..."
    return value


def _expected(error: ValidationError) -> Any:
    value = error.validator_value
    try:
        check_primitive(value)
    except NotPrimitive:
        value = json.dumps(value, default=str)
    text = json.dumps(value, default=str)
    if len(text) > _MAX_OBSERVED_CHARS:
        value = text[:_MAX_OBSERVED_CHARS] + "..."
    return {"keyword": str(error.validator), "value": value}


def validate_document(document: Any, schema_name: str, relpath: str) -> list[Finding]:
    """Findings for one already-loaded document: one pass, or one failure per violation."""
    check = f"{relpath} matches {schema_name}"
    try:
        errors = schema_errors(document, schema_name)
    except RecursionError:
        return [
            Finding(CRITERION, check, False, schema_name, "too deeply nested", relpath, f"{relpath}: nested too deep")
        ]
    if not errors:
        return [Finding(CRITERION, check, True, schema_name, "valid", relpath)]
    findings = []
    for error in errors:
        name = field_path(error)
        findings.append(
            Finding(
                CRITERION,
                check,
                False,
                _expected(error),
                _observed(error),
                f"{relpath}: {name}",
                f"{relpath}: {name}: {error.message}"[:1000],
            )
        )
    return findings


def validate_file(release: ReleaseDir, relpath: str, schema_name: str) -> list[Finding]:
    loaded = release.load_json(relpath)
    if not loaded.ok:
        check = f"{relpath} matches {schema_name}"
        return [
            Finding(CRITERION, check, False, f"a JSON file valid against {schema_name}", None, relpath, loaded.problem)
        ]
    return validate_document(loaded.value, schema_name, relpath)


def validate_release_files(root: Path) -> list[Finding]:
    """Schema-validate every release file the evidence chain reads (see `paths.RELEASE_FILES`) under `root`."""
    return validate_in(ReleaseDir(root))


def validate_in(release: ReleaseDir) -> list[Finding]:
    findings: list[Finding] = []
    for relpath, schema_name in RELEASE_FILES:
        findings.extend(validate_file(release, relpath, schema_name))
    return findings
