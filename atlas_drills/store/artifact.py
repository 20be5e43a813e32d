"""The SQLite artifact `gene_summary.sqlite`: schema version 4 as Atlas's ingest writes it (`sql/schema_v4.sql`).

The schema is written down here as data (tables, columns, keys, indexes) and the DDL is generated from it, so one
description serves both the sample builder and the shape check. Atlas's ingest creates the file in WAL journal mode
(`PRAGMA journal_mode=WAL` with `locking_mode=EXCLUSIVE`), so a published artifact is a WAL-mode database: header
bytes 18-19 are 2. The server opens it read-only and immutable (`file:...?mode=ro&immutable=1`), which reads a
WAL-mode file without creating `-wal`/`-shm` files and without taking locks.

`check_artifact_shape` compares what SQLite reports about a file (`PRAGMA table_info`, `index_list`, `index_info`)
with the same report for a database built from this schema: a column added, dropped, retyped or made nullable, a
changed primary key, a missing or altered index all show, not only a missing table name.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from atlas_drills.store.errors import Violation

SQLITE_SCHEMA_VERSION: Final = 4
HEADER_SIZE: Final = 100
WAL_FORMAT: Final = 2  # header bytes 18 (write version) and 19 (read version): 1 rollback journal, 2 WAL
# The pragmas Atlas's schema file sets before creating tables, in its order.
INGEST_PRAGMAS: Final = (
    ("journal_mode", "WAL"),
    ("synchronous", "OFF"),
    ("locking_mode", "EXCLUSIVE"),
    ("temp_store", "MEMORY"),
    ("cache_size", "-32000"),
    ("page_size", "4096"),
    ("mmap_size", "268435456"),
)


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    not_null: bool = True
    default: str | None = None  # as `PRAGMA table_info` reports it (the SQL text of the default)
    unique: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    without_rowid: bool = True

    def ddl(self) -> str:
        lines = []
        single_key = self.primary_key[0] if len(self.primary_key) == 1 else None
        for column in self.columns:
            parts = [column.name, column.type]
            if column.name == single_key:
                parts.append("PRIMARY KEY")
            elif column.not_null:
                parts.append("NOT NULL")
            if column.unique:
                parts.append("UNIQUE")
            if column.default is not None:
                parts.append(f"DEFAULT {column.default}")
            lines.append("  " + " ".join(parts))
        if single_key is None:
            lines.append(f"  PRIMARY KEY ({', '.join(self.primary_key)})")
        suffix = " WITHOUT ROWID" if self.without_rowid else ""
        return f"CREATE TABLE {self.name} (\n" + ",\n".join(lines) + f"\n){suffix};"


def _counts(*names: str) -> tuple[Column, ...]:
    return tuple(Column(name, "INTEGER", default="0") for name in names)


_GENE_COLUMNS = (
    Column("id", "INTEGER"),
    Column("gene_id", "TEXT"),
    Column("name", "TEXT"),
    Column("name_normalized", "TEXT"),
    Column("biotype", "TEXT"),
    Column("seqid", "TEXT"),
    Column("start", "INTEGER"),
    Column("end", "INTEGER"),
    Column("transcript_count", "INTEGER"),
    *_counts("exon_count", "total_exon_span", "cds_present"),
    Column("sequence_length", "INTEGER"),
)
_TRANSCRIPT_COLUMNS = (
    Column("id", "INTEGER"),
    Column("transcript_id", "TEXT", unique=True),
    Column("parent_gene_id", "TEXT"),
    Column("transcript_type", "TEXT"),
    Column("biotype", "TEXT", not_null=False),  # ingest stores NULL when the GFF3 gives no biotype
    Column("seqid", "TEXT"),
    Column("start", "INTEGER"),
    Column("end", "INTEGER"),
    *_counts("exon_count", "total_exon_span", "cds_present"),
)

TABLES: Final = (
    Table("gene_summary", _GENE_COLUMNS, ("id",)),
    Table("transcript_summary", _TRANSCRIPT_COLUMNS, ("id",)),
    Table("genes", _GENE_COLUMNS, ("id",)),
    Table(
        "transcripts",
        (
            *_TRANSCRIPT_COLUMNS,
            Column("sequence_length", "INTEGER", default="0"),
            Column("spliced_length", "INTEGER", not_null=False),  # NULL unless ingest computes it
            Column("cds_length", "INTEGER", not_null=False),
        ),
        ("id",),
    ),
    Table(
        "exons",
        (
            Column("id", "INTEGER"),
            Column("exon_id", "TEXT"),
            Column("transcript_id", "TEXT"),
            Column("seqid", "TEXT"),
            Column("start", "INTEGER"),
            Column("end", "INTEGER"),
            Column("exon_length", "INTEGER"),
        ),
        ("id",),
    ),
    Table(
        "transcript_exon_map",
        (Column("transcript_id", "TEXT"), Column("exon_id", "TEXT")),
        ("transcript_id", "exon_id"),
    ),
    Table("atlas_meta", (Column("k", "TEXT", not_null=False), Column("v", "TEXT")), ("k",)),
    Table("schema_version", (Column("version", "INTEGER", not_null=False),), ("version",)),
    Table(
        "dataset_stats",
        (Column("dimension", "TEXT"), Column("value", "TEXT"), Column("gene_count", "INTEGER")),
        ("dimension", "value"),
    ),
    Table(
        "contigs",
        (
            Column("name", "TEXT", not_null=False),
            Column("length", "INTEGER"),
            Column("gc_fraction", "REAL", not_null=False),
            Column("n_fraction", "REAL", not_null=False),
        ),
        ("name",),
    ),
)
RTREE_DDL: Final = "CREATE VIRTUAL TABLE gene_summary_rtree USING rtree(gene_rowid, start, end);"

# Atlas's indexes, in its order. Built after the bulk inserts, as ingest does, over the full tables.
INDEXES_V4: Final = {
    "idx_gene_summary_gene_id": ("gene_summary", ("gene_id",)),
    "idx_gene_summary_name": ("gene_summary", ("name",)),
    "idx_gene_summary_name_normalized": ("gene_summary", ("name_normalized",)),
    "idx_gene_summary_biotype": ("gene_summary", ("biotype",)),
    "idx_gene_summary_region": ("gene_summary", ("seqid", "start", "end")),
    "idx_gene_summary_cover_lookup": (
        "gene_summary",
        ("gene_id", "name", "seqid", "start", "end", "biotype", "transcript_count", "sequence_length"),
    ),
    "idx_gene_summary_cover_region": (
        "gene_summary",
        ("seqid", "start", "gene_id", "end", "name", "biotype", "transcript_count", "sequence_length"),
    ),
    "idx_transcript_summary_transcript_id": ("transcript_summary", ("transcript_id",)),
    "idx_transcript_summary_parent_gene_id": ("transcript_summary", ("parent_gene_id",)),
    "idx_transcript_summary_biotype": ("transcript_summary", ("biotype",)),
    "idx_transcript_summary_type": ("transcript_summary", ("transcript_type",)),
    "idx_transcript_summary_region": ("transcript_summary", ("seqid", "start", "end")),
    "idx_genes_gene_id": ("genes", ("gene_id",)),
    "idx_genes_name": ("genes", ("name",)),
    "idx_genes_biotype": ("genes", ("biotype",)),
    "idx_genes_order_page": ("genes", ("seqid", "start", "gene_id")),
    "idx_transcripts_tx_id": ("transcripts", ("transcript_id",)),
    "idx_transcripts_parent_gene": ("transcripts", ("parent_gene_id",)),
    "idx_transcripts_order_page": ("transcripts", ("seqid", "start", "transcript_id")),
    "idx_exons_transcript": ("exons", ("transcript_id",)),
    "idx_exons_region": ("exons", ("seqid", "start", "end")),
}

GENE_SUMMARY_COLUMNS: Final = tuple(column.name for column in _GENE_COLUMNS)
# The transcript row the API serves: every transcript_summary column but the internal id.
TRANSCRIPT_ROW_FIELDS: Final = tuple(column.name for column in _TRANSCRIPT_COLUMNS[1:])
TRANSCRIPT_SUMMARY_COLUMNS: Final = ("id", *TRANSCRIPT_ROW_FIELDS)


def schema_ddl() -> str:
    return "\n".join([*(table.ddl() for table in TABLES), RTREE_DDL])


def index_ddl() -> list[str]:
    return [f"CREATE INDEX {name} ON {table}({', '.join(cols)})" for name, (table, cols) in INDEXES_V4.items()]


def create_schema(connection: sqlite3.Connection, *, ingest_pragmas: bool = True) -> None:
    """Create every v4 table (indexes come later, from `create_indexes`) and record schema version 4.

    `ingest_pragmas`: first set ingest's pragmas (WAL, exclusive locking, ...), as its schema file does. A bulk
    loader that sets its own pragmas and switches to WAL at the end passes False.
    """
    if ingest_pragmas:
        for name, value in INGEST_PRAGMAS:
            connection.execute(f"PRAGMA {name}={value}")
    connection.executescript(schema_ddl())
    connection.execute("INSERT INTO schema_version(version) VALUES (?)", (SQLITE_SCHEMA_VERSION,))
    connection.execute(f"PRAGMA user_version={SQLITE_SCHEMA_VERSION}")


def create_indexes(connection: sqlite3.Connection) -> None:
    for statement in index_ddl():
        connection.execute(statement)


def open_read_only(path: Path) -> sqlite3.Connection:
    """Open as the Atlas server does: read-only, immutable (no locks, no side files, WAL or not), query-only."""
    connection = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
    connection.execute("PRAGMA query_only=ON")
    return connection


def file_format(path: Path) -> int | None:
    """Header byte 18 (1: rollback journal, 2: WAL), or None when the file is shorter than a header."""
    with path.open("rb") as handle:
        header = handle.read(HEADER_SIZE)
    return header[18] if len(header) == HEADER_SIZE else None


# One entry of a shape: what SQLite says about a table's columns or an index, as comparable tuples.
ColumnInfo = tuple[str, str, bool, str | None, int]  # name, type, not null, default, position in primary key
IndexInfo = tuple[str, bool, str, tuple[str, ...]]  # table, unique, origin (c, u, pk), columns


@dataclass(frozen=True)
class ArtifactShape:
    user_version: int
    tables: dict[str, tuple[ColumnInfo, ...]]
    indexes: dict[str, IndexInfo]
    without_rowid: frozenset[str]
    meta: dict[str, str]

    @property
    def table_names(self) -> frozenset[str]:
        return frozenset(self.tables)


def _shape(connection: sqlite3.Connection, with_meta: bool = True) -> ArtifactShape:
    user_version = connection.execute("PRAGMA user_version").fetchone()[0]
    names = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    tables: dict[str, tuple[ColumnInfo, ...]] = {}
    indexes: dict[str, IndexInfo] = {}
    without_rowid = set()
    for table in sorted(names):
        rows = connection.execute(f'PRAGMA table_info("{table}")').fetchall()
        tables[table] = tuple((r[1], r[2].upper(), bool(r[3]), r[4], r[5]) for r in rows)
        for _seq, index, unique, origin, _partial in connection.execute(f'PRAGMA index_list("{table}")').fetchall():
            columns = tuple(r[2] for r in connection.execute(f'PRAGMA index_info("{index}")'))
            indexes[index] = (table, bool(unique), origin, columns)
        try:
            connection.execute(f'SELECT rowid FROM "{table}" LIMIT 0')
        except sqlite3.OperationalError:
            without_rowid.add(table)  # a WITHOUT ROWID table has no rowid to select
    meta = dict(connection.execute("SELECT k, v FROM atlas_meta").fetchall()) if with_meta else {}
    return ArtifactShape(user_version, tables, indexes, frozenset(without_rowid), meta)


def inspect_artifact(path: Path) -> ArtifactShape:
    connection = open_read_only(path)
    try:
        return _shape(connection)
    finally:
        connection.close()


_expected: ArtifactShape | None = None


def expected_shape() -> ArtifactShape:
    """The shape of a database built from this schema (computed once, in memory)."""
    global _expected  # noqa: PLW0603 - a cache of a pure function of the module's constants
    if _expected is None:
        connection = sqlite3.connect(":memory:")
        try:
            connection.executescript(schema_ddl())
            create_indexes(connection)
            connection.execute(f"PRAGMA user_version={SQLITE_SCHEMA_VERSION}")
            _expected = _shape(connection, with_meta=False)
        finally:
            connection.close()
    return _expected


def check_artifact_shape(path: Path) -> list[Violation]:
    """Everything in this artifact's shape (not its rows) that differs from Atlas's v4 artifact: tables, columns
    (name, type, NOT NULL, default, primary key position), WITHOUT ROWID, indexes (table, uniqueness, origin,
    columns in order), the WAL file format, `user_version` and the `atlas_meta` flags Atlas's validator reads."""
    where = str(path)
    try:
        shape = inspect_artifact(path)
        fmt = file_format(path)
    except (sqlite3.Error, OSError) as exc:
        return [Violation("<database>", "readable SQLite v4 artifact", "SQLite database", str(exc), where)]
    expected = expected_shape()
    found: list[Violation] = []
    if fmt != WAL_FORMAT:
        found.append(Violation("<header>[18:20]", "WAL file format, as ingest writes it", WAL_FORMAT, fmt, where))
    if shape.user_version != SQLITE_SCHEMA_VERSION:
        found.append(
            Violation("PRAGMA user_version", "schema version", SQLITE_SCHEMA_VERSION, shape.user_version, where)
        )
    found.extend(_table_drift(expected, shape, where))
    found.extend(_index_drift(expected, shape, where))
    found.extend(_meta_drift(shape.meta, where))
    return found


