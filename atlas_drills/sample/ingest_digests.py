"""The manifest digests Atlas's ingest derives from the data itself (`ingest/engine/manifest.rs`), recomputed from
a built artifact, so the sample's manifest carries the values `bijux-atlas ingest` writes for the same inputs.

- `dataset_signature_sha256`: a merkle root over the canonical JSON of every gene row and every transcript row, in
  ingest's row order (`apply_deterministic_ordering`: genes by seqid, start, gene_id; transcripts by seqid,
  start, transcript_id).
- `reference_build_identity_sha256`: species, assembly, genes per contig and genes per contig class.
- `normalized_input_identity_sha256`: the input checksums, file names and seqid aliases.
- `contig_naming_style`: how the contigs that carry genes are named.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable

from atlas_drills.store.canonical import canonical_sha256, sha256_hex
from atlas_drills.store.dataset_id import DatasetId

# (JSON key, SQL expression) of ingest's `GeneRecord` and `TranscriptRecord`, serialized as serde writes them.
_CDS_BOOL = "json(CASE WHEN {} THEN 'true' ELSE 'false' END)"  # a Rust bool
_GENE_RECORD = (
    ("gene_id", "gene_id"), ("gene_name", "name"), ("biotype", "biotype"), ("seqid", "seqid"), ("start", "start"),
    ("end", "end"), ("transcript_count", "transcript_count"), ("exon_count", "exon_count"),
    ("total_exon_span", "total_exon_span"), ("cds_present", _CDS_BOOL.format("cds_present")),
    ("sequence_length", "sequence_length"),
)  # fmt: skip
_TRANSCRIPT_RECORD = (
    ("transcript_id", "t.transcript_id"), ("parent_gene_id", "t.parent_gene_id"),
    ("transcript_type", "t.transcript_type"), ("biotype", "t.biotype"), ("seqid", "t.seqid"), ("start", "t.start"),
    ("end", "t.end"), ("exon_count", "t.exon_count"), ("total_exon_span", "t.total_exon_span"),
    ("cds_present", _CDS_BOOL.format("t.cds_present")), ("sequence_length", "x.sequence_length"),
    ("spliced_length", "x.spliced_length"), ("cds_span_length", "x.cds_length"),
)  # fmt: skip


def _canonical_json_sql(record: tuple[tuple[str, str], ...]) -> str:
    """SQL building each row's canonical JSON (keys sorted, compact) in SQLite: the same bytes as
    `canonical_bytes` for these rows (tested), without a Python round trip per value."""
    pairs = ", ".join(f"'{key}', {expression}" for key, expression in sorted(record))
    return f"json_object({pairs})"


_GENE_ROWS = f"SELECT {_canonical_json_sql(_GENE_RECORD)} FROM gene_summary ORDER BY seqid, start, gene_id"
_TRANSCRIPT_ROWS = (
    f"SELECT {_canonical_json_sql(_TRANSCRIPT_RECORD)} FROM transcript_summary t "
    "JOIN transcripts x ON x.transcript_id = t.transcript_id ORDER BY t.seqid, t.start, t.transcript_id"
)


def merkle_root(leaves: list[str]) -> str:
    """Pairs of hex digests hashed as their concatenated text, an odd last one paired with itself."""
    if not leaves:
        return sha256_hex(b"")
    level = leaves
    while len(level) > 1:
        level = [
            sha256_hex((level[i] + (level[i + 1] if i + 1 < len(level) else level[i])).encode())
            for i in range(0, len(level), 2)
        ]
    return level[0]


def _table_root(db: sqlite3.Connection, sql: str) -> tuple[str, int]:
    """(merkle root, row count) over the rows' canonical JSON. The first level of the tree is built as rows stream
    in, so only half as many digests are ever held as there are rows."""
    paired: list[str] = []
    pending: str | None = None
    count = 0
    for (text,) in db.execute(sql):
        leaf = hashlib.sha256(text.encode()).hexdigest()
        count += 1
        if pending is None:
            pending = leaf
        else:
            paired.append(sha256_hex((pending + leaf).encode()))
            pending = None
    if count <= 1:
        return (pending if pending is not None else sha256_hex(b"")), count
    if pending is not None:
        paired.append(sha256_hex((pending + pending).encode()))
    return merkle_root(paired), count


def dataset_signature(db: sqlite3.Connection) -> str:
    gene_root, genes = _table_root(db, _GENE_ROWS)
    transcript_root, transcripts = _table_root(db, _TRANSCRIPT_ROWS)
    return canonical_sha256(
        {
            "gene_table_hash": gene_root,
            "transcript_table_hash": transcript_root,
            "gene_count": genes,
            "transcript_count": transcripts,
        }
    )


def genes_per_contig(db: sqlite3.Connection) -> dict[str, int]:
    return dict(db.execute("SELECT value, gene_count FROM dataset_stats WHERE dimension = 'seqid'").fetchall())


def _contig_label(seqid: str) -> str:
    lowered = seqid.strip().lower()
    core = lowered.removeprefix("chr")
    if core in ("mt", "m"):
        return "mitochondrial"
    return core


_CLASS_RULES: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("primaryautosome", lambda label: label.isascii() and label.isdigit()),
    ("sexchromosome", lambda label: label in ("x", "y", "w", "z")),
    ("mitochondrial", lambda label: label in ("mitochondrial", "mitochondria")),
    ("plasmid", lambda label: label.startswith("plasmid")),
    ("scaffold", lambda label: "scaffold" in label or label.startswith("scf")),
    ("alternate", lambda label: "_" in label or label.startswith(("gl", "ki")) or "alt" in label),
)


def contig_class(seqid: str) -> str:
    """`classify_contig`, spelled as ingest keys it (`format!("{:?}")` lowercased); its rules, in its order."""
    label = _contig_label(seqid)
    return next((name for name, rule in _CLASS_RULES if rule(label)), "unclassified")


def reference_build_identity(dataset: DatasetId, per_contig: dict[str, int]) -> str:
    classes: dict[str, int] = {}
    for seqid, count in per_contig.items():
        classes[contig_class(seqid)] = classes.get(contig_class(seqid), 0) + count
    return canonical_sha256(
        {
            "assembly": dataset.assembly,
            "species": dataset.species,
            "contig_distribution": per_contig,
            "contig_class_distribution": classes,
        }
    )


def normalized_input_identity(
    *, gff3_sha256: str, fasta_sha256: str, fai_sha256: str, filenames: tuple[str, str, str], aliases: dict[str, str]
) -> str:
    gff3, fasta, fai = filenames
    return canonical_sha256(
        {
            "gff3_sha256": gff3_sha256,
            "fasta_sha256": fasta_sha256,
            "fai_sha256": fai_sha256,
            "source_filenames": {"gff3": gff3, "fasta": fasta, "fai": fai},
            "contig_normalization_aliases": aliases,
        }
    )


def contig_naming_style(seqids: list[str]) -> str:
    chr_prefixed = plain_numeric = False
    for seqid in seqids:
        lowered = seqid.lower()
        chr_prefixed |= lowered.startswith("chr")
        core = lowered.removeprefix("chr")
        if core.isascii() and core.isdigit():
            plain_numeric |= not lowered.startswith("chr")
    return {
        (True, True): "mixed_chr_and_plain",
        (True, False): "chr_prefixed",
        (False, True): "plain_numeric",
    }.get((chr_prefixed, plain_numeric), "noncanonical")
