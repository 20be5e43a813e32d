"""Schema validation of Atlas's release files: against the schema the release ships, else the suite's own.

Each file of `paths.RELEASE_FILES` is judged by the JSON Schema Atlas pairs with it inside the release folder (see
`paths` for where Atlas keeps them); only when the release ships none does the suite's own schema in
ops/schema/release/ judge it. The finding's check names the schema that judged: `ops/datasets/manifest.lock matches
ops/schema/datasets/manifest-lock.schema.json` (shipped) or `... matches atlas-drills release/<name>` (the suite's).

One passing finding per valid file; one failing finding per violation, naming the file and the failing field
(`ops/release/provenance.json: git_sha`), the schema keyword and value expected, and what was observed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from jsonschema import Draft202012Validator, SchemaError, ValidationError
from jsonschema.validators import validator_for
from referencing import Registry
from referencing.exceptions import NoSuchResource, Unresolvable

from atlas_drills import schemas
from atlas_drills.evidence.paths import CONTRACTS_MAP, RELEASE_FILES, ReleaseFile
from atlas_drills.evidence.release_dir import ReleaseDir
from atlas_drills.findings import Finding, NotPrimitive, check_primitive
from atlas_drills.schemas import extra_keys, field_path

CRITERION: Final = "evidence"
SCHEMA_DIR: Final = schemas.SCHEMA_ROOT / "release"
OWN_PREFIX: Final = "atlas-drills release/"
_MAX_OBSERVED_CHARS: Final = 200


def _refuse_retrieval(uri: str) -> Any:
    # A schema read from a release folder is untrusted: a $ref outside the document is never fetched (no network,
    # no file outside DIR); it fails validation with a finding instead.
    raise NoSuchResource(ref=uri)  # type: ignore[call-arg]  # attrs-generated __init__


_NO_RETRIEVAL: Final = Registry(retrieve=_refuse_retrieval)  # type: ignore[call-arg]  # attrs-generated __init__


@dataclass(frozen=True)
class Judge:
    """The schema that judges one release file: its label (shipped path, or the suite's own name) and document,
    or why a schema the release ships cannot be used."""

    label: str
    schema: dict[str, Any] | None
    shipped: bool
    problem: str = ""


def load_schema(name: str) -> dict[str, Any]:
    """The suite's own JSON Schema `name` (e.g. "identity.schema.json") from SCHEMA_DIR."""
    return schemas.load_schema(f"release/{name}")


def contracts_map(release: ReleaseDir) -> dict[str, str]:
    """Atlas's authored path -> schema map shipped in DIR (`ops/inventory/contracts-map.json`), or {} without one.

    A missing or malformed map is not a broken link of the evidence chain: the built-in pairings then apply.
    """
    if release.is_absent(CONTRACTS_MAP):
        return {}
    loaded = release.load_json(CONTRACTS_MAP)
    items = loaded.value.get("items") if loaded.ok and isinstance(loaded.value, dict) else None
    pairs = {}
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get("path"), str) and isinstance(item.get("schema"), str):
            pairs[item["path"]] = item["schema"]
    return pairs


def judge_for(release: ReleaseDir, release_file: ReleaseFile, mapped: dict[str, str]) -> Judge:
    """The schema that judges `release_file`: the one the release ships (contracts map first, then Atlas's own
    pairing), else the suite's own."""
    for candidate in (mapped.get(release_file.relpath), release_file.shipped_schema):
        if candidate is None or release.is_absent(candidate):
            continue
        loaded = release.load_json(candidate)
        if not loaded.ok:
            return Judge(candidate, None, True, loaded.problem)
        if not isinstance(loaded.value, dict):
            return Judge(candidate, None, True, f"{candidate}: a JSON Schema must be an object")
        try:
            validator_for(loaded.value, default=Draft202012Validator).check_schema(loaded.value)
        except SchemaError as exc:
            return Judge(candidate, None, True, f"{candidate}: not a valid JSON Schema: {exc.message}"[:1000])
        return Judge(candidate, loaded.value, True)
    name = release_file.own_schema
    return Judge(f"{OWN_PREFIX}{name}", load_schema(name), False)


