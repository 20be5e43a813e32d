"""Reconstructable outputs: files Atlas's recovery page calls "reconstructable but still review-relevant: generated
summaries, dashboard snapshots, and some validation outputs if the source evidence survives".

Each one known here is regenerated from the durable evidence that survived the restore and compared with the
restored copy. A copy that differs from what its sources say is stale (or edited); a missing copy is no loss, since
it can be made again.

- `ops/datasets/generated/dataset-index.json`, from `ops/datasets/manifest.json` and `ops/datasets/manifest.lock`,
  by the rules of Atlas's ops inventory validation (`datasets_and_e2e_validations.rs`): `dataset_ids` are the
  inventory's ids, `missing_dataset_ids` the inventory ids the lock lacks, `stale_dataset_ids` the lock ids the
  inventory lacks (Atlas requires both empty).

Only the fields the sources determine are compared: `generated_by` names the tool that wrote the copy
(`bijux dev atlas ops generate` in Atlas's own release), which no source records, and key order and layout are the
writer's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from atlas_drills.expectation import DATASET_INDEX, DATASETS_LOCK, DATASETS_MANIFEST

FREE_FIELDS = frozenset({"generated_by"})


class SourceMissing(Exception):
    """A source the output is regenerated from did not survive (or cannot be read)."""


@dataclass(frozen=True)
class Reconstruction:
    """One reconstructable output: regenerated, and compared with the restored copy."""

    path: str
    sources: tuple[str, ...]
    regenerated: dict[str, Any] | None
    restored: Any  # the restored copy's JSON, or None when absent or unreadable
    problem: str | None = None  # why it could not be regenerated, or why the copy could not be read

    @property
    def matches(self) -> bool:
        if self.regenerated is None or not isinstance(self.restored, dict):
            return False
        return {k: v for k, v in self.restored.items() if k not in FREE_FIELDS} == self.regenerated

    @property
    def differing(self) -> list[str]:
        """The fields where the restored copy and the regenerated output disagree."""
        if self.regenerated is None or not isinstance(self.restored, dict):
            return []
        keys = (set(self.restored) - FREE_FIELDS) | set(self.regenerated)
        return sorted(k for k in keys if self.restored.get(k) != self.regenerated.get(k))


def _load(root: Path, relpath: str) -> Any:
    try:
        return json.loads((root / relpath).read_bytes())
    except FileNotFoundError as exc:
        raise SourceMissing(f"{relpath} is missing") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise SourceMissing(f"{relpath} is not valid JSON: {exc}") from exc


def _ids(document: Any, key: str, relpath: str) -> list[str]:
    items = document.get(key) if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise SourceMissing(f"{relpath}: no {key} list")
    return [str(item.get("id")) for item in items if isinstance(item, dict)]


def regenerate_dataset_index(root: Path) -> dict[str, Any]:
    inventory = _ids(_load(root, DATASETS_MANIFEST), "datasets", DATASETS_MANIFEST)
    locked = _ids(_load(root, DATASETS_LOCK), "entries", DATASETS_LOCK)
    return {
        "schema_version": 1,
        "source_manifest": DATASETS_MANIFEST,
        "source_lock": DATASETS_LOCK,
        "dataset_ids": sorted(set(inventory)),
        "missing_dataset_ids": sorted(set(inventory) - set(locked)),
        "stale_dataset_ids": sorted(set(locked) - set(inventory)),
    }


REGENERATORS: dict[str, tuple[tuple[str, ...], Callable[[Path], dict[str, Any]]]] = {
    DATASET_INDEX: ((DATASETS_MANIFEST, DATASETS_LOCK), regenerate_dataset_index),
}


def reconstruct(root: Path) -> list[Reconstruction]:
    """Every known reconstructable output under `root` (a restored backup), regenerated and read back."""
    found = []
    for path, (sources, regenerate) in REGENERATORS.items():
        problem = None
        try:
            regenerated: dict[str, Any] | None = regenerate(root)
        except SourceMissing as exc:
            regenerated, problem = None, f"cannot regenerate: {exc}"
        restored = None
        if (root / path).is_file():
            try:
                restored = json.loads((root / path).read_bytes())
            except (UnicodeDecodeError, ValueError) as exc:
                problem = problem or f"the restored copy is not valid JSON: {exc}"
        found.append(Reconstruction(path, sources, regenerated, restored, problem))
    return found
