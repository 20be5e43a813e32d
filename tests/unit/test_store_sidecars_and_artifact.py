"""Publish sidecars bind the artifact bytes; the SQLite v4 shape is what Atlas's validator expects."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from atlas_drills.store.artifact import (
    INDEXES_V4,
    check_artifact_shape,
    create_indexes,
    create_schema,
    inspect_artifact,
)
from atlas_drills.store.canonical import sha256_file
from atlas_drills.store.dataset_id import DatasetId
from atlas_drills.store.sidecars import check_publish_sidecars, write_publish_sidecars

DATASET = DatasetId.parse("110/homo_sapiens/GRCh38")


def _artifact(path: Path, *, indexes: bool = True, analyzed: bool = True) -> None:
    connection = sqlite3.connect(path)
    create_schema(connection)
    connection.execute("INSERT INTO atlas_meta(k, v) VALUES ('schema_version', '4')")
    if analyzed:
        connection.execute("INSERT INTO atlas_meta(k, v) VALUES ('analyze_completed', 'true')")
    if indexes:
        create_indexes(connection)
    connection.commit()
    connection.close()


@pytest.fixture
def derived(tmp_path: Path) -> Path:
    folder = tmp_path / DATASET.directory / "derived"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_bytes(b'{"a":1}')
    _artifact(folder / "gene_summary.sqlite")
    write_publish_sidecars(folder, DATASET, transition_at=1_700_000_000)
    return folder


def test_sidecars_match_the_bytes(derived: Path) -> None:
    assert check_publish_sidecars(derived, DATASET) == []
    lock = (derived / "manifest.lock").read_bytes()
    assert lock == (
        b'{"manifest_sha256":"'
        + sha256_file(derived / "manifest.json").encode()
        + b'","sqlite_sha256":"'
        + sha256_file(derived / "gene_summary.sqlite").encode()
        + b'"}'
    )
    marker = json.loads((derived / "immutable.release.json").read_bytes())
    assert marker["immutability"] == "published"
    transitions = json.loads((derived / "lifecycle.transitions.json").read_bytes())
    assert transitions[0]["to_state"] == "published"
    assert json.loads((derived / "lifecycle.state.json").read_bytes())["transition_count"] == 1


def test_a_changed_manifest_breaks_every_sidecar(derived: Path) -> None:
    (derived / "manifest.json").write_bytes(b'{"a":2}')
    fields = {v.field for v in check_publish_sidecars(derived, DATASET)}
    assert fields == {
        "manifest.lock.manifest_sha256",
        "immutable.release.json.manifest_sha256",
        "lifecycle.transitions.json[-1].manifest_sha256",
    }


def test_a_changed_sqlite_file_is_caught(derived: Path) -> None:
    with (derived / "gene_summary.sqlite").open("r+b") as handle:
        handle.seek(200)
        handle.write(b"\xff")
    fields = {v.field for v in check_publish_sidecars(derived, DATASET)}
    assert "manifest.lock.sqlite_sha256" in fields


def test_missing_or_malformed_sidecars_are_named(derived: Path) -> None:
    (derived / "manifest.lock").unlink()
    (derived / "immutable.release.json").write_text("{")
    (derived / "lifecycle.state.json").write_text('{"state":"draft"}')
    fields = {v.field for v in check_publish_sidecars(derived, DATASET)}
    assert fields == {"manifest.lock", "immutable.release.json", "lifecycle.state.json.state"}


def test_a_marker_for_another_dataset_is_caught(derived: Path) -> None:
    other = DatasetId.parse("111/homo_sapiens/GRCh38")
    fields = {v.field for v in check_publish_sidecars(derived, other)}
    assert fields == {"immutable.release.json.dataset"}


def test_missing_artifact_is_a_violation(derived: Path) -> None:
    (derived / "gene_summary.sqlite").unlink()
    [violation] = check_publish_sidecars(derived, DATASET)
    assert violation.field == "gene_summary.sqlite"


def test_schema_v4_shape(tmp_path: Path) -> None:
    path = tmp_path / "gene_summary.sqlite"
    _artifact(path)
    shape = inspect_artifact(path)
    assert shape.user_version == 4
    assert {
        "gene_summary",
        "transcript_summary",
        "atlas_meta",
        "dataset_stats",
        "schema_version",
        "contigs",
    } <= shape.tables
    assert "gene_summary_rtree" in shape.tables
    assert set(INDEXES_V4) <= shape.indexes
    assert check_artifact_shape(path) == []


def test_shape_violations_are_listed(tmp_path: Path) -> None:
    path = tmp_path / "gene_summary.sqlite"
    _artifact(path, indexes=False, analyzed=False)
    fields = {v.field for v in check_artifact_shape(path)}
    assert fields == set(INDEXES_V4) | {"atlas_meta.analyze_completed"}


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "gene_summary.sqlite"
    path.write_bytes(b"definitely not sqlite" * 100)
    [violation] = check_artifact_shape(path)
    assert violation.field == "<database>"