def _table_drift(expected: ArtifactShape, shape: ArtifactShape, where: str) -> list[Violation]:
    found = []
    for table, columns in expected.tables.items():
        observed = shape.tables.get(table)
        if observed is None:
            found.append(Violation(table, "required table", "present", "missing", where))
            continue
        wanted = {c[0]: c for c in columns}
        actual = {c[0]: c for c in observed}
        for name in wanted.keys() - actual.keys():
            found.append(Violation(f"{table}.{name}", "required column", _describe(wanted[name]), "missing", where))
        for name in actual.keys() - wanted.keys():
            found.append(Violation(f"{table}.{name}", "no extra column", "absent", _describe(actual[name]), where))
        for name in wanted.keys() & actual.keys():
            if wanted[name] != actual[name]:
                found.append(
                    Violation(
                        f"{table}.{name}", "column definition", _describe(wanted[name]), _describe(actual[name]), where
                    )
                )
        if [c[0] for c in columns if c[0] in actual] != [c[0] for c in observed if c[0] in wanted]:
            found.append(Violation(table, "column order", [c[0] for c in columns], [c[0] for c in observed], where))
        if (table in expected.without_rowid) != (table in shape.without_rowid):
            found.append(
                Violation(table, "WITHOUT ROWID", table in expected.without_rowid, table in shape.without_rowid, where)
            )
    for table in sorted(shape.tables.keys() - expected.tables.keys()):
        if not table.startswith("sqlite_"):  # sqlite_stat1/4: ANALYZE's statistics
            found.append(Violation(table, "no extra table", "absent", "present", where))
    return sorted(found, key=lambda v: v.field)


