"""What the report says about a drill (its context), and how a drill that could not run is classified.

Both travel from the process that ran the drill to the report as primitives only.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from atlas_drills.backup.errors import BackupEnvironmentError, BackupUnusable, RestoreRefused
from atlas_drills.drill.life import RestoredAtlas
from atlas_drills.plan import Budgets
from atlas_drills.runtime_config import RuntimeConfigError
from atlas_drills.sandbox.base import SandboxError
from atlas_drills.sandbox.select import SandboxUnavailable
from atlas_drills.sandbox.target import TargetError

BACKUP_CLASSES = ("durable", "reconstructable", "disposable")


def expected_release_id(expect_root: Path) -> str | None:
    """The release id the expectation names (its identity.json), or None when it has none."""
    try:
        identity = json.loads((expect_root / "ops/release/evidence/identity.json").read_bytes())
    except (OSError, ValueError):
        return None
    value = identity.get("release_id") if isinstance(identity, dict) else None
    return value if isinstance(value, str) else None


def backup_classes(atlas: RestoredAtlas) -> dict[str, dict[str, Any]]:
    """What the backup holds by class (durable / reconstructable / disposable): file count, bytes, top folders."""
    classes: dict[str, dict[str, Any]] = {}
    for item in atlas.restore.manifest.files:
        entry = classes.setdefault(item.file_class, {"files": 0, "bytes": 0, "folders": []})
        entry["files"] += 1
        entry["bytes"] += item.size
        folder = item.path.split("/", 1)[0]
        if folder not in entry["folders"]:
            entry["folders"].append(folder)
    return {name: classes.get(name, {"files": 0, "bytes": 0, "folders": []}) for name in BACKUP_CLASSES}


def drill_context(
    atlas: RestoredAtlas, budgets: Budgets, *, run_id: str, worker: str, rpo_hours: float | None = None
) -> dict[str, Any]:
    """The drill's backup, expectation, target, sandbox, phase timings and budgets, as primitives."""
    manifest = atlas.restore.manifest
    return {
        "drill": atlas.drill.id,
        "backup": str(atlas.backup),
        # Where the backup was restored: gone after teardown, so the report shows paths relative to it.
        "staging": str(atlas.restore.staging),
        "backup_kind": atlas.restore.kind,
        "backup_id": manifest.backup_id,
        "backup_created_at": manifest.created_at,
        "backup_manifest_sha256": hashlib.sha256(manifest.render()).hexdigest(),
        "backup_release_id": manifest.release.release_id,
        "expect": atlas.drill.expect,
        "expect_release_id": expected_release_id(atlas.expect_root),
        "target": atlas.drill.target,
        "target_image": atlas.choice.image,
        "target_image_id": atlas.image_id,
        "target_image_digest": atlas.image_digest,
        "sandbox": atlas.choice.kind,
        "isolation": atlas.sandbox.isolation,
        "sandbox_reason": atlas.choice.reason,
        "phases": dict(atlas.phases),
        "not_ready": atlas.not_ready,
        "catalog_recovery": atlas.catalog.to_dict() if atlas.catalog else None,
        "backup_classes": backup_classes(atlas),
        "backup_excluded": [e.to_json() for e in manifest.excluded],
        "rpo_hours": rpo_hours,
        "budgets": {"restore": budgets.restore, "ready": budgets.ready, "total": budgets.total},
        "run_id": run_id,
        "worker": worker,
        "config_overrides": config_overrides(atlas),
    }


def config_overrides(atlas: RestoredAtlas) -> list[dict[str, str | None]]:
    """Every setting the drill put on top of the restored runtime configuration, with the restored value it hid
    (None when the backup did not set it), sorted by name: what the drill served is not exactly what was restored."""
    env = atlas.sandbox.env
    if env is None:
        return []
    return [
        {"name": name, "restored": env.restored.get(name), "drill": value}
        for name, value in sorted(env.overrides.items())
    ]


def outcome_of(exc: BaseException) -> str | None:
    """How a drill that could not be set up ends: "refused" (the backup cannot be restored: not recoverable),
    "inconclusive" (no engine, no image, an unusable target: the drill could not run here), or None (a defect)."""
    if isinstance(exc, RestoreRefused | BackupUnusable | RuntimeConfigError):
        return "refused"
    if isinstance(exc, SandboxUnavailable | SandboxError | TargetError | BackupEnvironmentError):
        return "inconclusive"
    return None
