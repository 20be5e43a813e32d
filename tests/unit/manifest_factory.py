"""A manifest that passes `validate_strict`, built by hand from the contract, for rule-by-rule breakage tests."""

from __future__ import annotations

import dataclasses

from atlas_drills.store.canonical import sha256_hex
from atlas_drills.store.dataset_id import DatasetId
from atlas_drills.store.manifest import ArtifactManifest, Checksums, InputHashes, Stats


def digest(label: str) -> str:
    return sha256_hex(label.encode())


def valid_manifest(canonical: str = "110/homo_sapiens/GRCh38") -> ArtifactManifest:
    dataset = DatasetId.parse(canonical)
    checksums = Checksums(digest("gff3"), digest("fasta"), digest("fai"), digest("sqlite"))
    draft = ArtifactManifest(
        dataset=dataset,
        artifact_version="v1",
        schema_version="1",
        identity_schema_version="1",
        manifest_version="1",
        db_schema_version="1",
        checksums=checksums,
        input_hashes=InputHashes(digest("gff3"), digest("fasta"), digest("fai"), digest("policy")),
        stats=Stats(gene_count=3, transcript_count=5, contig_count=1),
        dataset_signature_sha256=digest("signature"),
        db_hash=checksums.sqlite_sha256,
        artifact_hash="",
        toolchain_hash=digest("toolchain"),
        source_facts_path="source_facts.json",
        normalized_input_identity_sha256=digest("normalized"),
        software_version="0.2.1",
        config_version="1",
        build_policy_version="1",
        build_metadata_path="build_metadata.json",
        anomaly_summary_path="anomaly_summary.json",
        dataset_stats_path="dataset_stats.json",
        artifact_inventory_path="artifact_inventory.json",
        evidence_bundle_path="evidence_bundle.lock.json",
        evidence_bundle_sha256=digest("bundle"),
        derived_column_origins={"gene_summary.name_normalized": "lower(name)"},
    )
    with_identity = dataclasses.replace(draft, identity=draft.recomputed_identity())
    return dataclasses.replace(with_identity, artifact_hash=with_identity.ingest_artifact_hash())
