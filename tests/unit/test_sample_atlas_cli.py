"""`sample build --atlas-cli PATH`, and Atlas's own ingest as ground truth for the sample builder.

The ground-truth tests run the Atlas CLI named by ATLAS_DRILLS_ATLAS_CLI (a `bijux-atlas` binary; nothing of Atlas
is part of this suite) and skip, saying so, when it is not set. They ingest the sample's raw inputs with Atlas and
compare, field by field and row by row, what Atlas writes with what the sample builder writes for the same inputs.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest

from atlas_drills.cli import main
from atlas_drills.sample import SampleConfig, SampleRelease, build_sample, load_sample
from atlas_drills.sample.atlas_ingest import ATLAS_OUTPUT_ROOT, AtlasIngestError, run_atlas_ingest
from atlas_drills.store.artifact import check_artifact_shape, open_read_only
from atlas_drills.store.catalog import Catalog
from atlas_drills.store.layout import CATALOG_CHECKSUM_FILE, PUBLISH_SIDECARS, derived_dir, manifest_path, sqlite_path
from atlas_drills.store.manifest import load_manifest_strict, validate_strict
from atlas_drills.store.sidecars import check_publish_sidecars, write_publish_sidecars

ATLAS_CLI_VARIABLE = "ATLAS_DRILLS_ATLAS_CLI"
CONFIG = SampleConfig(seed=5, genes=200)
# Manifest fields the sample cannot hold Atlas's value for, each with the reason (README, departures table).
DEPARTURES = {
    "checksums": "Atlas hashes the decompressed copies of the inputs it makes; the sample the gzip files it ships",
    "input_hashes": "as checksums, and policy_sha256 hashes a policy file of Atlas's source tree",
    "normalized_input_identity_sha256": "derived from checksums and the input file names",
    "source_gff3_filename": "Atlas names its decompressed copy genes.gff3.bgz",
    "source_fasta_filename": "Atlas names its decompressed copy genome.fa.bgz",
    "source_fai_filename": "Atlas names its copy genome.fa.bgz.fai",
    "db_hash": "the SQLite bytes differ (row ids, planner statistics, created_by)",
    "identity": "its artifact fingerprint hashes the SQLite bytes",
    "artifact_hash": "hashes checksums, db_hash and Atlas's toolchain hash",
    "toolchain_hash": "a digest of Atlas's build toolchain",
    "ingest_toolchain": "Atlas's Rust toolchain name",
    "ingest_build_hash": "Atlas's build hash",
    "software_version": "Atlas's version",
    "config_version": "a digest of Atlas's configuration files",
    "build_policy_version": "a digest of Atlas's policy file",
    "canonical_query_semantic_sha256": "Atlas's canonical query model",
    "canonical_lineage_sha256": "Atlas's canonical lineage model, over checksums",
    "evidence_bundle_sha256": "a digest of Atlas's evidence files (QC report and others), which the sample writes "
    "in its own, smaller form",
}


def _atlas_cli() -> Path:
    value = os.environ.get(ATLAS_CLI_VARIABLE)
    if not value:
        pytest.skip(f"{ATLAS_CLI_VARIABLE} is not set: point it at a bijux-atlas CLI binary to compare with Atlas")
    path = Path(value)
    if not os.access(path, os.X_OK):
        pytest.fail(f"{ATLAS_CLI_VARIABLE}={value}: not an executable file")
    return path


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> tuple[SampleRelease, SampleRelease]:
    """The same sample built by the sample builder and by Atlas's ingest."""
    cli = _atlas_cli()
    root = tmp_path_factory.mktemp("atlas-ground-truth")
    ours = build_sample(root / "ours", CONFIG)
    atlas = build_sample(root / "atlas", CONFIG, atlas_cli=cli)
    return ours, atlas


def test_atlas_built_sample_is_servable_by_this_suites_model(both: tuple[SampleRelease, SampleRelease]) -> None:
    _, atlas = both
    assert (atlas.root / ATLAS_OUTPUT_ROOT).is_dir()
    for dataset in atlas.datasets:
        data = manifest_path(atlas.store_root, dataset).read_bytes()
        manifest = load_manifest_strict(data)
        assert validate_strict(manifest) == []
        assert manifest.to_bytes() == data  # the model writes Atlas's manifest back byte for byte
        assert manifest.identity == manifest.recomputed_identity()
        assert manifest.artifact_hash == manifest.ingest_artifact_hash()
        assert check_artifact_shape(sqlite_path(atlas.store_root, dataset)) == []
        assert check_publish_sidecars(derived_dir(atlas.store_root, dataset), dataset) == []


