"""SQL over the v4 artifact: `gene_summary` (with `gene_summary_rtree` for regions), `transcript_summary` and
`dataset_stats`, the tables Atlas's server queries (contract §2.5). Values always travel as parameters."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from atlas_drills.standin.params import INCLUDE_FIELDS, GeneQuery, Region
from atlas_drills.store.artifact import TRANSCRIPT_ROW_FIELDS

TRANSCRIPT_FIELDS = TRANSCRIPT_ROW_FIELDS
GENE_ROW_FIELDS = ("gene_id", "name", *dict.fromkeys(f for fields in INCLUDE_FIELDS.values() for f in fields))
_SORT_KEYS = {"gene_id:asc": ("gene_id", "id"), "region:asc": ("seqid", "start", "gene_id", "id")}


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    next_key: list[Any] | None


def _quote(column: str) -> str:
    return f'g."{column}"'


def _gene_filters(query: GeneQuery) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    if query.gene_id is not None:
        clauses.append("g.gene_id = ?")
        args.append(query.gene_id)
    if query.name is not None:
        clauses.append("g.name = ?")
        args.append(query.name)
    if query.name_prefix is not None:
        # A half-open range on the indexed column: the prefix match SQLite can answer from idx_gene_summary_name.
        clauses.append("g.name >= ? AND g.name < ?")
        args.extend([query.name_prefix, _prefix_upper_bound(query.name_prefix)])
    if query.biotype is not None:
        clauses.append("g.biotype = ?")
        args.append(query.biotype)
    if query.contig is not None:
        clauses.append("g.seqid = ?")
        args.append(query.contig)
    if query.region is not None:
        # The rtree narrows by coordinates (stored as 32-bit floats, rounded outwards); the row check makes it exact.
        clauses.append(
            'g.id IN (SELECT gene_rowid FROM gene_summary_rtree WHERE start <= ? AND "end" >= ?) '
            'AND g.seqid = ? AND g.start <= ? AND g."end" >= ?'
        )
        r = query.region
        args.extend([r.end, r.start, r.seqid, r.end, r.start])
    return " AND ".join(clauses) or "1", args


def _prefix_upper_bound(prefix: str) -> str:
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def gene_page(conn: sqlite3.Connection, query: GeneQuery) -> Page:
    """One page of genes: `{gene_id, name}` plus the included fields, in the requested order."""
    extra = [column for item in query.include for column in INCLUDE_FIELDS[item]]
    columns = ["gene_id", "name", *dict.fromkeys(extra)]
    keys = _SORT_KEYS[query.sort]
    where, args = _gene_filters(query)
    if query.cursor is not None:
        where += f" AND ({', '.join(_quote(k) for k in keys)}) > ({', '.join('?' for _ in keys)})"
        args.extend(query.cursor)
    select = ", ".join(_quote(c) for c in dict.fromkeys([*columns, *keys]))
    order = ", ".join(_quote(k) for k in keys)
    sql = f"SELECT {select} FROM gene_summary AS g WHERE {where} ORDER BY {order} LIMIT ?"
    cursor = conn.execute(sql, [*args, query.limit + 1])
    names = [d[0] for d in cursor.description]
    fetched = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    next_key = None
    if len(fetched) > query.limit:
        fetched = fetched[: query.limit]
        next_key = [fetched[-1][k] for k in keys]
    # Atlas answers every gene field, null where `include` did not ask for it.
    rows = [{c: record.get(c) for c in GENE_ROW_FIELDS} for record in fetched]
    return Page(rows, next_key)


def explain_genes(conn: sqlite3.Connection, query: GeneQuery) -> list[str]:
    where, args = _gene_filters(query)
    sql = f"EXPLAIN QUERY PLAN SELECT g.gene_id FROM gene_summary AS g WHERE {where}"
    return [str(row[3]) for row in conn.execute(sql, args).fetchall()]


def gene_count(conn: sqlite3.Connection, query: GeneQuery | None) -> int:
    """All genes, or the genes matching the query's filters. Single-dimension counts come from `dataset_stats`."""
    if query is None or not _has_filters(query):
        return int(conn.execute("SELECT COUNT(*) FROM gene_summary").fetchone()[0])
    only_biotype = query.biotype is not None and _filter_count(query) == 1
    only_contig = query.contig is not None and _filter_count(query) == 1
    if only_biotype or only_contig:
        dimension, value = ("biotype", query.biotype) if only_biotype else ("seqid", query.contig)
        row = conn.execute(
            "SELECT gene_count FROM dataset_stats WHERE dimension = ? AND value = ?", (dimension, value)
        ).fetchone()
        return int(row[0]) if row else 0
    where, args = _gene_filters(query)
    return int(conn.execute(f"SELECT COUNT(*) FROM gene_summary AS g WHERE {where}", args).fetchone()[0])


def _filter_count(query: GeneQuery) -> int:
    values = (query.gene_id, query.name, query.name_prefix, query.biotype, query.contig, query.region)
    return sum(value is not None for value in values)


def _has_filters(query: GeneQuery) -> bool:
    return _filter_count(query) > 0


def _transcript_row(names: list[str], row: tuple[Any, ...]) -> dict[str, Any]:
    record = dict(zip(names, row, strict=True))
    record["cds_present"] = bool(record["cds_present"])
    return {name: record[name] for name in TRANSCRIPT_FIELDS}


def transcripts_of_gene(
    conn: sqlite3.Connection,
    gene_id: str,
    *,
    limit: int,
    after: str | None = None,
    biotype: str | None = None,
    transcript_type: str | None = None,
    region: Region | None = None,
) -> Page:
    clauses = ["parent_gene_id = ?"]
    args: list[Any] = [gene_id]
    for column, value in (("biotype", biotype), ("transcript_type", transcript_type)):
        if value is not None:
            clauses.append(f"{column} = ?")
            args.append(value)
    if region is not None:
        clauses.append('seqid = ? AND start <= ? AND "end" >= ?')
        args.extend([region.seqid, region.end, region.start])
    if after is not None:
        clauses.append("transcript_id > ?")
        args.append(after)
    columns = ", ".join(f'"{c}"' for c in TRANSCRIPT_FIELDS)
    # Atlas's order (and its cursor, the last transcript id, which it compares alone, as done here).
    order = "seqid ASC, start ASC, transcript_id ASC"
    sql = f"SELECT {columns} FROM transcript_summary WHERE {' AND '.join(clauses)} ORDER BY {order} LIMIT ?"
    cursor = conn.execute(sql, [*args, limit + 1])
    names = [d[0] for d in cursor.description]
    rows = [_transcript_row(names, row) for row in cursor.fetchall()]
    next_key = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_key = [rows[-1]["transcript_id"]]
    return Page(rows, next_key)


def transcript_by_id(conn: sqlite3.Connection, transcript_id: str) -> dict[str, Any] | None:
    columns = ", ".join(f'"{c}"' for c in TRANSCRIPT_FIELDS)
    cursor = conn.execute(f"SELECT {columns} FROM transcript_summary WHERE transcript_id = ?", (transcript_id,))
    row = cursor.fetchone()
    if row is None:
        return None
    return _transcript_row([d[0] for d in cursor.description], row)
