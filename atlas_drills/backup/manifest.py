"""`backup-manifest.json`: the model, its rendering, and strict parsing against the JSON Schema plus the rules a
schema cannot say (sorted unique paths, no path inside another, class matching the folder).

The manifest is the first member of every archive, so a restore knows every name, size and digest before it
writes a byte. Rendering is deterministic (sorted keys, two-space indent) and its length does not depend on the
digests, which lets `create` reserve the manifest's place before the digests are known.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from atlas_drills import schemas
from atlas_drills.backup.entries import entry_check
from atlas_drills.backup.errors import Finding, Rule

FORMAT: Final = "atlas-backup/1"
MANIFEST_NAME: Final = "backup-manifest.json"
IDENTITY_PATH: Final = "ops/release/evidence/identity.json"
DURABLE: Final = "durable"
RECONSTRUCTABLE: Final = "reconstructable"
TOP_LEVEL_CLASSES: Final = {"store": DURABLE, "config": DURABLE, "ops": DURABLE, "baseline": RECONSTRUCTABLE}
PLACEHOLDER_SHA256: Final = "0" * 64
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")

SCHEMA_DIR: Final = Path(__file__).resolve().parents[2] / "ops" / "schema"
MANIFEST_SCHEMA: Final = "backup-manifest.schema.json"


@dataclass(frozen=True)
class BackupFile:
    path: str
    size: int
    sha256: str
    file_class: str

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size, "sha256": self.sha256, "class": self.file_class}


@dataclass(frozen=True)
class Exclusion:
    pattern: str
    reason: str
    matched: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"pattern": self.pattern, "reason": self.reason, "matched": self.matched}


@dataclass(frozen=True)
class ReleaseIdentity:
    release_id: str
    git_sha: str
    governance_version: str

    def to_json(self) -> dict[str, Any]:
        return {
            "release_id": self.release_id,
            "git_sha": self.git_sha,
            "governance_version": self.governance_version,
            "identity_path": IDENTITY_PATH,
        }


@dataclass(frozen=True)
class BackupManifest:
    backup_id: str
    created_at: str
    source: dict[str, str]
    release: ReleaseIdentity
    files: tuple[BackupFile, ...]
    excluded: tuple[Exclusion, ...]
    tool_name: str
    tool_version: str

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "backup_id": self.backup_id,
            "created_at": self.created_at,
            "source": dict(self.source),
            "release": self.release.to_json(),
            "files": [f.to_json() for f in self.files],
            "excluded": [e.to_json() for e in self.excluded],
            "tool": {"name": self.tool_name, "version": self.tool_version},
        }

    def render(self) -> bytes:
        return (json.dumps(self.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")

    def by_path(self) -> dict[str, BackupFile]:
        return {f.path: f for f in self.files}

    @property
    def total_size(self) -> int:
        return sum(f.size for f in self.files)

    def durable_files(self) -> tuple[BackupFile, ...]:
        return tuple(f for f in self.files if f.file_class == DURABLE)


class ManifestInvalid(Exception):
    """`backup-manifest.json` is unreadable or breaks its schema; every problem is listed."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        super().__init__("; ".join(str(f) for f in findings))


def load_schema(name: str = MANIFEST_SCHEMA) -> dict[str, Any]:
    return schemas.load_schema(name)


# A hostile manifest can break its schema hundreds of thousands of times (400,000 empty entries); the first few
# say what is wrong, and building, sorting and printing every one took minutes and gigabytes.
MAX_FINDINGS: Final = 20
MAX_MESSAGE: Final = 500


def schema_findings(document: Any, schema_name: str, member: str, limit: int = MAX_FINDINGS) -> list[Finding]:
    """The first `limit` schema violations (in document order, found lazily), each naming the failing field as a
    JSON path inside `member`; one more finding says when the list was cut."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(load_schema(schema_name))
    findings: list[Finding] = []
    for error in itertools.islice(validator.iter_errors(document), limit + 1):
        if len(findings) == limit:
            findings.append(_cut(member))
            break
        findings.append(
            Finding(f"{member}:{schemas.field_path(error)}", Rule.MANIFEST_INVALID, error.validator, _message(error))
        )
    return findings


def manifest_schema_findings(raw: Any, limit: int = MAX_FINDINGS) -> list[Finding]:
    """`schema_findings` for `backup-manifest.json`, with the file entries checked by the fast gate of
    `entries.py` (built from the same schema) and only the entries it rejects handed to jsonschema."""
    schema = load_schema(MANIFEST_SCHEMA)
    entry_schema = schema.get("$defs", {}).get("file", {})
    check = entry_check(entry_schema)
    files = raw.get("files") if isinstance(raw, dict) else None
    if (
        check is None
        or not isinstance(files, list)
        or schema["properties"]["files"].get("items") != {"$ref": "#/$defs/file"}
    ):
        return schema_findings(raw, MANIFEST_SCHEMA, MANIFEST_NAME, limit)
    findings = schema_findings({**raw, "files": []}, MANIFEST_SCHEMA, MANIFEST_NAME, limit)
    if len(findings) > limit:
        return findings
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator({**entry_schema, "$defs": schema["$defs"]})
    for index, item in enumerate(files):
        if check(item):
            continue
        for error in validator.iter_errors(item):
            if len(findings) == limit:
                return [*findings, _cut(MANIFEST_NAME)]
            inner = schemas.field_path(error)
            where = f"{MANIFEST_NAME}:files[{index}]" + ("" if inner == "$" else f".{inner}".replace(".[", "["))
            findings.append(Finding(where, Rule.MANIFEST_INVALID, error.validator, _message(error)))
    return findings


def _message(error: Any) -> str:
    """jsonschema's message quotes the whole failing value (a 20 MB string, say); keep its start."""
    message = str(error.message)
    return message if len(message) <= MAX_MESSAGE else f"{message[:MAX_MESSAGE]}...({len(message) - MAX_MESSAGE} more)"


