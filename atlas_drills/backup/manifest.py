"""`backup-manifest.json`: the model, its rendering, and strict parsing against the JSON Schema plus the rules a
schema cannot say (sorted unique paths, no path inside another, class matching the folder).

The manifest is the first member of every archive, so a restore knows every name, size and digest before it
writes a byte. Rendering is deterministic (sorted keys, two-space indent) and its length does not depend on the
digests, which lets `create` reserve the manifest's place before the digests are known.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from atlas_drills import schemas
from atlas_drills.backup.errors import Finding, Rule

FORMAT: Final = "atlas-backup/1"
MANIFEST_NAME: Final = "backup-manifest.json"
IDENTITY_PATH: Final = "ops/release/evidence/identity.json"
DURABLE: Final = "durable"
RECONSTRUCTABLE: Final = "reconstructable"
TOP_LEVEL_CLASSES: Final = {"store": DURABLE, "config": DURABLE, "ops": DURABLE, "baseline": RECONSTRUCTABLE}
PLACEHOLDER_SHA256: Final = "0" * 64

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


def schema_findings(document: Any, schema_name: str, member: str) -> list[Finding]:
    """Every schema violation, each naming the failing field as a JSON path inside `member`."""
    return [
        Finding(f"{member}:{schemas.field_path(error)}", Rule.MANIFEST_INVALID, error.validator, error.message)
        for error in schemas.violations(document, schema_name)
    ]


def _is_creatable(parts: list[str]) -> bool:
    """Each part is valid UTF-8 (JSON allows lone surrogates) and within Linux's NAME_MAX."""
    try:
        return all(len(part.encode("utf-8")) <= 255 for part in parts)
    except UnicodeEncodeError:
        return False


def semantic_findings(raw: dict[str, Any]) -> list[Finding]:
    """Rules the schema cannot express; run only on a schema-valid document."""
    found: list[Finding] = []
    paths = [item["path"] for item in raw["files"]]
    for index, (previous, path) in enumerate(itertools.pairwise(paths), start=1):
        if not previous < path:
            rule = "unique paths" if previous == path else "files sorted by path"
            found.append(Finding(f"{MANIFEST_NAME}:files[{index}]", Rule.MANIFEST_INVALID, rule, path))
    listed = set(paths)
    for index, path in enumerate(paths):
        parts = path.split("/")
        if not _is_creatable(parts):
            found.append(
                Finding(f"{MANIFEST_NAME}:files[{index}].path", Rule.MANIFEST_INVALID, "UTF-8, parts <= 255 B", path)
            )
        for depth in range(1, len(parts)):
            if "/".join(parts[:depth]) in listed:
                found.append(
                    Finding(f"{MANIFEST_NAME}:files[{index}]", Rule.MANIFEST_INVALID, "no file inside a file", path)
                )
                break
        expected_class = TOP_LEVEL_CLASSES[parts[0]]
        if raw["files"][index]["class"] != expected_class:
            found.append(
                Finding(
                    f"{MANIFEST_NAME}:files[{index}].class",
                    Rule.MANIFEST_INVALID,
                    expected_class,
                    raw["files"][index]["class"],
                )
            )
    if IDENTITY_PATH not in listed:
        found.append(Finding(f"{MANIFEST_NAME}:files", Rule.MANIFEST_INVALID, f"lists {IDENTITY_PATH}", "absent"))
    return found


def parse_backup_manifest(data: bytes) -> BackupManifest:
    """Parse and validate; raise `ManifestInvalid` listing every problem."""
    try:
        raw = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestInvalid([Finding(MANIFEST_NAME, Rule.MANIFEST_INVALID, "UTF-8 JSON", str(exc))]) from exc
    findings = schema_findings(raw, MANIFEST_SCHEMA, MANIFEST_NAME)
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
