"""The sample builder: determinism, servable store, artifact shape and content, synthetic inputs."""

from __future__ import annotations

import gzip
import re
import sqlite3
from pathlib import Path

import pytest

from atlas_drills.sample import (
    SampleBuildError,
    SampleConfig,
    SampleConfigError,
    SampleRelease,
    build_sample,
    load_sample,
)
from atlas_drills.sample.artifact_writer import ArtifactWriter
from atlas_drills.sample.config import plan_datasets
from atlas_drills.sample.dataset_build import universe_of
from atlas_drills.sample.genome import genome_contigs
from atlas_drills.store.artifact import check_artifact_shape, open_read_only
from atlas_drills.store.canonical import sha256_file
from atlas_drills.store.catalog import check_catalog_checksum, read_catalog, read_catalog_checksum
from atlas_drills.store.dataset_id import DatasetId
from atlas_drills.store.layout import derived_dir, manifest_path, sqlite_path
from atlas_drills.store.manifest import ArtifactManifest, parse_manifest, validate_strict
from atlas_drills.store.sidecars import check_publish_sidecars
from tests.conftest import SMALL_SAMPLE

CONTRACT_META_KEYS = {
    "schema_version",
    "ingest_journal_mode",
    "ingest_locking_mode",
    "ingest_page_size",
    "ingest_mmap_size",
    "dataset_release",
    "dataset_species",
    "dataset_assembly",
    "dataset_id",
    "created_by",
    "input_hashes",
    "fasta_sha256",
    "fai_sha256",
    "analyze_completed",
    "vacuum_completed",
}