def schema_errors(document: Any, schema: dict[str, Any]) -> list[ValidationError]:
    """Every violation of `schema` by `document`, in field order (the schema's own draft decides)."""
    validator_class = validator_for(schema, default=Draft202012Validator)
    validator = validator_class(schema, registry=_NO_RETRIEVAL)
    return sorted(validator.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path])


def _missing_key(error: ValidationError) -> str:
    if not isinstance(error.instance, dict):
        return ""
    required: list[str] = list(error.validator_value) if isinstance(error.validator_value, list) else []
    missing = [key for key in required if key not in error.instance]
    named = [key for key in missing if error.message.startswith(repr(key))]
    return (named[:1] or missing[:1] or [""])[0]


def _observed(error: ValidationError) -> Any:
    if error.validator == "required":
        return "absent"
    if error.validator == "additionalProperties":
        return extra_keys(error)
    value = error.instance
    if isinstance(value, dict):
        return {"object with keys": sorted(map(str, value))}
    if isinstance(value, list):
        return f"array of {len(value)} items"
    if isinstance(value, str) and len(value) > _MAX_OBSERVED_CHARS:
        return value[:_MAX_OBSERVED_CHARS] + "..."
    return _primitive(value)


def _expected(error: ValidationError) -> dict[str, Any]:
    """{keyword, value}: the schema rule broken. For `required`, the value is the one key found missing."""
    if error.validator == "required":
        return {"keyword": "required", "value": _missing_key(error)}
    return {"keyword": str(error.validator), "value": _primitive(error.validator_value)}


def _primitive(value: Any) -> Any:
    try:
        check_primitive(value)
    except NotPrimitive:
        return json.dumps(value, default=str, sort_keys=True)
    return value


def validate_document(document: Any, judge: Judge, relpath: str) -> list[Finding]:
    """Findings for one already-loaded document judged by `judge`: one pass, or one failure per violation."""
    check = f"{relpath} matches {judge.label}"
    if judge.schema is None:
        return [Finding(CRITERION, check, False, "a usable JSON Schema", None, judge.label, judge.problem)]
    try:
        errors = schema_errors(document, judge.schema)
    except RecursionError:
        return [
            Finding(CRITERION, check, False, judge.label, "too deeply nested", relpath, f"{relpath}: nested too deep")
        ]
    except Unresolvable as exc:
        why = f"{judge.label}: $ref {exc} cannot be resolved inside the schema; references are never fetched"
        return [Finding(CRITERION, check, False, "a self-contained JSON Schema", None, judge.label, why)]
    if not errors:
        return [Finding(CRITERION, check, True, judge.label, "valid", relpath)]
    return [
        Finding(
            CRITERION,
            check,
            False,
            _expected(error),
            _observed(error),
            f"{relpath}: {field_path(error)}",
            f"{relpath}: {field_path(error)}: {error.message}"[:1000],
        )
        for error in errors
    ]


def own_judge(name: str) -> Judge:
    """The suite's own schema `name` as a judge (for documents checked outside a release folder)."""
    return Judge(f"{OWN_PREFIX}{name}", load_schema(name), False)


def validate_file(release: ReleaseDir, release_file: ReleaseFile, mapped: dict[str, str]) -> list[Finding]:
    judge = judge_for(release, release_file, mapped)
    relpath = release_file.relpath
    loaded = release.load_json(relpath)
    if not loaded.ok:
        check = f"{relpath} matches {judge.label}"
        expected = f"a JSON file valid against {judge.label}"
        return [Finding(CRITERION, check, False, expected, None, relpath, loaded.problem)]
    return validate_document(loaded.value, judge, relpath)


def validate_release_files(root: Path) -> list[Finding]:
    """Schema-validate every release file the evidence chain reads (see `paths.RELEASE_FILES`) under `root`."""
    return validate_in(ReleaseDir(root))


def validate_in(release: ReleaseDir) -> list[Finding]:
    mapped = contracts_map(release)
    findings: list[Finding] = []
    for release_file in RELEASE_FILES:
        findings.extend(validate_file(release, release_file, mapped))
    return findings
