"""Writes `gene_summary.sqlite` (schema v4, from `store.artifact`) from streamed genes, as Atlas's ingest does.

The rows are the ones Atlas's ingest derives from the same GFF3 (`ingest/engine/extract.rs`): `gene_summary` and
`genes` hold the same gene rows; a gene's `exon_count` and `total_exon_span` add up its transcripts' (an exon shared
by two transcripts counts twice); `cds_present` comes from CDS lines; `transcripts` adds `sequence_length`
(end - start + 1) and leaves `spliced_length`/`cds_length` NULL, as ingest does unless asked to compute them;
`exons` has one row per exon line, keyed by that line's ID, and `transcript_exon_map` one per (transcript, exon).

Bulk-load recipe: no journal, no fsync and an exclusive lock while building (a crash leaves a temp folder that is
thrown away, never a half artifact in a sample); tables filled in batches by `executemany`; derived tables (rtree,
dataset_stats) filled by SQL from the loaded rows; indexes built once at the end over the full tables; ANALYZE on a
bounded sample, then VACUUM. The file is finally switched to WAL journal mode with an exclusive lock, as Atlas's
ingest leaves it: a WAL-format file (header bytes 18-19 = 2) with no `-wal` or `-shm` beside it once closed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from atlas_drills.sample.annotation import CODING_TRANSCRIPT_BIOTYPES, Gene
from atlas_drills.sample.genome import Contig
from atlas_drills.sample.gff3 import exon_line_id
from atlas_drills.store.artifact import create_indexes, create_schema

PAGE_SIZE = 4096
MMAP_SIZE = 268_435_456  # what ingest records (and uses) as its mmap size
CACHE_KIB = 131_072  # fixed 128 MiB page cache: speeds up index builds, does not grow with the gene count
VACUUM_CACHE_KIB = 8_192
ANALYZE_ROW_LIMIT = 2_000  # ANALYZE samples this many rows per index: planner statistics in bounded time
BUILD_PRAGMAS = {
    "locking_mode": "EXCLUSIVE",  # first: a WAL-format file (a previous artifact being patched) then needs no -shm
    "journal_mode": "OFF",
    "synchronous": "OFF",
    "temp_store": "FILE",
}
FINAL_JOURNAL_MODE = "WAL"  # the journal mode ingest builds in, and so the file format it leaves

_INSERTS = {
    "gene_summary": "INSERT INTO gene_summary VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
    "genes": "INSERT INTO genes VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
    "transcript_summary": "INSERT INTO transcript_summary VALUES (?,?,?,?,?,?,?,?,?,?,?)",
    "transcripts": "INSERT INTO transcripts VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    "exons": "INSERT INTO exons VALUES (?,?,?,?,?,?,?)",
    "transcript_exon_map": "INSERT INTO transcript_exon_map VALUES (?,?)",
}
# Derived in SQL from the loaded rows: no second pass over the genes in Python.
RTREE_FROM_GENES = "INSERT INTO gene_summary_rtree(gene_rowid, start, end) SELECT id, start, end FROM gene_summary"
DATASET_STATS_FROM_GENES = (
    "INSERT INTO dataset_stats SELECT 'biotype', biotype, count(*) FROM gene_summary GROUP BY biotype",
    "INSERT INTO dataset_stats SELECT 'seqid', seqid, count(*) FROM gene_summary GROUP BY seqid",
)
# Ingest numbers rows after sorting them (`apply_deterministic_ordering`): ids follow these orders, text compared
# bytewise (SQLite's BINARY collation, Rust's `String` order). Tables that share ids are renumbered together.
ROW_ORDERS = (
    (("gene_summary", "genes"), "seqid, start, gene_id"),
    (("transcript_summary", "transcripts"), "seqid, start, transcript_id"),
    (("exons",), "seqid, start, exon_id"),
)
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(text: str) -> str:
    """Rust's `to_ascii_lowercase`, which ingest uses for `name_normalized` (non-ASCII letters stay as they are)."""
    return text.translate(_ASCII_LOWER)


@dataclass(frozen=True)
class ArtifactCounts:
    genes: int
    transcripts: int
    exons: int  # exon rows: one per exon line of the GFF3
    contigs: int


