"""Expected answers, read straight from the store files the stand-in serves (never from constants)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from atlas_drills.store import DatasetId, parse_manifest, read_catalog
from atlas_drills.store.layout import manifest_path, sqlite_path
from atlas_drills.store.manifest import ArtifactManifest


def dims(dataset: DatasetId) -> str:
    return f"release={dataset.release}&species={dataset.species}&assembly={dataset.assembly}"


def manifest_of(store_root: Path, dataset: DatasetId) -> ArtifactManifest:
    return parse_manifest(manifest_path(store_root, dataset).read_bytes())


def query(store_root: Path, dataset: DatasetId, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """Rows of `sql` against the dataset's SQLite file, as dicts."""
    connection = sqlite3.connect(f"file:{sqlite_path(store_root, dataset)}?mode=ro&immutable=1", uri=True)
    try:
        cursor = connection.execute(sql, args)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        connection.close()


def catalog_epoch(store_root: Path) -> str:
    return read_catalog(store_root).epoch


def flip_middle_bytes(path: Path, count: int = 64) -> None:
    """Corrupt a file in place: invert `count` bytes in its middle, keeping its size."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    for index in range(middle, min(middle + count, len(data))):
        data[index] ^= 0xFF
    path.write_bytes(bytes(data))


GENE_ROW_FIELDS = ("gene_id", "name", "seqid", "start", "end", "biotype", "transcript_count", "sequence_length")


def gene_row(row: dict[str, Any]) -> dict[str, Any]:
    """A gene row as Atlas answers it: every field, null where `include` did not ask for it."""
    return {name: row.get(name) for name in GENE_ROW_FIELDS}


def named(dataset: DatasetId) -> dict[str, str]:
    """How Atlas names a dataset in an answer's envelope."""
    return {"assembly": dataset.assembly, "release": dataset.release, "species": dataset.species}
