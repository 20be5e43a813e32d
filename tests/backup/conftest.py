"""Fixtures for the backup tests: a tiny real source tree (store, config, ops) and backups made from it."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

from atlas_drills.backup.create import create_backup
from atlas_drills.store.artifact import create_schema
from atlas_drills.store.catalog import Catalog, write_catalog
from atlas_drills.store.dataset_id import DatasetId
from atlas_drills.store.layout import derived_dir

TINY_DATASET = DatasetId.parse("7/tiny_species/TINY1")
IDENTITY = {"release_id": "ops_run-tiny", "git_sha": "a" * 40, "governance_version": "main@" + "a" * 40}


@dataclass(frozen=True)
class TinySource:
    """A minimal but real backup source: store root with catalog and one SQLite artifact, config, ops."""

    root: Path
    store: Path
    ops: Path
    config: Path


def build_tiny_source(root: Path, genes: int = 40) -> TinySource:
    store, ops, config = root / "store", root / "ops", root / "config" / "atlas.env"
    derived = derived_dir(store, TINY_DATASET)
    derived.mkdir(parents=True)
    connection = sqlite3.connect(derived / "gene_summary.sqlite")
    create_schema(connection)
    connection.executemany(
        "INSERT INTO gene_summary VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            (i, f"gene{i:04d}", f"G{i}", f"g{i}", "protein_coding", "chr1", 100 * i + 1, 100 * i + 50, 1, 2, 40, 1, 50)
            for i in range(1, genes + 1)
        ],
    )
    connection.commit()
    connection.close()
    (derived / "manifest.json").write_text(json.dumps({"dataset": TINY_DATASET.to_json()}), encoding="utf-8")
    (derived / "manifest.lock").write_text("{}", encoding="utf-8")
    write_catalog(store, Catalog.of([TINY_DATASET]))
    evidence = ops / "release" / "evidence"
    evidence.mkdir(parents=True)
    (evidence / "identity.json").write_text(json.dumps(IDENTITY), encoding="utf-8")
    (ops / "datasets").mkdir()
    (ops / "datasets" / "rollback-policy.json").write_text('{"schema_version":1}', encoding="utf-8")
    config.parent.mkdir()
    config.write_text(f"ATLAS_STORE_ROOT={store}\nATLAS_CACHE_ROOT={store / 'cache'}\n", encoding="utf-8")
    return TinySource(root, store, ops, config)


@pytest.fixture(scope="session")
def tiny_source(tmp_path_factory: pytest.TempPathFactory) -> TinySource:
    """A tiny real source tree, built once per worker; tests must not modify it."""
    return build_tiny_source(tmp_path_factory.mktemp("tiny-source"))


@pytest.fixture(scope="session")
def tiny_backups(tiny_source: TinySource, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One backup of `tiny_source` per kind (.tar, .tar.gz, .tar.zst, directory); read-only for tests."""
    out = tmp_path_factory.mktemp("tiny-backups")
    backups = {}
    for kind, name in (("tar", "b.tar"), ("tar.gz", "b.tar.gz"), ("tar.zst", "b.tar.zst"), ("directory", "b.d")):
        backups[kind] = create_backup(tiny_source.store, tiny_source.ops, tiny_source.config, out / name).path
    return backups


def backup_digest(path: Path) -> str:
    """sha256 over a backup's bytes: the file, or every file of a directory backup with its relative path."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    for file in files:
        digest.update(file.relative_to(path.parent).as_posix().encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def tree_listing(root: Path) -> list[str]:
    """Every path below root (relative), sorted, so tests can prove nothing appeared or vanished."""
    return sorted(
        os.path.relpath(os.path.join(folder, name), root)
        for folder, dirs, files in os.walk(root)
        for name in dirs + files
    )


@pytest.fixture(scope="session")
def tiny_source_sqlite(tiny_source: TinySource) -> bytes:
    """The bytes of the tiny source's SQLite artifact (a real v4 schema database)."""
    return (derived_dir(tiny_source.store, TINY_DATASET) / "gene_summary.sqlite").read_bytes()
