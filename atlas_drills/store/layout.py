"""Where things live in a serving store (`adapters/outbound/store/paths.rs`)."""

from __future__ import annotations

from pathlib import Path

from atlas_drills.store.dataset_id import DatasetId

CATALOG_FILE = "catalog.json"
CATALOG_CHECKSUM_FILE = "catalog.sha256"
LATEST_ALIAS_FILE = "latest.alias.json"

DERIVED_DIR = "derived"
MANIFEST_FILE = "manifest.json"
SQLITE_FILE = "gene_summary.sqlite"
MANIFEST_LOCK_FILE = "manifest.lock"
IMMUTABLE_MARKER_FILE = "immutable.release.json"
LIFECYCLE_STATE_FILE = "lifecycle.state.json"
LIFECYCLE_TRANSITIONS_FILE = "lifecycle.transitions.json"

PUBLISH_SIDECARS = (
    MANIFEST_LOCK_FILE,
    IMMUTABLE_MARKER_FILE,
    LIFECYCLE_STATE_FILE,
    LIFECYCLE_TRANSITIONS_FILE,
)


def dataset_dir(store_root: Path, dataset: DatasetId) -> Path:
    return store_root / dataset.directory


def derived_dir(store_root: Path, dataset: DatasetId) -> Path:
    return dataset_dir(store_root, dataset) / DERIVED_DIR


def manifest_relpath(dataset: DatasetId) -> str:
    """The `manifest_path` a catalog entry carries, relative to the store root."""
    return f"{dataset.directory}/{DERIVED_DIR}/{MANIFEST_FILE}"


def sqlite_relpath(dataset: DatasetId) -> str:
    """The `sqlite_path` a catalog entry carries, relative to the store root."""
    return f"{dataset.directory}/{DERIVED_DIR}/{SQLITE_FILE}"


def manifest_path(store_root: Path, dataset: DatasetId) -> Path:
    return derived_dir(store_root, dataset) / MANIFEST_FILE


def sqlite_path(store_root: Path, dataset: DatasetId) -> Path:
    return derived_dir(store_root, dataset) / SQLITE_FILE
