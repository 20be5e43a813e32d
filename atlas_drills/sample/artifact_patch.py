"""A later release's artifact, derived from the previous release's by applying the genes that changed.

Successive releases share all but ~1 % of their genes, so rebuilding each one from scratch would generate and insert
the same rows again. Instead the previous artifact is copied and patched: removed genes deleted, added genes
inserted, renamed genes updated; then every row renumbered as ingest numbers them (sorted, from 1), the rtree and the
indexes rebuilt, and `dataset_stats`, `atlas_meta` and the planner statistics refreshed. The result is a different
file with the content a fresh build of that release would have; the same inputs still give the same bytes.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from atlas_drills.sample.annotation import Gene
from atlas_drills.sample.artifact_writer import (
    DATASET_STATS_FROM_GENES,
    RTREE_FROM_GENES,
    ArtifactCounts,
    RowIds,
    analyze_and_close,
    ascii_lower,
    gene_rows,
    open_for_build,
    renumber_rows,
)
from atlas_drills.store.artifact import INDEXES_V4, create_indexes

GeneChange = tuple[Gene | None, Gene | None]  # (as in the previous release, as in this one)
_ADD_BATCH = 5_000  # changes arrive as a stream; added genes are inserted in bounded batches


def derive_artifact(
    previous: Path, target: Path, changes: Iterable[GeneChange], meta_updates: dict[str, str]
) -> ArtifactCounts:
    """Write `target` as `previous` with `changes` applied and `meta_updates` set in `atlas_meta`."""
    shutil.copyfile(previous, target)
    db = open_for_build(target)
    try:
        db.execute("BEGIN")
        start = RowIds(*(_max_id(db, table) for table in ("gene_summary", "transcript_summary", "exons")))
        added: list[Gene] = []
        last = start
        for before, after in changes:
            if before is None and after is not None:
                added.append(after)
            elif after is None and before is not None:
                _remove(db, before)
            elif before is not None and after is not None and before.name != after.name:
                _rename(db, after)
            if len(added) == _ADD_BATCH:
                last = _add(db, added, last)
                added = []
        _add(db, added, last)
        # Ingest numbers rows from scratch in sorted order: renumber without the secondary indexes (cheaper to
        # rebuild than to maintain through a rewrite), then rebuild the rtree and the indexes.
        for name in INDEXES_V4:
            db.execute(f"DROP INDEX {name}")
        renumber_rows(db)
        db.execute("DELETE FROM gene_summary_rtree")
        db.execute(RTREE_FROM_GENES)
        create_indexes(db)
        db.execute("DELETE FROM dataset_stats")
        for statement in DATASET_STATS_FROM_GENES:
            db.execute(statement)
        db.executemany("INSERT OR REPLACE INTO atlas_meta VALUES (?,?)", sorted(meta_updates.items()))
        counts = ArtifactCounts(
            genes=_count(db, "gene_summary"),
            transcripts=_count(db, "transcript_summary"),
            exons=_count(db, "exons"),
            contigs=_count(db, "contigs"),
        )
        analyze_and_close(db)
    except BaseException:
        db.close()
        raise
    return counts


def _add(db: sqlite3.Connection, genes: list[Gene], last: RowIds) -> RowIds:
    rows = gene_rows(genes, last)
    rows.insert(db)
    return RowIds(
        last.gene + len(rows.gene_summary), last.transcript + len(rows.transcripts), last.exon + len(rows.exons)
    )


def _max_id(db: sqlite3.Connection, table: str) -> int:
    value: int | None = db.execute(f"SELECT max(id) FROM {table}").fetchone()[0]
    return value or 0


def _count(db: sqlite3.Connection, table: str) -> int:
    count: int = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return count


def _remove(db: sqlite3.Connection, gene: Gene) -> None:
    (rowid,) = db.execute("SELECT id FROM gene_summary WHERE gene_id = ?", (gene.gene_id,)).fetchone()
    for table in ("gene_summary", "genes"):
        db.execute(f"DELETE FROM {table} WHERE id = ?", (rowid,))
    db.execute("DELETE FROM gene_summary_rtree WHERE gene_rowid = ?", (rowid,))
    transcripts = [(tx.transcript_id,) for tx in gene.transcripts]
    for table in ("transcript_summary", "transcripts", "exons", "transcript_exon_map"):
        db.executemany(f"DELETE FROM {table} WHERE transcript_id = ?", transcripts)


def _rename(db: sqlite3.Connection, gene: Gene) -> None:
    for table in ("gene_summary", "genes"):
        db.execute(
            f"UPDATE {table} SET name = ?, name_normalized = ? WHERE gene_id = ?",
            (gene.name, ascii_lower(gene.name), gene.gene_id),
        )
