"""The expectation: the release that should be serving after recovery, read from a release folder (`ops/...`).

A checkout of an Atlas release, or a sample's release folder. The drills compare the restored state against it:
release identity, the dataset set, and the rollback policy, byte for byte.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from atlas_drills.store.dataset_id import DatasetId, DatasetIdError

IDENTITY = "ops/release/evidence/identity.json"
PROVENANCE = "ops/release/provenance.json"
ROLLBACK_POLICY = "ops/datasets/rollback-policy.json"
DATASETS_MANIFEST = "ops/datasets/manifest.json"
DATASETS_LOCK = "ops/datasets/manifest.lock"
PROMOTION_RULES = "ops/datasets/promotion-rules.json"
DATASET_INDEX = "ops/datasets/generated/dataset-index.json"
IDENTITY_FIELDS = ("release_id", "git_sha", "governance_version")


class ExpectationError(ValueError):
    """An expectation folder that cannot be used; names the file and what to do."""


def read_json(root: Path, relpath: str) -> Any:
    path = root / relpath
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError as exc:
        raise ExpectationError(f"{path}: missing; the expectation must be a release folder holding ops/") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExpectationError(f"{path}: not valid JSON ({exc})") from exc


@dataclass(frozen=True)
class Expectation:
    root: Path
    identity: dict[str, str]
    dataset_ids: tuple[DatasetId, ...]
    rollback_policy: bytes

    @classmethod
    def load(cls, root: Path) -> Expectation:
        identity = read_json(root, IDENTITY)
        if not isinstance(identity, dict) or not all(isinstance(identity.get(f), str) for f in IDENTITY_FIELDS):
            raise ExpectationError(f"{root / IDENTITY}: expected string fields {', '.join(IDENTITY_FIELDS)}")
        datasets = read_json(root, DATASETS_MANIFEST)
        try:
            ids = tuple(sorted(DatasetId.parse(item["id"]) for item in datasets["datasets"]))
        except (KeyError, TypeError, DatasetIdError) as exc:
            raise ExpectationError(f"{root / DATASETS_MANIFEST}: datasets[].id: {exc}") from exc
        try:
            policy = (root / ROLLBACK_POLICY).read_bytes()
        except FileNotFoundError as exc:
            raise ExpectationError(f"{root / ROLLBACK_POLICY}: missing") from exc
        return cls(root, {f: identity[f] for f in IDENTITY_FIELDS}, ids, policy)

    @property
    def release_id(self) -> str:
        return self.identity["release_id"]
