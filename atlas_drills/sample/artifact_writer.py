"""Writes `gene_summary.sqlite` (schema v4, from `store.artifact`) from streamed genes, as Atlas's ingest does.

Bulk-load recipe: no journal, no fsync and an exclusive lock while building (a crash leaves a temp folder that is
thrown away, never a half artifact in a sample); tables filled in batches by `executemany`; derived tables (rtree,
dataset_stats) filled by SQL from the loaded rows; indexes built once at the end over the full tables; ANALYZE on a
bounded sample. The file is then switched back to an ordinary rollback-journal database, so it opens read-only and
immutable exactly as the server opens it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from atlas_drills.sample.annotation import CODING_TRANSCRIPT_BIOTYPES, Gene
from atlas_drills.sample.genome import Contig
from atlas_drills.store.artifact import create_indexes, create_schema

PAGE_SIZE = 4096
CACHE_KIB = 131_072  # fixed 128 MiB page cache: speeds up index builds, does not grow with the gene count
ANALYZE_ROW_LIMIT = 2_000  # ANALYZE samples this many rows per index: planner statistics in bounded time
BUILD_PRAGMAS = {
    "journal_mode": "OFF",
    "synchronous": "OFF",
    "locking_mode": "EXCLUSIVE",
    "temp_store": "FILE",
}

_INSERTS = {
    "gene_summary": "INSERT INTO gene_summary VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
    "genes": "INSERT INTO genes VALUES (?,?,?,?,?,?,?,?)",
    "transcript_summary": "INSERT INTO transcript_summary VALUES (?,?,?,?,?,?,?,?,?,?,?)",
    "transcripts": "INSERT INTO transcripts VALUES (?,?,?,?,?,?,?,?,?,?,?)",
    "exons": "INSERT INTO exons VALUES (?,?,?,?,?)",
    "transcript_exon_map": "INSERT INTO transcript_exon_map VALUES (?,?,?)",
}
# Derived in SQL from the loaded rows: no second pass over the genes in Python.
RTREE_FROM_GENES = "INSERT INTO gene_summary_rtree(gene_rowid, start, end) SELECT id, start, end FROM gene_summary"
DATASET_STATS_FROM_GENES = (
    "INSERT INTO dataset_stats SELECT 'biotype', biotype, count(*) FROM gene_summary GROUP BY biotype",
    "INSERT INTO dataset_stats SELECT 'seqid', seqid, count(*) FROM gene_summary GROUP BY seqid",
)


@dataclass(frozen=True)
class ArtifactCounts:
    genes: int
    transcripts: int
    exons: int
    contigs: int


def coding_length(spliced_length: int) -> int:
    """The synthetic CDS: three quarters of the spliced transcript, in whole codons."""
    return spliced_length * 3 // 4 // 3 * 3


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


def gene_rows(genes: Iterable[Gene], last_gene_rowid: int, last_transcript_rowid: int) -> GeneRows:
    """Rows for `genes`, numbering gene_summary and transcript_summary ids on from the last ones used."""
    rows = GeneRows()
    summaries, gene_rows_, tx_summaries, tx_rows = (
        rows.gene_summary,
        rows.genes,
        rows.transcript_summary,
        rows.transcripts,
    )
    exon_rows, exon_map = rows.exons, rows.transcript_exon_map
    gene_rowid, tx_rowid = last_gene_rowid, last_transcript_rowid
    for gene in genes:
        gene_rowid += 1
        gene_id, seqid, strand = gene.gene_id, gene.seqid, gene.strand
        exons = gene.exons
        for exon in exons:
            exon_rows.append((exon.exon_id, seqid, exon.start, exon.end, strand))
        gene_coding = 0
        for tx in gene.transcripts:
            tx_rowid += 1
            own = exons[tx.first_exon : tx.last_exon]
            start, end, count = own[0].start, own[-1].end, len(own)
            coding = tx.biotype in CODING_TRANSCRIPT_BIOTYPES
            gene_coding |= coding
            tx_id = tx.transcript_id
            tx_summaries.append(
                (tx_rowid, tx_id, gene_id, tx.feature_type, tx.biotype, seqid, start, end, count,
                 tx.spliced_length, int(coding))
            )  # fmt: skip
            tx_rows.append(
                (tx_id, gene_id, tx.feature_type, tx.biotype, seqid, start, end, strand, end - start + 1,
                 tx.spliced_length, coding_length(tx.spliced_length) if coding else 0)
            )  # fmt: skip
            for position, exon in enumerate(own):
                # Exons are numbered in transcription order: on the minus strand exon 1 is the rightmost.
                number = position + 1 if strand == "+" else count - position
                exon_map.append((tx_id, exon.exon_id, number))
        length = gene.end - gene.start + 1
        summaries.append(
            (gene_rowid, gene_id, gene.name, gene.name.lower(), gene.biotype, seqid, gene.start, gene.end,
             len(gene.transcripts), len(exons), sum(e.end - e.start + 1 for e in exons), gene_coding, length)
        )  # fmt: skip
        gene_rows_.append((gene_id, gene.name, gene.biotype, seqid, gene.start, gene.end, strand, length))
    return rows


def open_for_build(path: Path) -> sqlite3.Connection:
    """A connection with the bulk-load pragmas (a new file also gets its page size)."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute(f"PRAGMA page_size={PAGE_SIZE}")  # no effect on an existing database
    db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    for name, value in BUILD_PRAGMAS.items():
        db.execute(f"PRAGMA {name}={value}")
    return db


