"""Publish sidecars written beside a dataset's manifest and SQLite file (`backends/local.rs::put_dataset`).

The server does not read them; the Atlas CLI (`dataset verify-pack`, `LocalFsStore`) and rollback governance do.
They bind a dataset's manifest and SQLite bytes, so a drill can prove an old artifact was not mutated.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from atlas_drills.store.canonical import canonical_bytes, compact_bytes, is_sha256_hex, sha256_file
from atlas_drills.store.dataset_id import DatasetId
from atlas_drills.store.errors import Violation
from atlas_drills.store.layout import (
    IMMUTABLE_MARKER_FILE,
    LIFECYCLE_STATE_FILE,
    LIFECYCLE_TRANSITIONS_FILE,
    MANIFEST_FILE,
    MANIFEST_LOCK_FILE,
    SQLITE_FILE,
)
from atlas_drills.store.serde_rules import is_blank, is_u64

TRANSITION_BY = "atlas-store"
TRANSITION_REASON = "manifest-validated-publish"
# `DatasetLifecycleTransition` (deny_unknown_fields): `transition_at` is a String, the publish time in unix seconds.
TRANSITION_FIELDS = (
    "schema_version",
    "dataset",
    "from_state",
    "to_state",
    "transition_at",
    "transition_by",
    "reason",
    "manifest_sha256",
    "sqlite_sha256",
)


@dataclass(frozen=True)
class ArtifactDigests:
    """The two digests every sidecar carries."""

    manifest_sha256: str
    sqlite_sha256: str

    @classmethod
    def of_files(cls, derived: Path) -> ArtifactDigests:
        return cls(sha256_file(derived / MANIFEST_FILE), sha256_file(derived / SQLITE_FILE))


def manifest_lock_bytes(digests: ArtifactDigests) -> bytes:
    """`manifest.lock`: compact, struct order, `deny_unknown_fields`."""
    return compact_bytes({"manifest_sha256": digests.manifest_sha256, "sqlite_sha256": digests.sqlite_sha256})


def immutable_marker_bytes(dataset: DatasetId, digests: ArtifactDigests) -> bytes:
    return canonical_bytes(
        {
            "dataset": dataset.to_json(),
            "immutability": "published",
            "manifest_sha256": digests.manifest_sha256,
            "schema_version": 1,
            "sqlite_sha256": digests.sqlite_sha256,
        }
    )


def lifecycle_transitions_bytes(dataset: DatasetId, digests: ArtifactDigests, transition_at: int) -> bytes:
    """`transition_at` is written as Atlas's `unix_timestamp_seconds()` does: the decimal string."""
    return canonical_bytes(
        [
            {
                "schema_version": 1,
                "dataset": dataset.to_json(),
                "from_state": "draft",
                "to_state": "published",
                "transition_at": str(transition_at),
                "transition_by": TRANSITION_BY,
                "reason": TRANSITION_REASON,
                "manifest_sha256": digests.manifest_sha256,
                "sqlite_sha256": digests.sqlite_sha256,
            }
        ]
    )


def lifecycle_state_bytes(dataset: DatasetId, transition_at: int) -> bytes:
    return canonical_bytes(
        {
            "schema_version": 1,
            "dataset": dataset.to_json(),
            "state": "published",
            "transition_at": str(transition_at),
            "transition_by": TRANSITION_BY,
            "reason": TRANSITION_REASON,
            "transition_count": 1,
        }
    )


def write_publish_sidecars(
    derived: Path, dataset: DatasetId, transition_at: int, digests: ArtifactDigests | None = None
) -> ArtifactDigests:
    """Write the four sidecars for the manifest and SQLite file already in `derived`.

    `digests`, when the caller already hashed both files, saves re-reading a large artifact.
    """
    digests = digests or ArtifactDigests.of_files(derived)
    files = {
        MANIFEST_LOCK_FILE: manifest_lock_bytes(digests),
        IMMUTABLE_MARKER_FILE: immutable_marker_bytes(dataset, digests),
        LIFECYCLE_TRANSITIONS_FILE: lifecycle_transitions_bytes(dataset, digests, transition_at),
        LIFECYCLE_STATE_FILE: lifecycle_state_bytes(dataset, transition_at),
    }
    for name, data in files.items():
        (derived / name).write_bytes(data)
    return digests


def _load(path: Path, violations: list[Violation]) -> Any:
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        violations.append(Violation(path.name, "present", "the publish sidecar", "missing", str(path)))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        violations.append(Violation(path.name, "valid JSON", "JSON", str(exc), str(path)))
    return None


def check_publish_sidecars(derived: Path, dataset: DatasetId, actual: ArtifactDigests | None = None) -> list[Violation]:
    """Every way the sidecars disagree with the artifact bytes: Atlas's `validate_manifest_lock_integrity`, extended
    to the immutability marker and the lifecycle files. `actual`: the artifact's digests when they are already known
    (a drill passes the ones its restore verified); otherwise both files are read and hashed."""
    violations: list[Violation] = []
    if actual is None:
        try:
            actual = ArtifactDigests.of_files(derived)
        except FileNotFoundError as exc:
            return [Violation(Path(str(exc.filename)).name, "present", "artifact file", "missing", str(exc.filename))]
    _check_lock(derived / MANIFEST_LOCK_FILE, actual, violations)
    _check_marker(derived / IMMUTABLE_MARKER_FILE, dataset, actual, violations)
    _check_lifecycle(derived, actual, violations)
    return violations