@dataclass
class GeneRows:
    """The rows a batch of genes adds to each table loaded from Python."""

    gene_summary: list[tuple[object, ...]] = field(default_factory=list)
    genes: list[tuple[object, ...]] = field(default_factory=list)
    transcript_summary: list[tuple[object, ...]] = field(default_factory=list)
    transcripts: list[tuple[object, ...]] = field(default_factory=list)
    exons: list[tuple[object, ...]] = field(default_factory=list)
    transcript_exon_map: list[tuple[object, ...]] = field(default_factory=list)

    def insert(self, db: sqlite3.Connection) -> None:
        for table, statement in _INSERTS.items():
            db.executemany(statement, getattr(self, table))


@dataclass(frozen=True)
class RowIds:
    """The last `id` used in gene_summary/genes, transcript_summary/transcripts and exons."""

    gene: int = 0
    transcript: int = 0
    exon: int = 0


def gene_rows(genes: Iterable[Gene], last: RowIds) -> GeneRows:
    """Rows for `genes`, numbering ids on from the last ones used."""
    rows = GeneRows()
    tx_summaries, tx_rows, exon_rows, exon_map = (
        rows.transcript_summary,
        rows.transcripts,
        rows.exons,
        rows.transcript_exon_map,
    )
    gene_rowid, tx_rowid, exon_rowid = last.gene, last.transcript, last.exon
    for gene in genes:
        gene_rowid += 1
        gene_id, seqid = gene.gene_id, gene.seqid
        exons = gene.exons
        gene_exons = gene_span = 0
        gene_coding = False
        for tx in gene.transcripts:
            tx_rowid += 1
            own = exons[tx.first_exon : tx.last_exon]
            start, end, count = own[0].start, own[-1].end, len(own)
            coding = tx.biotype in CODING_TRANSCRIPT_BIOTYPES  # the transcripts the GFF3 gives a CDS line
            gene_coding |= coding
            gene_exons += count
            gene_span += tx.spliced_length
            tx_id = tx.transcript_id
            summary = (tx_rowid, tx_id, gene_id, tx.feature_type, tx.biotype, seqid, start, end, count,
                       tx.spliced_length, int(coding))  # fmt: skip
            tx_summaries.append(summary)
            tx_rows.append((*summary, end - start + 1, None, None))
            for exon in own:
                exon_rowid += 1
                line_id = exon_line_id(tx_id, exon.exon_id)
                exon_rows.append((exon_rowid, line_id, tx_id, seqid, exon.start, exon.end, exon.end - exon.start + 1))
                exon_map.append((tx_id, line_id))
        row = (gene_rowid, gene_id, gene.name, ascii_lower(gene.name), gene.biotype, seqid, gene.start, gene.end,
               len(gene.transcripts), gene_exons, gene_span, int(gene_coding), gene.end - gene.start + 1)  # fmt: skip
        rows.gene_summary.append(row)
        rows.genes.append(row)
    return rows


def renumber_rows(db: sqlite3.Connection) -> None:
    """Give every row the id ingest gives it: its rank in `ROW_ORDERS` (rows are loaded in generation order).

    Each table is ranked by its own columns (tables sharing ids hold the same sort columns, so they get the same
    ids) into a temporary copy, then written back in key order: two passes, no lookups. Cheapest before the
    secondary indexes exist."""
    for tables, order in ROW_ORDERS:
        for table in tables:
            names = [row[1] for row in db.execute(f"PRAGMA table_info({table})") if row[1] != "id"]
            columns = ", ".join(f'"{name}"' for name in names)
            db.execute(
                f"CREATE TEMP TABLE staged AS SELECT row_number() OVER (ORDER BY {order}) AS id, {columns} FROM {table}"
            )
            db.execute(f"DELETE FROM {table}")
            db.execute(f"INSERT INTO {table} (id, {columns}) SELECT id, {columns} FROM temp.staged ORDER BY rowid")
            db.execute("DROP TABLE temp.staged")


