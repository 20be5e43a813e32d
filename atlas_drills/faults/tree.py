"""Changes to a restored backup tree (`store/`, `config/`, `ops/`, `baseline/`), as small named operations.

Each keeps the rest of the tree coherent the way the broken source would have been: a dataset removed from the
catalog also gets a matching `catalog.sha256`, an edited manifest that an operator re-locked gets fresh sidecars.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from atlas_drills.runtime_config import parse_env_text, render_env
from atlas_drills.store.catalog import Catalog, read_catalog, write_catalog
from atlas_drills.store.dataset_id import DatasetId
from atlas_drills.store.layout import derived_dir, manifest_path, sqlite_path
from atlas_drills.store.manifest import parse_manifest
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


def edit_artifact_and_reseal(tree: Path, dataset: DatasetId, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
    """Change an artifact in place, then re-seal the store's own digests around it (the manifest's
    `checksums.sqlite_sha256` and `db_hash`, and every publish sidecar), as someone covering their tracks would:
    every digest inside the store agrees with the edited bytes."""
    path = sqlite_path(store(tree), dataset)
    connection = sqlite3.connect(path)
    try:
        for sql, params in statements:
            connection.execute(sql, params)
        connection.commit()
    finally:
        connection.close()
    for leftover in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()

    def reseal(manifest: dict[str, Any]) -> None:
        manifest["checksums"]["sqlite_sha256"] = digest
        manifest["db_hash"] = digest
        # The identity covers the artifact digest: recompute it as ingest would, so the manifest validates.
        identity = parse_manifest(json.dumps(manifest).encode()).recomputed_identity()
        manifest["identity"] = dataclasses.asdict(identity)

    edit_manifest_and_relock(tree, dataset, reseal)


def baseline_gene_ids(tree: Path, dataset: DatasetId) -> set[str]:
    """The gene ids the recorded answers ask about for `dataset`."""
    document = json.loads((tree / "baseline/queries.json").read_bytes())
    return {g for d in document["datasets"] if d["dataset"] == dataset.canonical for g in d["sample_gene_ids"]}


def prune_from_governance(tree: Path, dataset: DatasetId) -> None:
    """Drop a dataset from the release's governed inventory, its lock, the generated dataset index and the
    recorded answers: what a backup of a pruned copy of the release holds, consistent in itself."""
    canonical = dataset.canonical
    edit_json(
        tree / "ops/datasets/manifest.json",
        lambda d: d.update(datasets=[x for x in d["datasets"] if x["id"] != canonical]),
    )
    edit_json(
        tree / "ops/datasets/manifest.lock",
        lambda d: d.update(entries=[x for x in d["entries"] if x["id"] != canonical]),
    )
    edit_json(
        tree / "ops/datasets/generated/dataset-index.json",
        lambda d: d.update(dataset_ids=[x for x in d["dataset_ids"] if x != canonical]),
    )
    edit_json(
        tree / "baseline/queries.json",
        lambda d: d.update(datasets=[x for x in d["datasets"] if x["dataset"] != canonical]),
    )


def rerecord_catalog_epoch(tree: Path) -> None:
    """The recorded answers as a live service on this (changed) store would have given them: every catalog epoch
    the baseline recorded becomes the restored catalog's."""
    path = tree / "baseline/queries.json"
    document = json.loads(path.read_bytes())
    epoch = read_catalog(store(tree)).epoch

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: epoch if k == "catalog_epoch" else walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(item) for item in value]
        return value

    path.write_text(json.dumps(walk(document), indent=2, sort_keys=True) + "\n")
