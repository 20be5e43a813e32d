"""Reading a restored SQLite artifact directly, for the answers the service must give about it.

The sample is deterministic (evenly spaced genes by id), spread over the whole dataset and cheap on any size, so a
drill replays the same queries on every run and on every worker.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Final

from atlas_drills.store.artifact import TRANSCRIPT_ROW_FIELDS

GENE_FIELDS: Final = ("gene_id", "name", "seqid", "start", "end", "biotype", "transcript_count")
TRANSCRIPT_FIELDS: Final = TRANSCRIPT_ROW_FIELDS


def gene_count(connection: sqlite3.Connection) -> int:
    return int(connection.execute("SELECT count(*) FROM gene_summary").fetchone()[0])


def sample_genes(connection: sqlite3.Connection, size: int) -> list[dict[str, Any]]:
    """Up to `size` genes, evenly spaced by gene id, with the fields a gene lookup answers."""
    count = gene_count(connection)
    offsets = sorted({(index * count) // size for index in range(size)}) if count else []
    columns = ", ".join(f'"{c}"' for c in GENE_FIELDS)
    rows = []
    for offset in offsets:
        row = connection.execute(
            f"SELECT {columns} FROM gene_summary ORDER BY gene_id LIMIT 1 OFFSET ?", (offset,)
        ).fetchone()
        rows.append(dict(zip(GENE_FIELDS, row, strict=True)))
    return rows


def transcript_row(row: dict[str, Any]) -> dict[str, Any]:
    """A transcript as the API renders it: SQLite stores cds_present as 0/1, the API may render a boolean."""
    return {**row, "cds_present": bool(row.get("cds_present"))} if "cds_present" in row else row


def transcripts_of(connection: sqlite3.Connection, gene_id: str) -> list[dict[str, Any]]:
    """The gene's transcripts, by transcript id."""
    columns = ", ".join(f'"{c}"' for c in TRANSCRIPT_FIELDS)
    rows = connection.execute(
        f"SELECT {columns} FROM transcript_summary WHERE parent_gene_id = ? ORDER BY transcript_id", (gene_id,)
    ).fetchall()
    return [transcript_row(dict(zip(TRANSCRIPT_FIELDS, row, strict=True))) for row in rows]


def genes_overlapping(connection: sqlite3.Connection, seqid: str, start: int, end: int) -> list[str]:
    """Ids of the genes overlapping `seqid:start-end` (inclusive), sorted."""
    rows = connection.execute(
        'SELECT gene_id FROM gene_summary WHERE seqid = ? AND start <= ? AND "end" >= ? ORDER BY gene_id',
        (seqid, end, start),
    ).fetchall()
    return [row[0] for row in rows]