def all_files(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def manifest_of(release: SampleRelease, dataset: DatasetId) -> ArtifactManifest:
    path = manifest_path(release.store_root, dataset)
    return parse_manifest(path.read_bytes(), str(path))


def test_same_seed_builds_byte_identical_files(sample_release: SampleRelease, tmp_path: Path) -> None:
    again = build_sample(tmp_path / "again", SMALL_SAMPLE)
    first, second = all_files(sample_release.root), all_files(again.root)
    assert sorted(first) == sorted(second)
    differing = [name for name in first if first[name] != second[name]]
    assert differing == []
    assert again.release_id == sample_release.release_id


def test_another_seed_builds_another_release(sample_release: SampleRelease, tmp_path: Path) -> None:
    other = build_sample(tmp_path / "other", SampleConfig(seed=8, genes=300))
    assert other.git_sha != sample_release.git_sha
    ours = sqlite_path(sample_release.store_root, sample_release.current)
    theirs = sqlite_path(other.store_root, other.current)
    assert sha256_file(ours) != sha256_file(theirs)


def test_release_identity_is_derived_from_the_seed(sample_release: SampleRelease) -> None:
    assert re.fullmatch(r"[0-9a-f]{40}", sample_release.git_sha)
    assert sample_release.release_id == f"ops_run-{sample_release.git_sha[:12]}"
    assert sample_release.governance_version == f"main@{sample_release.git_sha}"


def test_datasets_and_current(sample_release: SampleRelease) -> None:
    assert [d.canonical for d in sample_release.datasets] == [
        "110/homo_sapiens/GRCh38",
        "111/homo_sapiens/GRCh38",
        "112/homo_sapiens/GRCh38",
        "112/mus_musculus/GRCm39",
    ]
    assert sample_release.current == DatasetId("112", "homo_sapiens", "GRCh38")
    assert sample_release.store_root == sample_release.root / "store"
    assert sample_release.config_file == sample_release.root / "config" / "atlas.env"


def test_load_sample_reads_back_what_was_built(sample_release: SampleRelease) -> None:
    assert load_sample(sample_release.root) == sample_release


def test_catalog_lists_every_dataset_and_its_checksum_is_the_epoch(sample_release: SampleRelease) -> None:
    catalog = read_catalog(sample_release.store_root)
    assert catalog.validate_sorted() == []
    assert tuple(catalog.dataset_ids()) == sample_release.datasets
    assert read_catalog_checksum(sample_release.store_root) == catalog.epoch
    assert check_catalog_checksum(sample_release.store_root, catalog) is None


def test_every_manifest_is_servable_and_its_identity_recomputes(sample_release: SampleRelease) -> None:
    for dataset in sample_release.datasets:
        manifest = manifest_of(sample_release, dataset)
        assert validate_strict(manifest) == [], dataset
        assert manifest.identity == manifest.recomputed_identity()
        assert manifest.identity.release_id == dataset.canonical
        assert manifest.artifact_hash == manifest.ingest_artifact_hash()
        sqlite_sha = sha256_file(sqlite_path(sample_release.store_root, dataset))
        assert manifest.checksums.sqlite_sha256 == manifest.db_hash == sqlite_sha
        assert manifest.derived_column_origins


def test_publish_sidecars_bind_the_artifact_bytes(sample_release: SampleRelease) -> None:
    for dataset in sample_release.datasets:
        assert check_publish_sidecars(derived_dir(sample_release.store_root, dataset), dataset) == []


def test_artifacts_have_the_v4_shape_and_match_the_manifest_stats(sample_release: SampleRelease) -> None:
    for dataset in sample_release.datasets:
        path = sqlite_path(sample_release.store_root, dataset)
        assert check_artifact_shape(path) == [], dataset
        stats = manifest_of(sample_release, dataset).stats
        with open_read_only(path) as db:
            count = {table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in _COUNTED}
            meta = dict(db.execute("SELECT k, v FROM atlas_meta").fetchall())
            stat_sums = dict(db.execute("SELECT dimension, sum(gene_count) FROM dataset_stats GROUP BY 1"))
            rtree_matches = db.execute(
                "SELECT count(*) FROM gene_summary g JOIN gene_summary_rtree r ON r.gene_rowid = g.id"
            ).fetchone()[0]
        db.close()
        assert count["gene_summary"] == count["genes"] == stats.gene_count
        assert count["transcript_summary"] == count["transcripts"] == stats.transcript_count
        assert count["contigs"] == stats.contig_count
        assert count["transcript_exon_map"] >= count["exons"] > 0
        assert rtree_matches == stats.gene_count
        assert stat_sums == {"biotype": stats.gene_count, "seqid": stats.gene_count}
        assert set(meta) == CONTRACT_META_KEYS
        assert meta["dataset_id"] == dataset.canonical
        assert meta["analyze_completed"] == "true"


_COUNTED = ("gene_summary", "genes", "transcript_summary", "transcripts", "exons", "transcript_exon_map", "contigs")


def test_artifact_is_a_wal_database_with_no_side_files(sample_release: SampleRelease) -> None:
    """As ingest leaves it: WAL format (header bytes 18-19 = 2), checkpointed, no -wal/-shm/-journal beside it."""
    for dataset in sample_release.datasets:
        path = sqlite_path(sample_release.store_root, dataset)
        header = path.read_bytes()[:100]
        assert header[:16] == b"SQLite format 3\x00"
        assert header[18:20] == b"\x02\x02", dataset
        for suffix in ("-journal", "-wal", "-shm"):
            assert not path.with_name(path.name + suffix).exists()
    path = sqlite_path(sample_release.store_root, sample_release.current)
    with open_read_only(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 4
        problems = [row[0] for row in db.execute("PRAGMA integrity_check") if row[0] != "ok"]
        assert [p for p in problems if not _false_null_report(db, p)] == []
    db.close()
    assert sorted(p.name for p in path.parent.iterdir() if p.name.startswith(path.name)) == [path.name]


def _false_null_report(db: sqlite3.Connection, problem: str) -> bool:
    """SQLite before 3.41 reports 'NULL value in T.C' for NOT NULL non-key columns of WITHOUT ROWID tables
    whose key is not their first column; it is false when the column really holds no NULL."""
    found = re.fullmatch(r"NULL value in (\w+)\.(\w+)", problem)
    if found is None:
        return False
    table, column = found.groups()
    nulls: int = db.execute(f"SELECT count(*) FROM {table} WHERE {column} IS NULL").fetchone()[0]
    return nulls == 0


def test_genes_look_like_ensembl(sample_release: SampleRelease) -> None:
    with open_read_only(sqlite_path(sample_release.store_root, sample_release.current)) as db:
        genes = db.execute("SELECT gene_id, name, biotype, start, end, transcript_count FROM gene_summary").fetchall()
        orphans = db.execute(
            "SELECT count(*) FROM transcript_summary t LEFT JOIN genes g ON g.gene_id = t.parent_gene_id "
            "WHERE g.gene_id IS NULL"
        ).fetchone()[0]
        tx_ids = [row[0] for row in db.execute("SELECT transcript_id FROM transcript_summary")]
    db.close()
    assert all(re.fullmatch(r"ENSG\d{11}", gene_id) for gene_id, *_ in genes)
    assert all(re.fullmatch(r"ENST\d{11}", tx_id) for tx_id in tx_ids)
    names = [name for _, name, *_ in genes]
    assert len(set(names)) == len(names)
    assert {"protein_coding", "lncRNA", "miRNA"} <= {biotype for _, _, biotype, *_ in genes}
    assert all(1 <= count <= 4 for *_, count in genes)
    assert all(start <= end for _, _, _, start, end, _ in genes)
    inputs = sample_release.root / "build" / "inputs" / sample_release.current.directory
    gff3 = gzip.decompress((inputs / "genes.gff3.gz").read_bytes()).decode()
    assert {line.split("\t")[6] for line in gff3.splitlines() if "\tgene\t" in line} == {"+", "-"}
    assert orphans == 0
    with open_read_only(sqlite_path(sample_release.store_root, DatasetId("112", "mus_musculus", "GRCm39"))) as db:
        mouse = db.execute("SELECT gene_id FROM gene_summary LIMIT 1").fetchone()[0]
    db.close()
    assert re.fullmatch(r"ENSMUSG\d{11}", mouse)


def gene_names(release: SampleRelease, dataset: DatasetId) -> dict[str, str]:
    with open_read_only(sqlite_path(release.store_root, dataset)) as db:
        rows = dict(db.execute("SELECT gene_id, name FROM gene_summary").fetchall())
    db.close()
    return rows


def test_successive_releases_differ_by_a_few_genes(sample_release: SampleRelease) -> None:
    older = gene_names(sample_release, DatasetId("111", "homo_sapiens", "GRCh38"))
    newer = gene_names(sample_release, DatasetId("112", "homo_sapiens", "GRCh38"))
    added, removed = newer.keys() - older.keys(), older.keys() - newer.keys()
    renamed = {gene for gene in newer.keys() & older.keys() if newer[gene] != older[gene]}
    assert added
    assert removed
    assert renamed
    assert len(added | removed | renamed) < len(newer) // 10
    assert len(newer) == SMALL_SAMPLE.genes


def test_inputs_are_the_files_the_manifests_name(sample_release: SampleRelease) -> None:
    for dataset in sample_release.datasets:
        manifest = manifest_of(sample_release, dataset)
        inputs = sample_release.root / "build" / "inputs" / dataset.directory
        assert sha256_file(inputs / "genes.gff3.gz") == manifest.checksums.gff3_sha256
        assert sha256_file(inputs / "genome.fa.gz") == manifest.checksums.fasta_sha256
        assert sha256_file(inputs / "genome.fa.gz.fai") == manifest.checksums.fai_sha256
        assert manifest.input_hashes.gff3_sha256 == manifest.checksums.gff3_sha256


def test_gff3_and_fasta_agree_with_the_artifact(sample_release: SampleRelease) -> None:
    dataset = sample_release.current
    inputs = sample_release.root / "build" / "inputs" / dataset.directory
    gff3 = gzip.decompress((inputs / "genes.gff3.gz").read_bytes()).decode()
    gene_lines = [line for line in gff3.splitlines() if line.split("\t")[2:3] == ["gene"]]
    fasta = gzip.decompress((inputs / "genome.fa.gz").read_bytes())
    fai = [line.split("\t") for line in (inputs / "genome.fa.gz.fai").read_text().splitlines()]
    with open_read_only(sqlite_path(sample_release.store_root, dataset)) as db:
        gene_count = db.execute("SELECT count(*) FROM gene_summary").fetchone()[0]
        contigs = db.execute("SELECT name, length FROM contigs ORDER BY length(name), name").fetchall()
    db.close()
    assert gff3.startswith("##gff-version 3\n")
    assert len(gene_lines) == gene_count
    assert [(name, int(length)) for name, length, *_ in fai] == contigs
    for name, length, offset, bases, width in fai:
        start = int(offset)
        assert fasta[start - len(name) - 2 : start] == f">{name}\n".encode()
        lines = int(length) // int(bases)
        sequence = fasta[start : start + lines * int(width)].replace(b"\n", b"")
        assert len(sequence) == lines * int(bases)
        assert set(sequence) <= set(b"ACGTN")


def test_refuses_a_non_empty_out_and_leaves_it_alone(tmp_path: Path) -> None:
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(SampleBuildError, match="not an empty folder"):
        build_sample(out, SampleConfig(genes=20))
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["busy"]


def test_builds_into_an_empty_folder_without_leaving_temporaries(tmp_path: Path) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    release = build_sample(out, SampleConfig(genes=20, second_species=None))
    assert [p.name for p in tmp_path.iterdir()] == ["empty"]
    assert [d.canonical for d in release.datasets] == ["110/homo_sapiens/GRCh38", "111/homo_sapiens/GRCh38",
                                                       "112/homo_sapiens/GRCh38"]  # fmt: skip


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        (SampleConfig(releases=("110",)), "at least two"),
        (SampleConfig(releases=("111", "110")), "strictly increasing"),
        (SampleConfig(releases=("110", "abc")), "release 'abc'"),
        (SampleConfig(genes=3), "at least 10"),
        (SampleConfig(species="Homo sapiens"), "species 'Homo sapiens'"),
        (SampleConfig(second_species="homo_sapiens", second_assembly="GRCh38"), "different dataset"),
    ],
)
def test_bad_configs_are_refused_before_anything_is_written(config: SampleConfig, problem: str, tmp_path: Path) -> None:
    with pytest.raises(SampleConfigError, match=problem):
        build_sample(tmp_path / "out", config)
    assert list(tmp_path.iterdir()) == []