def check_seal(derived: Path, dataset: DatasetId, actual: ArtifactDigests) -> list[Violation]:
    """How `manifest.lock` and `immutable.release.json` disagree with the artifact bytes (the publish's seal)."""
    violations: list[Violation] = []
    _check_lock(derived / MANIFEST_LOCK_FILE, actual, violations)
    _check_marker(derived / IMMUTABLE_MARKER_FILE, dataset, actual, violations)
    return violations


def _check_lock(path: Path, actual: ArtifactDigests, violations: list[Violation]) -> None:
    lock = _load(path, violations)
    if lock is None:
        return
    if not isinstance(lock, dict) or set(lock) != {"manifest_sha256", "sqlite_sha256"}:
        violations.append(
            Violation(MANIFEST_LOCK_FILE, "exactly manifest_sha256 and sqlite_sha256", "2 keys", lock, str(path))
        )
        return
    _compare_digests(MANIFEST_LOCK_FILE, lock, actual, str(path), violations)


def _check_marker(path: Path, dataset: DatasetId, actual: ArtifactDigests, violations: list[Violation]) -> None:
    marker = _load(path, violations)
    if marker is None:
        return
    where = str(path)
    if not isinstance(marker, dict):
        violations.append(Violation(IMMUTABLE_MARKER_FILE, "object", "object", marker, where))
        return
    if marker.get("immutability") != "published":
        violations.append(
            Violation(
                f"{IMMUTABLE_MARKER_FILE}.immutability", "published", "published", marker.get("immutability"), where
            )
        )
    if marker.get("dataset") != dataset.to_json():
        violations.append(
            Violation(
                f"{IMMUTABLE_MARKER_FILE}.dataset",
                "names this dataset",
                dataset.to_json(),
                marker.get("dataset"),
                where,
            )
        )
    _compare_digests(IMMUTABLE_MARKER_FILE, marker, actual, where, violations)


def _check_lifecycle(derived: Path, actual: ArtifactDigests, violations: list[Violation]) -> None:
    transitions = _load(derived / LIFECYCLE_TRANSITIONS_FILE, violations)
    if transitions is not None:
        where = str(derived / LIFECYCLE_TRANSITIONS_FILE)
        if not isinstance(transitions, list) or not transitions or not isinstance(transitions[-1], dict):
            violations.append(
                Violation(LIFECYCLE_TRANSITIONS_FILE, "non-empty list of transitions", "list", transitions, where)
            )
        else:
            _check_transition(transitions[-1], f"{LIFECYCLE_TRANSITIONS_FILE}[-1]", where, violations)
            _compare_digests(f"{LIFECYCLE_TRANSITIONS_FILE}[-1]", transitions[-1], actual, where, violations)
    state = _load(derived / LIFECYCLE_STATE_FILE, violations)
    if state is not None and (not isinstance(state, dict) or state.get("state") != "published"):
        observed = state.get("state") if isinstance(state, dict) else state
        where = str(derived / LIFECYCLE_STATE_FILE)
        violations.append(Violation(f"{LIFECYCLE_STATE_FILE}.state", "published", "published", observed, where))


def _check_transition(transition: dict[str, Any], name: str, where: str, violations: list[Violation]) -> None:
    """`DatasetLifecycleTransition`: its serde shape, then its `validate()`."""

    def broken(field_name: str, rule: str, expected: Any, observed: Any) -> None:
        violations.append(Violation(f"{name}.{field_name}", rule, expected, observed, where))

    for unknown in sorted(set(transition) - set(TRANSITION_FIELDS)):
        broken(unknown, "no unknown fields", list(TRANSITION_FIELDS), unknown)
    for missing in [f for f in TRANSITION_FIELDS if f not in transition]:
        broken(missing, "required field", "present", "missing")
    version = transition.get("schema_version", 1)
    if not is_u64(version) or version != 1:
        broken("schema_version", "schema version", 1, version)
    for state, expected in (("from_state", "draft"), ("to_state", "published")):
        if transition.get(state, expected) != expected:
            broken(state, "draft -> published", expected, transition.get(state))
    for text in ("transition_at", "transition_by", "reason"):
        value = transition.get(text, "x")
        if not isinstance(value, str) or is_blank(value):
            broken(text, "non-blank string", "a string", value)
    for digest in ("manifest_sha256", "sqlite_sha256"):
        if digest in transition and not is_sha256_hex(transition[digest]):
            broken(digest, "64 lowercase hex characters", "sha256 hex", transition[digest])


def _compare_digests(
    name: str, recorded: dict[str, Any], actual: ArtifactDigests, where: str, violations: list[Violation]
) -> None:
    for key, value in (("manifest_sha256", actual.manifest_sha256), ("sqlite_sha256", actual.sqlite_sha256)):
        if recorded.get(key) != value:
            violations.append(Violation(f"{name}.{key}", "matches the artifact bytes", value, recorded.get(key), where))