def test_manifests_agree_with_atlas_field_by_field(both: tuple[SampleRelease, SampleRelease]) -> None:
    ours, atlas = both
    assert ours.datasets == atlas.datasets
    for dataset in ours.datasets:
        mine = json.loads(manifest_path(ours.store_root, dataset).read_bytes())
        theirs = json.loads(manifest_path(atlas.store_root, dataset).read_bytes())
        assert set(mine) == set(theirs), dataset
        differing = {name for name in theirs if mine[name] != theirs[name]}
        assert differing <= set(DEPARTURES), (dataset, differing - set(DEPARTURES))


_ROWS = {
    "gene_summary": "SELECT * FROM gene_summary ORDER BY id",
    "genes": "SELECT * FROM genes ORDER BY id",
    "transcript_summary": "SELECT id, transcript_id, parent_gene_id, transcript_type, biotype, seqid, start, end, "
    "exon_count, total_exon_span, cds_present FROM transcript_summary ORDER BY transcript_id",
    "transcripts": "SELECT id, transcript_id, parent_gene_id, transcript_type, biotype, seqid, start, end, exon_count, "
    "total_exon_span, cds_present, sequence_length, spliced_length, cds_length FROM transcripts ORDER BY transcript_id",
    "exons": "SELECT id, exon_id, transcript_id, seqid, start, end, exon_length FROM exons ORDER BY exon_id",
    "transcript_exon_map": "SELECT * FROM transcript_exon_map ORDER BY transcript_id, exon_id",
    "contigs": "SELECT * FROM contigs ORDER BY name",
    "dataset_stats": "SELECT * FROM dataset_stats ORDER BY dimension, value",
    "schema_version": "SELECT * FROM schema_version",
    "rtree": "SELECT * FROM gene_summary_rtree ORDER BY gene_rowid",
    "atlas_meta": "SELECT k, v FROM atlas_meta WHERE k NOT IN ('created_by', 'input_hashes', 'fasta_sha256') "
    "ORDER BY k",
}


def _rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    with open_read_only(path) as db:
        rows = {name: db.execute(sql).fetchall() for name, sql in _ROWS.items()}
    db.close()
    return rows


def test_artifacts_hold_atlas_rows(both: tuple[SampleRelease, SampleRelease]) -> None:
    """Every row of every table equal, row ids (numbered as ingest numbers them) and the rtree included."""
    ours, atlas = both
    for dataset in ours.datasets:
        mine = _rows(sqlite_path(ours.store_root, dataset))
        theirs = _rows(sqlite_path(atlas.store_root, dataset))
        for table in _ROWS:
            assert mine[table] == theirs[table], (dataset, table)


def test_inputs_ingest_rejects_fail_the_build(tmp_path: Path) -> None:
    """The check above is only as good as Atlas's strictness: an input ingest cannot read makes the build fail."""
    cli = _atlas_cli()
    release = build_sample(tmp_path / "s", SampleConfig(seed=5, genes=20, second_species=None))
    inputs = release.root / "build" / "inputs" / release.current.directory
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("genome.fa.gz", "genome.fa.gz.fai"):
        (broken / name).write_bytes((inputs / name).read_bytes())
    text = gzip.decompress((inputs / "genes.gff3.gz").read_bytes()).decode()
    (broken / "genes.gff3.gz").write_bytes(gzip.compress(text.replace("\tmRNA\t", "\tlnc_RNA\t").encode()))
    with pytest.raises(AtlasIngestError, match="GFF3_PARENT_NOT_TRANSCRIPT"):
        run_atlas_ingest(cli, broken, tmp_path / "atlas-out", release.current)