def analyze_and_close(db: sqlite3.Connection) -> None:
    """Bounded ANALYZE, commit, and back to a plain rollback-journal file the server can open immutable."""
    db.execute(f"PRAGMA analysis_limit={ANALYZE_ROW_LIMIT}")
    db.execute("ANALYZE")
    db.execute("COMMIT")
    db.execute("PRAGMA journal_mode=DELETE")
    db.close()


class ArtifactWriter:
    """Build one artifact: `add` batches of genes, then `finish` with the contigs and `atlas_meta` values."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = open_for_build(path)
        create_schema(self._db)
        self._db.execute("BEGIN")
        self._genes = 0
        self._transcripts = 0
        self._exons = 0

    def add(self, genes: Iterable[Gene]) -> None:
        rows = gene_rows(genes, self._genes, self._transcripts)
        rows.insert(self._db)
        self._genes += len(rows.gene_summary)
        self._transcripts += len(rows.transcript_summary)
        self._exons += len(rows.exons)

    def finish(self, contigs: list[Contig], meta: dict[str, str]) -> ArtifactCounts:
        """Derived tables, contigs, `atlas_meta`, indexes, ANALYZE; then close as a plain rollback-journal file."""
        db = self._db
        db.execute(RTREE_FROM_GENES)
        for statement in DATASET_STATS_FROM_GENES:
            db.execute(statement)
        db.executemany(
            "INSERT INTO contigs VALUES (?,?,?,?)",
            [(c.name, c.length, c.gc_fraction, c.n_fraction) for c in contigs],
        )
        db.executemany("INSERT INTO atlas_meta VALUES (?,?)", sorted(meta.items()))
        create_indexes(db)
        # Recorded before ANALYZE runs, in the same transaction: the flag can never outlive a failed ANALYZE.
        db.execute("INSERT INTO atlas_meta VALUES ('analyze_completed', 'true')")
        analyze_and_close(db)
        return ArtifactCounts(self._genes, self._transcripts, self._exons, len(contigs))

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
    """Every `atlas_meta` key of contract 2.5 except `analyze_completed`, which `finish` adds after ANALYZE."""
    return {
        "schema_version": "4",
        # How this artifact was built (Atlas's ingest records WAL here; this builder loads without a journal).
        "ingest_journal_mode": BUILD_PRAGMAS["journal_mode"],
        "ingest_locking_mode": BUILD_PRAGMAS["locking_mode"],
        "ingest_page_size": str(PAGE_SIZE),
        "ingest_mmap_size": "0",
        "dataset_release": release,
        "dataset_species": species,
        "dataset_assembly": assembly,
        "dataset_id": f"{release}/{species}/{assembly}",
        "created_by": created_by,
        "input_hashes": f"gff3={gff3_sha256};fasta={fasta_sha256};fai={fai_sha256}",
        "fasta_sha256": fasta_sha256,
        "fai_sha256": fai_sha256,
        "vacuum_completed": "false",  # the bulk load writes pages in order; a VACUUM would not pay for itself
    }