def test_worker_processes_build_the_same_bytes(tmp_path: Path) -> None:
    config = SampleConfig(seed=3, genes=400)
    in_process = build_sample(tmp_path / "one", config, workers=1)
    in_workers = build_sample(tmp_path / "two", config, workers=2)
    assert all_files(in_process.root) == all_files(in_workers.root)


def table_rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every table's content, row ids included: a patched release numbers its rows as a fresh build does."""
    queries = {
        "gene_summary": "SELECT * FROM gene_summary ORDER BY id",
        "transcript_summary": "SELECT * FROM transcript_summary ORDER BY id",
        "genes": "SELECT * FROM genes ORDER BY id",
        "transcripts": "SELECT * FROM transcripts ORDER BY id",
        "exons": "SELECT * FROM exons ORDER BY id",
        "transcript_exon_map": "SELECT * FROM transcript_exon_map ORDER BY transcript_id, exon_id",
        "dataset_stats": "SELECT * FROM dataset_stats ORDER BY dimension, value",
        "contigs": "SELECT * FROM contigs ORDER BY name",
        "rtree": "SELECT * FROM gene_summary_rtree ORDER BY gene_rowid",
        "atlas_meta": "SELECT * FROM atlas_meta ORDER BY k",
    }
    with open_read_only(path) as db:
        rows = {name: db.execute(sql).fetchall() for name, sql in queries.items()}
    db.close()
    return rows


def test_a_derived_release_holds_what_a_fresh_build_would(sample_release: SampleRelease, tmp_path: Path) -> None:
    """Later releases are patched from the previous artifact; their content must equal a from-scratch build."""
    plan = next(p for p in plan_datasets(SMALL_SAMPLE) if p.dataset == sample_release.current)
    universe = universe_of(SMALL_SAMPLE.seed, plan)
    derived = sqlite_path(sample_release.store_root, plan.dataset)
    served = table_rows(derived)
    fresh = ArtifactWriter(tmp_path / "fresh.sqlite")
    fresh.add(universe.genes(plan.release_index))
    meta = {str(key): str(value) for key, value in served.pop("atlas_meta")}
    meta.pop("analyze_completed")
    fresh.finish(genome_contigs(universe, plan.dataset.assembly), meta)
    expected = table_rows(tmp_path / "fresh.sqlite")
    expected.pop("atlas_meta")
    assert served == expected