def _fake_cli(path: Path, script: str) -> Path:
    path.write_text("#!/bin/sh\n" + script + "\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _build(out: Path, cli: Path) -> int:
    return main(["sample", "build", str(out), "--genes", "20", "--second-species", "none", "--atlas-cli", str(cli)])


def test_a_failing_atlas_cli_is_reported_with_its_output_and_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli = _fake_cli(tmp_path / "bijux-atlas", 'echo "GFF3_PARENT_NOT_TRANSCRIPT line=25 feature_type=exon" >&2; exit 3')
    assert _build(tmp_path / "out", cli) == 1
    err = capsys.readouterr().err
    assert "Atlas's ingest failed for 110/homo_sapiens/GRCh38 (exit 3)" in err
    assert "GFF3_PARENT_NOT_TRANSCRIPT line=25" in err
    assert f"command: {cli} --json ingest --gff3 " in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bijux-atlas"]  # no half-built sample left behind


def test_a_missing_atlas_cli_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _build(tmp_path / "out", tmp_path / "nope" / "bijux-atlas") == 1
    err = capsys.readouterr().err
    assert f"--atlas-cli {tmp_path / 'nope' / 'bijux-atlas'}: cannot run it" in err
    assert "Traceback" not in err


def test_a_cli_that_writes_nothing_is_not_mistaken_for_atlas(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli = _fake_cli(tmp_path / "true-cli", "exit 0")
    assert _build(tmp_path / "out", cli) == 1
    assert "exited 0 but wrote no manifest.json, gene_summary.sqlite" in capsys.readouterr().err


def test_a_cli_that_writes_a_refused_manifest_is_caught(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A binary that writes files Atlas's server would refuse: the build fails naming the broken field."""
    script = (
        'while [ "$1" != "--output-root" ]; do shift; done; root="$2"; shift 2; '
        'r="$2"; s="$4"; a="$6"; d="$root/release=$r/species=$s/assembly=$a/derived"; mkdir -p "$d"; '
        'echo "{}" > "$d/manifest.json"; echo x > "$d/gene_summary.sqlite"'
    )
    cli = _fake_cli(tmp_path / "odd-cli", script)
    assert _build(tmp_path / "out", cli) == 1
    err = capsys.readouterr().err
    assert "a manifest its server would refuse" in err
    assert "manifest_version: required field" in err


def test_sample_load_round_trips_an_atlas_built_sample(both: tuple[SampleRelease, SampleRelease]) -> None:
    _, atlas = both
    loaded = load_sample(atlas.root)
    assert loaded.datasets == atlas.datasets
    with sqlite3.connect(f"file:{sqlite_path(atlas.store_root, atlas.current)}?mode=ro&immutable=1", uri=True) as db:
        assert db.execute("SELECT count(*) FROM gene_summary").fetchone()[0] == CONFIG.genes
    db.close()


ATLAS_WORKSPACE_VARIABLE = "ATLAS_DRILLS_ATLAS_WORKSPACE"


def test_catalog_and_publish_sidecars_are_the_bytes_atlas_writes(
    both: tuple[SampleRelease, SampleRelease], tmp_path: Path
) -> None:
    """Atlas's own `dataset publish` and `catalog promote` on Atlas-ingested datasets: the catalog and every publish
    sidecar this suite writes are byte-identical to Atlas's. `dataset publish` reads Atlas's policy files from its
    working directory, so this needs an Atlas checkout as well (read only)."""
    workspace = os.environ.get(ATLAS_WORKSPACE_VARIABLE)
    if not workspace:
        pytest.skip(f"{ATLAS_WORKSPACE_VARIABLE} is not set: Atlas's publish reads its policy from an Atlas checkout")
    cli = _atlas_cli()
    _, atlas = both
    store = tmp_path / "atlas-store"
    store.mkdir()
    for dataset in atlas.datasets:
        names = ["--release", dataset.release, "--species", dataset.species, "--assembly", dataset.assembly]
        for command in (
            ["dataset", "publish", "--source-root", str(atlas.root / ATLAS_OUTPUT_ROOT), "--store-root", str(store)],
            ["catalog", "promote", "--store-root", str(store)],
        ):
            finished = subprocess.run(
                [str(cli), "--json", *command, *names], cwd=workspace, capture_output=True, text=True, check=False
            )
            assert finished.returncode == 0, finished.stdout + finished.stderr
    assert (store / "catalog.json").read_bytes() == Catalog.of(list(atlas.datasets)).canonical_file_bytes()
    assert not (store / CATALOG_CHECKSUM_FILE).exists()  # promote writes none; the sample does (README departures)
    for dataset in atlas.datasets:
        theirs = derived_dir(store, dataset)
        assert check_publish_sidecars(theirs, dataset) == []
        transition_at = int(json.loads((theirs / "lifecycle.state.json").read_bytes())["transition_at"])
        mine = tmp_path / "mine" / dataset.directory
        mine.mkdir(parents=True)
        for name in ("manifest.json", "gene_summary.sqlite"):
            shutil.copyfile(theirs / name, mine / name)
        write_publish_sidecars(mine, dataset, transition_at)
        for name in PUBLISH_SIDECARS:
            assert (mine / name).read_bytes() == (theirs / name).read_bytes(), (dataset, name)