def open_for_build(path: Path) -> sqlite3.Connection:
    """A connection with the bulk-load pragmas (a new file also gets its page size)."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute(f"PRAGMA page_size={PAGE_SIZE}")  # no effect on an existing database
    db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    for name, value in BUILD_PRAGMAS.items():
        db.execute(f"PRAGMA {name}={value}")
    return db


def analyze_and_close(db: sqlite3.Connection) -> None:
    """Bounded ANALYZE and commit, VACUUM, then WAL mode (as ingest leaves the file) and close."""
    db.execute(f"PRAGMA analysis_limit={ANALYZE_ROW_LIMIT}")
    db.execute("ANALYZE")
    db.execute("COMMIT")
    # VACUUM gives its copy the connection's cache size: a small one keeps it from adding a second large cache.
    db.execute(f"PRAGMA cache_size=-{VACUUM_CACHE_KIB}")
    db.execute("VACUUM")
    db.execute("UPDATE atlas_meta SET v = 'true' WHERE k = 'vacuum_completed'")
    # Exclusive locking mode (set at open): WAL mode then needs no -shm file, and closing checkpoints and deletes
    # the -wal file, so the artifact is one file, in WAL format.
    db.execute(f"PRAGMA journal_mode={FINAL_JOURNAL_MODE}")
    db.close()


class ArtifactWriter:
    """Build one artifact: `add` batches of genes, then `finish` with the contigs and `atlas_meta` values."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = open_for_build(path)
        create_schema(self._db, ingest_pragmas=False)
        self._db.execute("BEGIN")
        self._last = RowIds()

    def add(self, genes: Iterable[Gene]) -> None:
        rows = gene_rows(genes, self._last)
        rows.insert(self._db)
        last = self._last
        self._last = RowIds(
            last.gene + len(rows.gene_summary), last.transcript + len(rows.transcripts), last.exon + len(rows.exons)
        )

    def finish(self, contigs: list[Contig], meta: dict[str, str]) -> ArtifactCounts:
        """Derived tables, contigs, `atlas_meta`, indexes, ANALYZE; then close as a plain rollback-journal file."""
        db = self._db
        renumber_rows(db)
        db.execute(RTREE_FROM_GENES)
        for statement in DATASET_STATS_FROM_GENES:
            db.execute(statement)
        db.executemany(
            "INSERT INTO contigs VALUES (?,?,?,?)",
            # GC and N fractions stay NULL: ingest computes them only when asked (`compute_contig_fractions`,
            # off in the CLI).
            [(c.name, c.length, None, None) for c in contigs],
        )
        db.executemany("INSERT INTO atlas_meta VALUES (?,?)", sorted(meta.items()))
        create_indexes(db)
        # Recorded before ANALYZE runs, in the same transaction: the flag can never outlive a failed ANALYZE.
        db.execute("INSERT INTO atlas_meta VALUES ('analyze_completed', 'true')")
        analyze_and_close(db)
        last = self._last
        return ArtifactCounts(last.gene, last.transcript, last.exon, len(contigs))

    def abort(self) -> None:
        self._db.close()


def build_meta(
    *,
    release: str,
    species: str,
    assembly: str,
    created_by: str,
    gff3_sha256: str,
    fasta_sha256: str,
    fai_sha256: str,
) -> dict[str, str]:
    """Every `atlas_meta` key ingest writes except `analyze_completed`, which `finish` adds after ANALYZE."""
    return {
        "schema_version": "4",
        # The journal mode the artifact is left in (the bulk load itself runs without a journal: see the module doc).
        "ingest_journal_mode": FINAL_JOURNAL_MODE,
        "ingest_locking_mode": BUILD_PRAGMAS["locking_mode"],
        "ingest_page_size": str(PAGE_SIZE),
        "ingest_mmap_size": str(MMAP_SIZE),
        "dataset_release": release,
        "dataset_species": species,
        "dataset_assembly": assembly,
        "dataset_id": f"{release}/{species}/{assembly}",
        "created_by": created_by,
        "input_hashes": f"gff3={gff3_sha256};fasta={fasta_sha256};fai={fai_sha256}",
        "fasta_sha256": fasta_sha256,
        "fai_sha256": fai_sha256,
        "vacuum_completed": "false",  # set to true once VACUUM has run, as ingest does
    }