def _cut(member: str) -> Finding:
    return Finding(member, Rule.MANIFEST_INVALID, f"at most {MAX_FINDINGS} problems listed", "more, not listed")


def _is_creatable(parts: list[str]) -> bool:
    """Each part is valid UTF-8 (JSON allows lone surrogates) and within Linux's NAME_MAX."""
    try:
        return all(len(part.encode("utf-8")) <= 255 for part in parts)
    except UnicodeEncodeError:
        return False


def semantic_findings(raw: dict[str, Any], limit: int = MAX_FINDINGS) -> list[Finding]:
    """Rules the schema cannot express; run only on a schema-valid document. Stops after `limit` problems."""
    found = list(itertools.islice(_semantic_problems(raw), limit + 1))
    if len(found) > limit:
        found[limit:] = [_cut(MANIFEST_NAME)]
    return found


def _semantic_problems(raw: dict[str, Any]) -> Iterator[Finding]:
    paths = [item["path"] for item in raw["files"]]
    for index, (previous, path) in enumerate(itertools.pairwise(paths), start=1):
        if not previous < path:
            rule = "unique paths" if previous == path else "files sorted by path"
            yield Finding(f"{MANIFEST_NAME}:files[{index}]", Rule.MANIFEST_INVALID, rule, path)
    listed = set(paths)
    for index, path in enumerate(paths):
        parts = path.split("/")
        where = f"{MANIFEST_NAME}:files[{index}].path"
        if not _is_creatable(parts):
            yield Finding(where, Rule.MANIFEST_INVALID, "UTF-8, parts <= 255 B", path)
        # The schema's pattern says the same, but a regex '.' stops at a newline; this does not depend on it.
        if any(part in ("", ".", "..") for part in parts) or _CONTROL.search(path):
            yield Finding(where, Rule.MANIFEST_INVALID, "no empty, '.' or '..' part, no control character", path)
        for depth in range(1, len(parts)):
            if "/".join(parts[:depth]) in listed:
                yield Finding(f"{MANIFEST_NAME}:files[{index}]", Rule.MANIFEST_INVALID, "no file inside a file", path)
                break
        expected_class = TOP_LEVEL_CLASSES[parts[0]]
        if raw["files"][index]["class"] != expected_class:
            yield Finding(
                f"{MANIFEST_NAME}:files[{index}].class",
                Rule.MANIFEST_INVALID,
                expected_class,
                raw["files"][index]["class"],
            )
    if IDENTITY_PATH not in listed:
        yield Finding(f"{MANIFEST_NAME}:files", Rule.MANIFEST_INVALID, f"lists {IDENTITY_PATH}", "absent")


def parse_backup_manifest(data: bytes) -> BackupManifest:
    """Parse and validate; raise `ManifestInvalid` listing every problem."""
    try:
        raw = json.loads(data)
    except RecursionError as exc:
        raise ManifestInvalid([Finding(MANIFEST_NAME, Rule.MANIFEST_INVALID, "UTF-8 JSON", "nested too deep")]) from exc
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, and an integer over Python's 4,300 digits
        raise ManifestInvalid([Finding(MANIFEST_NAME, Rule.MANIFEST_INVALID, "UTF-8 JSON", str(exc))]) from exc
    findings = manifest_schema_findings(raw)
    if findings:
        raise ManifestInvalid(findings)
    findings = semantic_findings(raw)
    if findings:
        raise ManifestInvalid(findings)
    release = raw["release"]
    return BackupManifest(
        backup_id=raw["backup_id"],
        created_at=raw["created_at"],
        source=dict(raw["source"]),
        release=ReleaseIdentity(release["release_id"], release["git_sha"], release["governance_version"]),
        files=tuple(BackupFile(f["path"], f["size"], f["sha256"], f["class"]) for f in raw["files"]),
        excluded=tuple(Exclusion(e["pattern"], e["reason"], e["matched"]) for e in raw["excluded"]),
        tool_name=raw["tool"]["name"],
        tool_version=raw["tool"]["version"],
    )


def class_for(path: str) -> str:
    return TOP_LEVEL_CLASSES[path.split("/", 1)[0]]
