"""The manifest digests ingest derives from the data, recomputed by the sample builder (checked against Atlas's own
output by tests/unit/test_sample_atlas_cli.py when ATLAS_DRILLS_ATLAS_CLI is set)."""

from __future__ import annotations

import hashlib
import json

import pytest

from atlas_drills.sample import SampleRelease
from atlas_drills.sample.ingest_digests import (
    _GENE_RECORD,
    _GENE_ROWS,
    _TRANSCRIPT_RECORD,
    _TRANSCRIPT_ROWS,
    contig_class,
    contig_naming_style,
    dataset_signature,
    merkle_root,
)
from atlas_drills.store.artifact import open_read_only
from atlas_drills.store.canonical import canonical_bytes
from atlas_drills.store.layout import sqlite_path


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_merkle_root_pairs_text_and_repeats_an_odd_last_leaf() -> None:
    a, b, c = _sha("a"), _sha("b"), _sha("c")
    assert merkle_root([]) == _sha("")
    assert merkle_root([a]) == a
    assert merkle_root([a, b]) == _sha(a + b)
    assert merkle_root([a, b, c]) == _sha(_sha(a + b) + _sha(c + c))


def test_rows_are_serialized_as_canonical_json(sample_release: SampleRelease) -> None:
    """The SQL-built JSON of each row is exactly `canonical_bytes` of the record (sorted keys, compact, bools)."""
    path = sqlite_path(sample_release.store_root, sample_release.current)
    with open_read_only(path) as db:
        for sql, record in ((_GENE_ROWS, _GENE_RECORD), (_TRANSCRIPT_ROWS, _TRANSCRIPT_RECORD)):
            texts = [row[0] for row in db.execute(sql)]
            assert texts
            for text in texts[:200]:
                value = json.loads(text)
                assert list(value) == sorted(key for key, _ in record)
                assert isinstance(value["cds_present"], bool)
                assert canonical_bytes(value) == text.encode()
        signature = dataset_signature(db)
    db.close()
    assert len(signature) == 64


@pytest.mark.parametrize(
    ("seqid", "expected"),
    [
        ("chr1", "primaryautosome"),
        ("12", "primaryautosome"),
        ("chrX", "sexchromosome"),
        ("MT", "mitochondrial"),
        ("chrM", "mitochondrial"),
        ("plasmid2", "plasmid"),
        ("scaffold_7", "scaffold"),
        ("chr1_KI270706v1_random", "alternate"),
        ("GL000220.1", "alternate"),
        ("unplaced", "unclassified"),
    ],
)
def test_contig_classes(seqid: str, expected: str) -> None:
    assert contig_class(seqid) == expected


@pytest.mark.parametrize(
    ("seqids", "expected"),
    [
        (["chr1", "chr2"], "chr_prefixed"),
        (["1", "2"], "plain_numeric"),
        (["chr1", "2"], "mixed_chr_and_plain"),
        (["scaffold_1"], "noncanonical"),
    ],
)
def test_contig_naming_styles(seqids: list[str], expected: str) -> None:
    assert contig_naming_style(seqids) == expected


@pytest.mark.parametrize("rows", [0, 1, 2, 3, 4, 5, 8, 13])
def test_streamed_table_root_is_the_merkle_root_of_all_rows(rows: int) -> None:
    import sqlite3

    from atlas_drills.sample.ingest_digests import _table_root

    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (j TEXT)")
    db.executemany("INSERT INTO t VALUES (?)", [(f'{{"n":{i}}}',) for i in range(rows)])
    leaves = [_sha(f'{{"n":{i}}}') for i in range(rows)]
    assert _table_root(db, "SELECT j FROM t ORDER BY rowid") == (merkle_root(leaves), rows)
