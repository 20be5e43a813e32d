"""Evidence: the recovered state is explained by release evidence, not guesswork.

Every restored file is listed in the backup manifest with its digest and belongs to Atlas's layout; the backup
manifest is bound to the expected release; the release evidence chain (identity, provenance, evidence manifest,
bundle, packet, signing ledger, dataset governance) holds; the digests the service reports trace to restored
bytes; and the backup is recent enough to prove today's recoverability (the recovery point objective).

The digest of a restored file is the one the restore hashed as it wrote it (`recorded_digests`): the backup's bytes
are read once per drill, and these checks read names and small JSON files, never the artifacts again.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from atlas_drills.client import AtlasClient
from atlas_drills.drill.life import RestoredAtlas
from atlas_drills.drill.reconstructable import reconstruct
from atlas_drills.drill.restored import STORE, read_json, recorded_digests, restored_catalog, restored_manifest
from atlas_drills.evidence import check_release_evidence
from atlas_drills.expectation import DATASETS_LOCK, IDENTITY, IDENTITY_FIELDS, Expectation
from atlas_drills.store.explained import explained_by_layout
from atlas_drills.store.layout import sqlite_relpath
from atlas_drills.store.not_a_store import not_a_serving_store
from fixtures.drills import drill_plan
from fixtures.evidence import DrillEvidence

pytestmark = pytest.mark.criterion("evidence")


def test_every_restored_file_is_explained(restored_atlas: RestoredAtlas, evidence: DrillEvidence) -> None:
    staging = restored_atlas.staging
    listed = restored_atlas.restore.manifest.by_path()
    recorded = recorded_digests(restored_atlas)
    # Names only: which files are there is a directory listing; what their bytes are is the restore's record.
    present = {p.relative_to(staging).as_posix(): p for p in sorted(staging.rglob("*")) if p.is_file()}
    recovery = restored_atlas.catalog
    if recovery is not None and recovery.rebuilt:
        # A rebuilt catalog is explained by the rebuild, not by the backup, and only when its epoch matched.
        evidence.record(
            "a rebuilt catalog is the expected release's",
            recovery.matched is True,
            expected=recovery.expected_epoch or recovery.expected_source,
            observed=recovery.epoch,
            where=f"{STORE}/catalog.json (rebuilt from sealed datasets)",
        )
        for name in ("catalog.json", "catalog.sha256"):
            present.pop(f"{STORE}/{name}", None)
            listed = {k: v for k, v in listed.items() if k != f"{STORE}/{name}"}
    evidence.equal(
        "no listed file missing",
        expected=[],
        observed=sorted(set(listed) - set(present)),
        where="backup-manifest.json files[]",
    )
    evidence.equal(
        "no unlisted file present", expected=[], observed=sorted(set(present) - set(listed)), where="restored tree"
    )
    mismatched = sorted(
        f"{rel} ({recorded.lookup(rel)[1] or 'restored with another digest'})"
        for rel in present
        if rel in listed and recorded.get(rel) != listed[rel].sha256
    )
    evidence.equal(
        "every file matches its listed digest",
        expected=[],
        observed=mismatched,
        where="restored tree (digests hashed by the restore) vs backup-manifest.json",
    )
    evidence.equal(
        "every file belongs to Atlas's layout",
        expected=[],
        observed=sorted(r for r in present if not explained_by_layout(r)),
        where="restored tree",
    )
    durable = sorted(f.path for f in restored_atlas.restore.manifest.durable_files())
    evidence.record(
        "the backup holds durable state",
        bool(durable),
        expected="durable files",
        observed=len(durable),
        where="backup-manifest.json",
    )
    evidence.assert_ok()


def test_the_backup_holds_the_serving_store(restored_atlas: RestoredAtlas, evidence: DrillEvidence) -> None:
    """What recovery is not: a cache root or a build root backed up in place of the serving store."""
    reason = not_a_serving_store(restored_atlas.staging / STORE)
    evidence.record(
        "the backup holds the serving store, not a cache or a build root",
        reason is None,
        expected="a serving store: published, sealed datasets and their catalog",
        observed=reason or "a serving store",
        where=f"{STORE}/",
        message=f"the backup {reason}" if reason else "",
    )
    evidence.assert_ok()


def test_reconstructable_outputs_regenerate_from_the_surviving_evidence(
    restored_atlas: RestoredAtlas, evidence: DrillEvidence
) -> None:
    """Generated summaries are regenerated from the durable evidence that survived and compared with the restored
    copies: a stale copy fails; a missing one is regenerated (no loss)."""
    listed = restored_atlas.restore.manifest.by_path()
    for output in reconstruct(restored_atlas.staging):
        backed_up = listed.get(output.path)
        where = f"{output.path} (backup class {backed_up.file_class if backed_up else 'not backed up'})"
        if output.regenerated is None:
            evidence.record(
                f"{output.path} regenerates", False, expected=list(output.sources), observed=output.problem, where=where
            )
            continue
        if output.restored is None and output.problem is None:
            evidence.record(
                f"{output.path} absent: regenerated from {', '.join(output.sources)}",
                True,
                expected="reconstructable",
                observed=output.regenerated,
                where=where,
            )
            continue
        evidence.record(
            f"{output.path} regenerated from {', '.join(output.sources)} equals the restored copy",
            output.matches,
            expected=output.regenerated,
            observed=output.restored if output.problem is None else output.problem,
            where=where,
            message="" if output.matches else f"fields that differ: {', '.join(output.differing) or 'the whole file'}",
        )
    evidence.assert_ok()


def test_the_backup_is_bound_to_the_expected_release(
    restored_atlas: RestoredAtlas, expectation: Expectation, evidence: DrillEvidence
) -> None:
    release = restored_atlas.restore.manifest.release
    identity, problem = read_json(restored_atlas.staging, IDENTITY)
    for field in IDENTITY_FIELDS:
        evidence.equal(
            f"backup manifest {field}",
            expected=expectation.identity[field],
            observed=getattr(release, field),
            where=f"backup-manifest.json: release.{field}",
        )
        evidence.equal(
            f"restored identity {field} is the one the backup recorded",
            expected=getattr(release, field),
            observed=identity.get(field) if isinstance(identity, dict) else problem,
            where=f"{IDENTITY}: {field}",
        )
    evidence.assert_ok()


def test_the_release_evidence_chain_holds(restored_atlas: RestoredAtlas, evidence: DrillEvidence) -> None:
    for finding in check_release_evidence(restored_atlas.staging, recorded_digests(restored_atlas)):
        evidence.record(
            finding.check,
            finding.ok,
            expected=finding.expected,
            observed=finding.observed,
            where=finding.where,
            message=finding.message,
        )
    evidence.assert_ok()


def test_served_digests_trace_to_restored_bytes(
    restored_atlas: RestoredAtlas, atlas: AtlasClient, evidence: DrillEvidence
) -> None:
    staging = restored_atlas.staging
    listed = restored_atlas.restore.manifest.by_path()
    recorded = recorded_digests(restored_atlas)
    lock, _ = read_json(staging, DATASETS_LOCK)
    inputs = {e.get("id"): e.get("checksums", {}) for e in (lock.get("entries", []) if isinstance(lock, dict) else [])}
    catalog, problem = restored_catalog(staging)
    for dataset in catalog.dataset_ids() if catalog else []:
        where = f"GET /v1/datasets/{dataset.canonical}?include_bom=1"
        answer = atlas.dataset(dataset, include_bom="1")
        item = answer.json().get("data", {}).get("item", {}) if answer.status == 200 else {}
        restored_sqlite = f"{STORE}/{sqlite_relpath(dataset)}"
        digest, problem = recorded.lookup(restored_sqlite)
        actual = digest or problem
        backed_up = listed.get(restored_sqlite)
        evidence.equal(
            f"{dataset.canonical} served SQLite digest is the restored file's and the backup's",
            expected={"served": actual, "artifact_db_hash": actual, "backup manifest": actual},
            observed={
                "served": item.get("checksums", {}).get("sqlite_sha256"),
                "artifact_db_hash": item.get("artifact_db_hash"),
                "backup manifest": backed_up.sha256 if backed_up else None,
            },
            where=where,
        )
        manifest, _ = restored_manifest(staging, dataset)
        qc = item.get("metadata", {}).get("qc_summary", {})
        evidence.equal(
            f"{dataset.canonical} QC summary is the restored manifest's stats",
            expected={
                "gene_count": manifest.stats.gene_count,
                "transcript_count": manifest.stats.transcript_count,
                "contig_count": manifest.stats.contig_count,
            }
            if manifest
            else "a manifest",
            observed=qc,
            where=f"{where}: metadata.qc_summary",
        )
        checks = inputs.get(dataset.canonical, {})
        bom = item.get("bill_of_materials", {}).get("checksums", {})
        evidence.equal(
            f"{dataset.canonical} input digests trace to the release's dataset lock",
            expected={"gff3": checks.get("gff3"), "fasta": checks.get("fasta"), "fai": checks.get("fai")},
            observed={"gff3": bom.get("gff3_sha256"), "fasta": bom.get("fasta_sha256"), "fai": bom.get("fai_sha256")},
            where=f"{where}: bill_of_materials vs {DATASETS_LOCK}",
        )
    if catalog is None:
        evidence.record("restored catalog readable", False, expected="catalog.json", observed=problem, where="store")
    evidence.assert_ok()


def test_the_backup_is_recent_enough(
    restored_atlas: RestoredAtlas, evidence: DrillEvidence, pytestconfig: pytest.Config
) -> None:
    created = restored_atlas.restore.manifest.created_at
    limit_h = drill_plan(pytestconfig).max_backup_age_hours
    try:
        age_h = (datetime.now(UTC) - datetime.fromisoformat(created.replace("Z", "+00:00"))).total_seconds() / 3600
    except ValueError:
        evidence.record(
            "backup creation time readable",
            False,
            expected="RFC 3339 UTC",
            observed=created,
            where="backup-manifest.json: created_at",
        )
        evidence.assert_ok()
        return
    evidence.record(
        "backup within the recovery point objective",
        0 <= age_h <= limit_h,
        expected=f"0 to {limit_h} h old",
        observed=round(age_h, 2),
        where="backup-manifest.json: created_at",
        message=f"created {created}",
    )
    evidence.assert_ok()
