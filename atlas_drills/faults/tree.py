"""Changes to a restored backup tree (`store/`, `config/`, `ops/`, `baseline/`), as small named operations.

Each keeps the rest of the tree coherent the way the broken source would have been: a dataset removed from the
catalog also gets a matching `catalog.sha256`, an edited manifest that an operator re-locked gets fresh sidecars.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from atlas_drills.runtime_config import parse_env_text, render_env
from atlas_drills.store.catalog import Catalog, read_catalog, write_catalog
from atlas_drills.store.dataset_id import DatasetId
from atlas_drills.store.layout import derived_dir, manifest_path, sqlite_path
from atlas_drills.store.sidecars import write_publish_sidecars

STORE = "store"
CONFIG = "config/atlas.env"


def store(tree: Path) -> Path:
    return tree / STORE


def datasets(tree: Path) -> list[DatasetId]:
    return read_catalog(store(tree)).dataset_ids()


def newest_with_history(tree: Path) -> tuple[DatasetId, DatasetId]:
    """(newest, previous) of the species/assembly with the most releases: what a rollback would act on."""
    groups: dict[tuple[str, str], list[DatasetId]] = {}
    for dataset in datasets(tree):
        groups.setdefault((dataset.species, dataset.assembly), []).append(dataset)
    releases = max(groups.values(), key=len)
    if len(releases) < 2:
        raise ValueError("no species/assembly with two releases in this backup")
    ordered = sorted(releases, key=lambda d: int(d.release), reverse=True)
    return ordered[0], ordered[1]


def oldest(tree: Path) -> DatasetId:
    return min(datasets(tree), key=lambda d: (int(d.release), d.species, d.assembly))


def set_config(tree: Path, **changes: str | None) -> None:
    """Set (or, with None, remove) runtime configuration settings."""
    path = tree / CONFIG
    values = parse_env_text(path.read_text(encoding="utf-8"), str(path))
    for name, value in changes.items():
        if value is None:
            values.pop(name, None)
        else:
            values[name] = value
    path.write_text(render_env(values, header="runtime configuration"), encoding="utf-8")


def edit_json(path: Path, change: Callable[[Any], Any]) -> None:
    document = json.loads(path.read_bytes())
    result = change(document)
    path.write_text(json.dumps(document if result is None else result, indent=2, sort_keys=True) + "\n")


def flip_byte(path: Path, offset: int | None = None) -> None:
    """Invert one byte (default: the middle of the file), as bit rot or a bad copy would."""
    size = path.stat().st_size
    position = size // 2 if offset is None else offset
    with path.open("r+b") as handle:
        handle.seek(position)
        byte = handle.read(1)
        handle.seek(position)
        handle.write(bytes([byte[0] ^ 0xFF]))


def flip_sqlite_page(tree: Path, dataset: DatasetId) -> None:
    """Corrupt one page in the middle of the artifact, leaving the manifest (and its digest) untouched."""
    path = sqlite_path(store(tree), dataset)
    page = 4096
    middle = (path.stat().st_size // page // 2) * page
    for offset in range(middle + 100, middle + page - 100, 97):
        flip_byte(path, offset)


def write_catalog_of(tree: Path, catalog: Catalog) -> None:
    write_catalog(store(tree), catalog)


def unsorted_catalog(tree: Path) -> None:
    """Entries in reverse order, with a `catalog.sha256` that matches them: only the sort rule is broken."""
    catalog = read_catalog(store(tree))
    reversed_catalog = Catalog(tuple(reversed(catalog.datasets)), catalog.model_version)
    (store(tree) / "catalog.json").write_bytes(reversed_catalog.canonical_file_bytes())
    (store(tree) / "catalog.sha256").write_text(f"{reversed_catalog.epoch}\n")


def drop_from_catalog(tree: Path, dataset: DatasetId) -> None:
    write_catalog_of(tree, read_catalog(store(tree)).without(dataset))


def remove_dataset(tree: Path, dataset: DatasetId) -> None:
    drop_from_catalog(tree, dataset)
    shutil.rmtree(store(tree) / dataset.directory)
    release_dir = store(tree) / f"release={dataset.release}"
    for folder in (release_dir / f"species={dataset.species}", release_dir):
        if folder.exists() and not any(folder.iterdir()):
            folder.rmdir()


def edit_manifest_and_relock(tree: Path, dataset: DatasetId, change: Callable[[dict[str, Any]], None]) -> None:
    """Edit a published manifest and re-write its sidecars, as an operator 'fixing' a dataset in place would."""
    edit_json(manifest_path(store(tree), dataset), change)
    path = manifest_path(store(tree), dataset)
    document = json.loads(path.read_bytes())
    # Atlas writes manifests as canonical JSON; keep the shape so only the edited value differs.
    path.write_bytes(json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode())
    write_publish_sidecars(derived_dir(store(tree), dataset), dataset, transition_at=0)


def cache_layout_instead_of_store(tree: Path) -> None:
    """What a backup of Atlas's cache root looks like: `<sha>/derived/{gene_summary.sqlite, manifest.json,
    .verified}` and `.dataset-index/`, with no catalog and no publish sidecars."""
    root = store(tree)
    staged = tree / ".cache-build"
    for dataset in datasets(tree):
        manifest = json.loads(manifest_path(root, dataset).read_bytes())
        key = manifest["checksums"]["sqlite_sha256"]
        derived = staged / key / "derived"
        derived.mkdir(parents=True)
        shutil.copyfile(sqlite_path(root, dataset), derived / "gene_summary.sqlite")
        shutil.copyfile(manifest_path(root, dataset), derived / "manifest.json")
        (derived / ".verified").write_text(f"{key}:1")
        index = staged / ".dataset-index"
        index.mkdir(exist_ok=True)
        (index / f"{dataset.key}.key").write_text(key)
    shutil.rmtree(root)
    staged.rename(root)
