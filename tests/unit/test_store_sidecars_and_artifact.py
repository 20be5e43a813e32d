"""Publish sidecars bind the artifact bytes; the SQLite v4 shape is what Atlas's validator expects."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from atlas_drills.store.artifact import (
    INDEXES_V4,
    TABLES,
    check_artifact_shape,
    create_indexes,
    create_schema,
    expected_shape,
    file_format,
    inspect_artifact,
    schema_ddl,
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
    tables = {"gene_summary", "transcript_summary", "genes", "transcripts", "exons", "transcript_exon_map",
              "atlas_meta", "dataset_stats", "schema_version", "contigs", "gene_summary_rtree"}  # fmt: skip
    assert tables <= shape.table_names
    assert set(INDEXES_V4) <= set(shape.indexes)
    assert file_format(path) == 2  # WAL, as ingest leaves it
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


def _drifted(path: Path, old: str = "", new: str = "", *, after: str = "", wal: bool = True) -> list[tuple[str, str]]:
    """Build an artifact from the v4 DDL with `old` replaced by `new` and `after` run at the end; its violations."""
    ddl = schema_ddl()
    if old:
        assert old in ddl, old
        ddl = ddl.replace(old, new, 1)
    connection = sqlite3.connect(path)
    if wal:
        connection.execute("PRAGMA locking_mode=EXCLUSIVE")
        connection.execute("PRAGMA journal_mode=WAL")
    connection.executescript(ddl)
    connection.execute("PRAGMA user_version=4")
    connection.execute("INSERT INTO atlas_meta VALUES ('schema_version', '4'), ('analyze_completed', 'true')")
    create_indexes(connection)
    connection.executescript(after)
    connection.commit()
    connection.close()
    return [(v.field, v.rule) for v in check_artifact_shape(path)]


def test_the_undrifted_build_is_clean(tmp_path: Path) -> None:
    assert _drifted(tmp_path / "a.sqlite") == []


@pytest.mark.parametrize(
    ("old", "new", "after", "expected"),
    [
        # Columns: added, dropped, retyped, made NOT NULL or nullable, default lost.
        ("", "", "ALTER TABLE genes ADD COLUMN strand TEXT", [("genes.strand", "no extra column")]),
        (",\n  cds_length INTEGER\n", "\n", "", [("transcripts.cds_length", "required column")]),
        # `old` is replaced once, at its first place in the DDL (tables in TABLES order).
        ("  biotype TEXT,\n", "  biotype TEXT NOT NULL,\n", "", [("transcript_summary.biotype", "column definition")]),
        ("length INTEGER NOT NULL,\n  gc", "length TEXT NOT NULL,\n  gc", "",
         [("contigs.length", "column definition")]),
        ("  exon_length INTEGER NOT NULL", "  exon_length INTEGER", "", [("exons.exon_length", "column definition")]),
        ("cds_present INTEGER NOT NULL DEFAULT 0", "cds_present INTEGER NOT NULL", "",
         [("gene_summary.cds_present", "column definition")]),
        # Keys: another primary key, a lost UNIQUE constraint, a rowid table.
        ("PRIMARY KEY (transcript_id, exon_id)", "PRIMARY KEY (exon_id, transcript_id)", "",
         [("sqlite_autoindex_transcript_exon_map_1", "index definition"),
          ("transcript_exon_map.exon_id", "column definition"),
          ("transcript_exon_map.transcript_id", "column definition")]),
        # The UNIQUE constraint's index is gone; SQLite numbers the remaining (primary key) index 1.
        ("transcript_id TEXT NOT NULL UNIQUE", "transcript_id TEXT NOT NULL", "",
         [("sqlite_autoindex_transcript_summary_1", "index definition"),
          ("sqlite_autoindex_transcript_summary_2", "required index")]),
        ("(dimension, value)\n) WITHOUT ROWID;", "(dimension, value)\n);", "", [("dataset_stats", "WITHOUT ROWID")]),
        # Indexes: other columns, dropped, extra.
        ("", "", "DROP INDEX idx_gene_summary_cover_lookup; CREATE INDEX idx_gene_summary_cover_lookup "
         "ON gene_summary(gene_id, name, biotype, seqid, start, end)",
         [("idx_gene_summary_cover_lookup", "index definition")]),
        ("", "", "DROP INDEX idx_exons_region", [("idx_exons_region", "required index")]),
        ("", "", "CREATE INDEX idx_extra ON genes(name_normalized)", [("idx_extra", "no extra index")]),
        # Tables: a missing one, an extra one.
        ("", "", "DROP TABLE transcript_exon_map", [("transcript_exon_map", "required table")]),
        ("", "", "CREATE TABLE notes (k TEXT)", [("notes", "no extra table")]),
    ],
)  # fmt: skip
def test_each_kind_of_shape_drift_is_named(
    tmp_path: Path, old: str, new: str, after: str, expected: list[tuple[str, str]]
) -> None:
    assert sorted(_drifted(tmp_path / "a.sqlite", old, new, after=after)) == sorted(expected)


def test_a_rollback_journal_file_is_not_the_wal_file_ingest_writes(tmp_path: Path) -> None:
    assert _drifted(tmp_path / "a.sqlite", wal=False) == [("<header>[18:20]", "WAL file format, as ingest writes it")]


def test_the_previous_model_of_the_artifact_is_caught(tmp_path: Path) -> None:
    """The shape this suite used to build (other keys and columns) no longer passes for Atlas's."""
    old_transcript_exon_map = (
        "CREATE TABLE transcript_exon_map (transcript_id TEXT NOT NULL, exon_id TEXT NOT NULL, "
        "exon_number INTEGER NOT NULL, PRIMARY KEY (transcript_id, exon_number)) WITHOUT ROWID;"
    )
    after = f"DROP INDEX idx_exons_transcript; DROP TABLE transcript_exon_map; {old_transcript_exon_map}"
    fields = {field for field, _ in _drifted(tmp_path / "a.sqlite", after=after)}
    assert {"transcript_exon_map.exon_number", "idx_exons_transcript"} <= fields


def test_the_schema_reads_back_as_written() -> None:
    """The generated DDL creates the tables described: what `expected_shape` reports is the description."""
    shape = expected_shape()
    for table in TABLES:
        columns = shape.tables[table.name]
        assert [c[0] for c in columns] == [c.name for c in table.columns]
        assert [c[0] for c in sorted(columns, key=lambda c: c[4]) if c[4]] == list(table.primary_key)
        assert (table.name in shape.without_rowid) == table.without_rowid
    for name, (table_name, index_columns) in INDEXES_V4.items():
        assert shape.indexes[name] == (table_name, False, "c", index_columns)
