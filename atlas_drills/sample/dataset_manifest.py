"""A dataset's `derived/manifest.json` and its build-root evidence, then the publish into the serving store.

The manifest is assembled through `store.manifest.ArtifactManifest` and must pass `validate_strict` before it is
written: a sample the server would refuse is a bug in the sample, caught at build time. Evidence files that Atlas's
ingest leaves in its output root (QC report, source facts, ...) are written where it writes them, with the build root
`OUT/build` as output root: `OUT/build/<dataset>/derived/`, named in the manifest relative to the dataset folder
(`derived/qc_report.json`), where the manifest's `evidence_bundle_sha256` can be checked against them; publish
copies none of them, as Atlas's does not.

Fields are the ones `bijux-atlas ingest` writes for the same inputs (checked field by field against Atlas's own
output: see the README's departures table for the few that cannot be, and why).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from atlas_drills import TOOL_NAME, __version__
from atlas_drills.sample.dataset_build import DatasetResult, GenomeResult
from atlas_drills.sample.genome import FAI_FILE, FASTA_FILE, GFF3_FILE
from atlas_drills.sample.ingest_digests import contig_naming_style, normalized_input_identity, reference_build_identity
from atlas_drills.store.canonical import canonical_bytes, canonical_sha256, sha256_hex
from atlas_drills.store.dataset_id import DatasetId
from atlas_drills.store.errors import StoreError
from atlas_drills.store.layout import MANIFEST_FILE, derived_dir
from atlas_drills.store.manifest import (
    ARTIFACT_VERSION,
    COORDINATE_SYSTEM,
    IDENTITY_SCHEMA_VERSION,
    MANIFEST_SCHEMA_VERSION,
    ArtifactManifest,
    Checksums,
    InputHashes,
    Stats,
    default_derived_column_origins,
    validate_strict,
)
from atlas_drills.store.sidecars import ArtifactDigests, write_publish_sidecars

BUILD_ROOT = "build"
EVIDENCE_DIR = "derived"
CANONICAL_MODEL_SCHEMA_VERSION = 1
# Ingest's constants (`ArtifactManifest::new`, `build_and_write_manifest_and_reports`).
SCHEMA_EVOLUTION_NOTE = "v1 schema: additive-only evolution; existing fields remain stable"
SCIENTIFIC_PREREQUISITES_COMPLETE = "complete"  # no ambiguity, unknown contig or missing field in the inputs
# What a gene query means (Atlas's canonical query semantics), fixed for the v4 model.
QUERY_SEMANTICS = {
    "coordinate_system": "1-based-closed",
    "gene_order": "gene_id:asc",
    "name_match": "name_normalized, prefix only",
    "region_overlap": "start <= region.end and end >= region.start",
}


def build_evidence_dir(root: Path, dataset: DatasetId) -> Path:
    return root / BUILD_ROOT / dataset.directory / EVIDENCE_DIR


def _evidence_path(name: str) -> str:
    """How the manifest names an evidence file: relative to the dataset's folder in ingest's output root."""
    return f"{EVIDENCE_DIR}/{name}"


def _evidence_files(result: DatasetResult, genome: GenomeResult) -> dict[str, bytes]:
    """The small build-root reports ingest writes beside an artifact: what a reviewer reads, not what serves."""
    dataset = result.dataset
    counts = result.counts
    stats = {"gene_count": counts.genes, "transcript_count": counts.transcripts, "contig_count": counts.contigs}
    files: dict[str, Any] = {
        "qc_report.json": {"schema_version": 1, "dataset": dataset.canonical, "status": "pass", "stats": stats},
        "source_facts.json": {
            "schema_version": 1,
            "dataset": dataset.canonical,
            "sources": {GFF3_FILE: result.gff3_sha256, FASTA_FILE: genome.fasta_sha256, FAI_FILE: genome.fai_sha256},
        },
        "build_metadata.json": {"schema_version": 1, "built_by": f"{TOOL_NAME}@{__version__}", "synthetic": True},
        "anomaly_summary.json": {"schema_version": 1, "anomalies": [], "count": 0},
        "dataset_stats.json": {"schema_version": 1, "dataset": dataset.canonical, "stats": stats},
        "artifact_inventory.json": {"schema_version": 1, "artifacts": ["gene_summary.sqlite", "manifest.json"]},
        "scientific_profile.json": {"schema_version": 1, "assembly": dataset.assembly, "prerequisites": "satisfied"},
        "canonical_summary.json": {"schema_version": 1, "feature_counts": _feature_counts(result)},
    }
    return {name: canonical_bytes(body) for name, body in files.items()}


def _feature_counts(result: DatasetResult) -> dict[str, int]:
    """Features of each GFF3 type ingest reads, as its canonical model counts them."""
    c = result.counts
    return {"cds": result.cds_count, "exon": c.exons, "gene": c.genes, "transcript": c.transcripts}


def write_build_evidence(root: Path, result: DatasetResult, genome: GenomeResult) -> str:
    """Write the build-root evidence and its bundle lock; return `evidence_bundle_sha256`."""
    directory = build_evidence_dir(root, result.dataset)
    directory.mkdir(parents=True, exist_ok=True)
    files = _evidence_files(result, genome)
    for name, data in files.items():
        (directory / name).write_bytes(data)
    bundle = {
        "schema_version": 1,
        "dataset": result.dataset.to_json(),
        "release_id": result.dataset.canonical,
        "files": {name: sha256_hex(data) for name, data in sorted(files.items())},
    }
    (directory / "evidence_bundle.lock.json").write_bytes(canonical_bytes(bundle))
    return canonical_sha256(bundle)


def dataset_manifest(
    result: DatasetResult,
    genome: GenomeResult,
    *,
    policy_sha256: str,
    toolchain_hash: str,
    evidence_bundle_sha256: str,
) -> ArtifactManifest:
    """The manifest Atlas's ingest would write for this artifact, with identity and artifact hash computed."""
    dataset = result.dataset
    # The files the sample ships (and its ops files link to). Ingest hashes the decompressed copies it makes of
    # them instead: a departure listed in the README, which `sample build --atlas-cli` does not have.
    checksums = Checksums(result.gff3_sha256, genome.fasta_sha256, genome.fai_sha256, result.sqlite_sha256)
    # Ingest counts the contigs that carry genes, not every contig of the FASTA.
    stats = Stats(result.counts.genes, result.counts.transcripts, len(result.genes_per_contig))
    reference = reference_build_identity(dataset, result.genes_per_contig)
    aliases: dict[str, str] = {}  # ingest's --seqid-aliases default: none
    draft = ArtifactManifest(
        dataset=dataset,
        artifact_version=ARTIFACT_VERSION,
        schema_version=MANIFEST_SCHEMA_VERSION,
        identity_schema_version=IDENTITY_SCHEMA_VERSION,
        manifest_version=MANIFEST_SCHEMA_VERSION,
        db_schema_version=MANIFEST_SCHEMA_VERSION,
        checksums=checksums,
        input_hashes=InputHashes(checksums.gff3_sha256, checksums.fasta_sha256, checksums.fai_sha256, policy_sha256),
        stats=stats,
        dataset_signature_sha256=result.signature,
        db_hash=result.sqlite_sha256,
        schema_evolution_note=SCHEMA_EVOLUTION_NOTE,
        ingest_toolchain=f"{TOOL_NAME}-sample",
        ingest_build_hash=toolchain_hash,
        toolchain_hash=toolchain_hash,
        created_at="",  # ingest's timestamp policy is deterministic-zero: no creation time in the manifest
        qc_report_path=_evidence_path("qc_report.json"),
        canonical_feature_summary_path=_evidence_path("canonical_summary.json"),
        source_gff3_filename=GFF3_FILE,
        source_fasta_filename=FASTA_FILE,
        source_fai_filename=FAI_FILE,
        source_facts_path=_evidence_path("source_facts.json"),
        normalized_input_identity_sha256=normalized_input_identity(
            gff3_sha256=checksums.gff3_sha256,
            fasta_sha256=checksums.fasta_sha256,
            fai_sha256=checksums.fai_sha256,
            filenames=(GFF3_FILE, FASTA_FILE, FAI_FILE),
            aliases=aliases,
        ),
        software_version=__version__,
        config_version="1",
        build_policy_version="1",
        build_metadata_path=_evidence_path("build_metadata.json"),
        anomaly_summary_path=_evidence_path("anomaly_summary.json"),
        dataset_stats_path=_evidence_path("dataset_stats.json"),
        artifact_inventory_path=_evidence_path("artifact_inventory.json"),
        evidence_bundle_path=_evidence_path("evidence_bundle.lock.json"),
        evidence_bundle_sha256=evidence_bundle_sha256,
        reference_build_identity_sha256=reference,
        contig_naming_style=contig_naming_style(sorted(result.genes_per_contig)),
        coordinate_system=COORDINATE_SYSTEM,
        scientific_prerequisites_status=SCIENTIFIC_PREREQUISITES_COMPLETE,
        scientific_profile_path=_evidence_path("scientific_profile.json"),
        sharding_plan="none",
        canonical_model_schema_version=CANONICAL_MODEL_SCHEMA_VERSION,
        canonical_query_semantic_sha256=canonical_sha256(QUERY_SEMANTICS),
        canonical_lineage_sha256=canonical_sha256(
            {"inputs": dataclasses.asdict(checksums) | {"sqlite_sha256": ""}, "toolchain_hash": toolchain_hash}
        ),
        canonical_feature_counts=_feature_counts(result),
        contig_normalization_aliases=aliases,
        derived_column_origins=default_derived_column_origins(),
    )
    with_identity = dataclasses.replace(draft, identity=draft.recomputed_identity())
    return dataclasses.replace(with_identity, artifact_hash=with_identity.ingest_artifact_hash())


def publish(store_root: Path, manifest: ArtifactManifest, published_at: int) -> ArtifactDigests:
    """Write `manifest.json` beside the artifact and the publish sidecars, as `dataset publish` does.

    Refuses (StoreError) a manifest that `validate_strict` rejects: the server would answer 503 for it.
    """
    where = f"{manifest.dataset.directory}/derived/{MANIFEST_FILE}"
    violations = validate_strict(manifest, where)
    if violations:
        raise StoreError(where, violations)
    data = manifest.to_bytes()
    derived = derived_dir(store_root, manifest.dataset)
    (derived / MANIFEST_FILE).write_bytes(data)
    digests = ArtifactDigests(sha256_hex(data), manifest.checksums.sqlite_sha256)
    return write_publish_sidecars(derived, manifest.dataset, published_at, digests)