def _describe(column: ColumnInfo) -> str:
    _name, kind, not_null, default, key = column
    parts = [kind or "(no type)", "NOT NULL" if not_null else "NULL"]
    if default is not None:
        parts.append(f"DEFAULT {default}")
    if key:
        parts.append(f"PRIMARY KEY #{key}")
    return " ".join(parts)


def _index_drift(expected: ArtifactShape, shape: ArtifactShape, where: str) -> list[Violation]:
    found = []
    for name, index in expected.indexes.items():
        observed = shape.indexes.get(name)
        if observed is None and index[0] not in shape.tables:
            continue  # its table is missing, and named as such
        if observed is None:
            found.append(Violation(name, "required index", _describe_index(index), "missing", where))
        elif observed != index:
            found.append(Violation(name, "index definition", _describe_index(index), _describe_index(observed), where))
    for name in sorted(shape.indexes.keys() - expected.indexes.keys()):
        found.append(Violation(name, "no extra index", "absent", _describe_index(shape.indexes[name]), where))
    return found


def _describe_index(index: IndexInfo) -> str:
    table, unique, origin, columns = index
    kind = {"pk": "primary key", "u": "UNIQUE constraint"}.get(origin, "UNIQUE INDEX" if unique else "INDEX")
    return f"{kind} on {table}({', '.join(columns)})"


def _meta_drift(meta: dict[str, str], where: str) -> list[Violation]:
    found = []
    if meta.get("schema_version") != str(SQLITE_SCHEMA_VERSION):
        found.append(Violation("atlas_meta.schema_version", "schema version", "4", meta.get("schema_version"), where))
    if meta.get("analyze_completed") != "true":
        found.append(
            Violation("atlas_meta.analyze_completed", "ANALYZE ran", "true", meta.get("analyze_completed"), where)
        )
    return found
