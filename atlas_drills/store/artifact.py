"""The SQLite artifact `gene_summary.sqlite`, schema version 4 (Atlas's `sql/schema_v4.sql`).

The server opens it read-only and immutable and queries `gene_summary` (joined with `gene_summary_rtree` for
region queries), `dataset_stats` and `transcript_summary`. The other tables are ingest's normalized model and are
kept so the artifact has the shape Atlas's own `dataset validate` expects.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from atlas_drills.store.errors import Violation

SQLITE_SCHEMA_VERSION = 4

SCHEMA_V4 = """
CREATE TABLE schema_version (version INTEGER PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE atlas_meta (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE contigs (
  name TEXT PRIMARY KEY, length INTEGER NOT NULL, gc_fraction REAL, n_fraction REAL
) WITHOUT ROWID;
CREATE TABLE gene_summary (
  id INTEGER PRIMARY KEY, gene_id TEXT NOT NULL, name TEXT NOT NULL, name_normalized TEXT NOT NULL,
  biotype TEXT NOT NULL, seqid TEXT NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL,
  transcript_count INTEGER NOT NULL, exon_count INTEGER NOT NULL, total_exon_span INTEGER NOT NULL,
  cds_present INTEGER NOT NULL, sequence_length INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE transcript_summary (
  id INTEGER PRIMARY KEY, transcript_id TEXT NOT NULL UNIQUE, parent_gene_id TEXT NOT NULL,
  transcript_type TEXT NOT NULL, biotype TEXT NOT NULL, seqid TEXT NOT NULL, start INTEGER NOT NULL,
  end INTEGER NOT NULL, exon_count INTEGER NOT NULL, total_exon_span INTEGER NOT NULL, cds_present INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE genes (
  gene_id TEXT PRIMARY KEY, name TEXT NOT NULL, biotype TEXT NOT NULL, seqid TEXT NOT NULL,
  start INTEGER NOT NULL, end INTEGER NOT NULL, strand TEXT NOT NULL, sequence_length INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE transcripts (
  transcript_id TEXT PRIMARY KEY, gene_id TEXT NOT NULL, transcript_type TEXT NOT NULL, biotype TEXT NOT NULL,
  seqid TEXT NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL, strand TEXT NOT NULL,
  sequence_length INTEGER NOT NULL, spliced_length INTEGER NOT NULL, cds_length INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE exons (
  exon_id TEXT PRIMARY KEY, seqid TEXT NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL, strand TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE transcript_exon_map (
  transcript_id TEXT NOT NULL, exon_id TEXT NOT NULL, exon_number INTEGER NOT NULL,
  PRIMARY KEY (transcript_id, exon_number)
) WITHOUT ROWID;
CREATE TABLE dataset_stats (
  dimension TEXT NOT NULL, value TEXT NOT NULL, gene_count INTEGER NOT NULL, PRIMARY KEY (dimension, value)
) WITHOUT ROWID;
CREATE VIRTUAL TABLE gene_summary_rtree USING rtree(gene_rowid, start, end);
"""

# Built after the bulk inserts: building indexes once over sorted data is far cheaper than maintaining them.
INDEXES_V4 = {
    "idx_gene_summary_gene_id": "gene_summary(gene_id)",
    "idx_gene_summary_name": "gene_summary(name)",
    "idx_gene_summary_name_normalized": "gene_summary(name_normalized)",
    "idx_gene_summary_biotype": "gene_summary(biotype)",
    "idx_gene_summary_region": "gene_summary(seqid, start, end)",
    "idx_gene_summary_cover_lookup": "gene_summary(gene_id, name, biotype, seqid, start, end)",
    "idx_gene_summary_cover_region": "gene_summary(seqid, start, end, gene_id, name)",
    "idx_transcript_summary_transcript_id": "transcript_summary(transcript_id)",
    "idx_transcript_summary_parent_gene_id": "transcript_summary(parent_gene_id)",
    "idx_transcript_summary_biotype": "transcript_summary(biotype)",
    "idx_transcript_summary_type": "transcript_summary(transcript_type)",
    "idx_transcript_summary_region": "transcript_summary(seqid, start, end)",
    "idx_genes_gene_id": "genes(gene_id)",
    "idx_genes_name": "genes(name)",
    "idx_genes_biotype": "genes(biotype)",
    "idx_genes_order_page": "genes(seqid, start, gene_id)",
    "idx_transcripts_tx_id": "transcripts(transcript_id)",
    "idx_transcripts_parent_gene": "transcripts(gene_id)",
    "idx_transcripts_order_page": "transcripts(seqid, start, transcript_id)",
    "idx_exons_transcript": "transcript_exon_map(transcript_id)",
    "idx_exons_region": "exons(seqid, start, end)",
}

REQUIRED_TABLES = (
    "gene_summary",
    "transcript_summary",
    "genes",
    "transcripts",
    "exons",
    "transcript_exon_map",
    "atlas_meta",
    "schema_version",
    "dataset_stats",
    "contigs",
    "gene_summary_rtree",
)

GENE_SUMMARY_COLUMNS = (
    "id",
    "gene_id",
    "name",
    "name_normalized",
    "biotype",
    "seqid",
    "start",
    "end",
    "transcript_count",
    "exon_count",
    "total_exon_span",
    "cds_present",
    "sequence_length",
)
# The transcript row the API serves: every transcript_summary column but the internal id.
TRANSCRIPT_ROW_FIELDS = (
    "transcript_id",
    "parent_gene_id",
    "transcript_type",
    "biotype",
    "seqid",
    "start",
    "end",
    "exon_count",
    "total_exon_span",
    "cds_present",
)
TRANSCRIPT_SUMMARY_COLUMNS = ("id", *TRANSCRIPT_ROW_FIELDS)


def create_schema(connection: sqlite3.Connection) -> None:
    """Create every v4 table (indexes come later, from `create_indexes`)."""
    connection.executescript(SCHEMA_V4)
    connection.execute("INSERT INTO schema_version(version) VALUES (?)", (SQLITE_SCHEMA_VERSION,))
    connection.execute(f"PRAGMA user_version={SQLITE_SCHEMA_VERSION}")


def create_indexes(connection: sqlite3.Connection) -> None:
    for name, target in INDEXES_V4.items():
        connection.execute(f"CREATE INDEX {name} ON {target}")


def open_read_only(path: Path) -> sqlite3.Connection:
    """Open as the Atlas server does: read-only, immutable (no locks, no journal), query-only."""
    connection = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
    connection.execute("PRAGMA query_only=ON")
    return connection


@dataclass(frozen=True)
class ArtifactShape:
    user_version: int
    tables: frozenset[str]
    indexes: frozenset[str]
    meta: dict[str, str]


def inspect_artifact(path: Path) -> ArtifactShape:
    with open_read_only(path) as connection:
        user_version = connection.execute("PRAGMA user_version").fetchone()[0]
        rows = connection.execute("SELECT type, name FROM sqlite_master").fetchall()
        meta = dict(connection.execute("SELECT k, v FROM atlas_meta").fetchall())
    connection.close()
    tables = frozenset(name for kind, name in rows if kind == "table")
    indexes = frozenset(name for kind, name in rows if kind == "index")
    return ArtifactShape(user_version, tables, indexes, meta)


def check_artifact_shape(path: Path) -> list[Violation]:
    """What Atlas's `dataset validate` would reject in this artifact's shape (not its content)."""
    where = str(path)
    try:
        shape = inspect_artifact(path)
    except sqlite3.Error as exc:
        return [Violation("<database>", "readable SQLite v4 artifact", "SQLite database", str(exc), where)]
    found: list[Violation] = []
    if shape.user_version != SQLITE_SCHEMA_VERSION:
        found.append(
            Violation("PRAGMA user_version", "schema version", SQLITE_SCHEMA_VERSION, shape.user_version, where)
        )
    for table in REQUIRED_TABLES:
        if table not in shape.tables:
            found.append(Violation(table, "required table", "present", "missing", where))
    for index in INDEXES_V4:
        if index not in shape.indexes:
            found.append(Violation(index, "required index", "present", "missing", where))
    if shape.meta.get("schema_version") != str(SQLITE_SCHEMA_VERSION):
        found.append(
            Violation("atlas_meta.schema_version", "schema version", "4", shape.meta.get("schema_version"), where)
        )
    if shape.meta.get("analyze_completed") != "true":
        found.append(
            Violation(
                "atlas_meta.analyze_completed",
                "ANALYZE ran",
                "true",
                shape.meta.get("analyze_completed"),
                where,
            )
        )
    return found
