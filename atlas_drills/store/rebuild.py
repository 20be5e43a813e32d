"""Rebuilding `catalog.json` (and `catalog.sha256`) from the datasets a serving store has published.

Atlas builds its catalog with `catalog promote`, one dataset at a time: an entry with the paths relative to the store
root, the entries sorted by their derived order (`sorted_catalog_entries`), written as canonical JSON (sorted keys,
compact). A rebuild writes the same bytes for the same datasets. Which datasets enter is stricter than `promote`
(which only asks that the manifest and the SQLite file exist): only a *sealed* dataset enters, one whose publish
finished and whose bytes still match what the publish recorded:

- **sealed**: `manifest.json`, `gene_summary.sqlite`, `manifest.lock` and `immutable.release.json` present, no
  publish temporary (`*.tmp`) left, and the lock and the immutability marker both match the artifact bytes;
- **staged**: a publish that never finished (`local.rs::put_dataset` writes `*.tmp` files, renames them, then writes
  the marker): a temporary is left, or the artifact, lock or marker is missing. It must never enter a catalog;
- **quarantined**: sealed once, but the bytes no longer match the seal (what Atlas quarantines after repeated
  checksum failures). Its bytes cannot be trusted, so it does not enter either.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from atlas_drills.store.catalog import Catalog, atomic_write
from atlas_drills.store.dataset_id import DatasetId, DatasetIdError
from atlas_drills.store.layout import (
    CATALOG_CHECKSUM_FILE,
    DERIVED_DIR,
    IMMUTABLE_MARKER_FILE,
    MANIFEST_FILE,
    MANIFEST_LOCK_FILE,
    SQLITE_FILE,
)
from atlas_drills.store.recorded import RecordedDigests
from atlas_drills.store.sidecars import ArtifactDigests, check_seal

SEALED = "sealed"
STAGED = "staged"
QUARANTINED = "quarantined"
_SEAL_FILES = (MANIFEST_FILE, SQLITE_FILE, MANIFEST_LOCK_FILE, IMMUTABLE_MARKER_FILE)


@dataclass(frozen=True)
class DatasetFolder:
    """One `release=/species=/assembly=` folder of the store, and whether it may enter a catalog."""

    dataset: DatasetId
    state: str  # sealed | staged | quarantined
    reasons: tuple[str, ...] = ()  # why it is not sealed

    def to_dict(self) -> dict[str, object]:
        return {"dataset": self.dataset.canonical, "state": self.state, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class CatalogRebuild:
    """A rebuilt catalog, the folders it was built from, and those it left out (and why)."""

    catalog: Catalog
    folders: tuple[DatasetFolder, ...]
    skipped: tuple[str, ...] = ()  # store folders that are not dataset folders at all

    @property
    def sealed(self) -> list[DatasetId]:
        return [f.dataset for f in self.folders if f.state == SEALED]

    @property
    def left_out(self) -> list[DatasetFolder]:
        return [f for f in self.folders if f.state != SEALED]


def _folder_dataset(folder: Path) -> DatasetId | None:
    parts = [folder.parent.parent.name, folder.parent.name, folder.name]
    prefixes = ("release=", "species=", "assembly=")
    if not all(part.startswith(prefix) for part, prefix in zip(parts, prefixes, strict=True)):
        return None
    try:
        return DatasetId(*(part.split("=", 1)[1] for part in parts))
    except DatasetIdError:
        return None


def classify(store_root: Path, dataset: DatasetId, recorded: RecordedDigests | None = None) -> DatasetFolder:
    """Whether the dataset folder is sealed, staged or quarantined, with every reason it is not sealed. `recorded`
    (relative to `store_root`): the artifact digests a restore verified, so the artifact is not read again; a file
    the record does not vouch for cannot be sealed. Without it, the artifact files are read and hashed."""
    derived = store_root / dataset.directory / DERIVED_DIR
    temporaries = sorted(p.name for p in derived.glob("*.tmp")) if derived.is_dir() else []
    missing = [name for name in _SEAL_FILES if not (derived / name).is_file()]
    if temporaries or missing:
        reasons = [f"publish temporary {name} left" for name in temporaries]
        reasons += [f"{name} missing" for name in missing]
        return DatasetFolder(dataset, STAGED, tuple(reasons))
    if recorded is None:
        actual = ArtifactDigests.of_files(derived)
    else:
        known, unverified = recorded.artifact(f"{dataset.directory}/{DERIVED_DIR}")
        if known is None:
            return DatasetFolder(dataset, QUARANTINED, tuple(f"{v.field}: {v.observed}" for v in unverified))
        actual = known
    violations = check_seal(derived, dataset, actual)
    if violations:
        broken = tuple(f"{v.field}: expected {v.expected}, observed {v.observed}" for v in violations)
        return DatasetFolder(dataset, QUARANTINED, broken)
    return DatasetFolder(dataset, SEALED)


def survey_store(store_root: Path, recorded: RecordedDigests | None = None) -> tuple[list[DatasetFolder], list[str]]:
    """Every dataset folder of the store, classified, in Atlas's dataset order; and the folders at dataset depth
    that do not name a valid dataset."""
    folders: list[DatasetFolder] = []
    skipped: list[str] = []
    for folder in sorted(store_root.glob("*/*/*")):
        if not folder.is_dir() or not folder.parent.parent.name.startswith("release="):
            continue
        dataset = _folder_dataset(folder)
        if dataset is None:
            skipped.append(str(folder.relative_to(store_root)))
            continue
        folders.append(classify(store_root, dataset, recorded))
    folders.sort(key=lambda f: f.dataset)
    return folders, skipped


def rebuild_catalog(store_root: Path, recorded: RecordedDigests | None = None) -> CatalogRebuild:
    """The catalog Atlas's `catalog promote` would build from the store's sealed datasets (`recorded`: see
    `classify`)."""
    if not store_root.is_dir():
        raise FileNotFoundError(f"{store_root}: no such store folder")
    folders, skipped = survey_store(store_root, recorded)
    catalog = Catalog.of([f.dataset for f in folders if f.state == SEALED])
    return CatalogRebuild(catalog, tuple(folders), tuple(skipped))


def checksum_path_for(catalog_file: Path) -> Path:
    """`catalog.sha256` beside a file named `catalog.json`; otherwise `<file>.sha256`."""
    if catalog_file.name == "catalog.json":
        return catalog_file.with_name(CATALOG_CHECKSUM_FILE)
    return catalog_file.with_name(catalog_file.name + ".sha256")


def rebuilt_files(rebuild: CatalogRebuild, catalog_file: Path) -> dict[Path, bytes]:
    """What `write_rebuilt` writes: the catalog's canonical bytes, then its checksum file (the epoch)."""
    return {
        catalog_file: rebuild.catalog.canonical_file_bytes(),
        checksum_path_for(catalog_file): f"{rebuild.catalog.epoch}\n".encode(),
    }


def write_rebuilt(rebuild: CatalogRebuild, catalog_file: Path) -> Path:
    """Write the rebuilt catalog and its checksum file atomically; returns the checksum file's path."""
    for path, data in rebuilt_files(rebuild, catalog_file).items():
        atomic_write(path, data)
    return checksum_path_for(catalog_file)
