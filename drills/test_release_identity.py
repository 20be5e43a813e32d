"""Release identity: the restored service exposes the expected release.

The restored identity and provenance name the expected release; the running service, started from the *restored*
runtime configuration, reports that release (so a stale config in the backup fails here); every served dataset's
identity hash recomputes from its restored manifest; and the dataset set is the expected one.
"""

from __future__ import annotations

import re

import pytest

from atlas_drills.client import AtlasClient
from atlas_drills.drill.life import RestoredAtlas
from atlas_drills.drill.restored import read_json, restored_catalog, restored_manifest, schema_problems
from atlas_drills.drill.target_log import STARTUP_EVENTS, announced_releases
from atlas_drills.expectation import (
    DATASET_INDEX,
    DATASETS_LOCK,
    DATASETS_MANIFEST,
    IDENTITY,
    IDENTITY_FIELDS,
    PROVENANCE,
    Expectation,
)
from fixtures.evidence import DrillEvidence

pytestmark = pytest.mark.criterion("release identity")


def test_restored_identity_and_provenance_name_the_expected_release(
    restored_atlas: RestoredAtlas, expectation: Expectation, evidence: DrillEvidence
) -> None:
    for relpath, schema in ((IDENTITY, "identity"), (PROVENANCE, "provenance")):
        document, problem = read_json(restored_atlas.staging, relpath)
        if problem is not None:
            evidence.record("restored file readable", False, expected="valid JSON", observed=problem, where=relpath)
            continue
        evidence.equal("schema-valid", expected=[], observed=schema_problems(document, schema), where=relpath)
        for field in IDENTITY_FIELDS:
            evidence.equal(
                f"{field} is the expected release's",
                expected=expectation.identity[field],
                observed=document.get(field) if isinstance(document, dict) else None,
                where=f"{relpath}: {field}",
            )
    evidence.assert_ok()


def test_service_reports_the_expected_release(
    restored_atlas: RestoredAtlas, atlas: AtlasClient, expectation: Expectation, evidence: DrillEvidence
) -> None:
    answer = atlas.get("/debug/build-metadata")
    build = answer.json() if answer.status == 200 else {}
    evidence.equal("build metadata served", expected=200, observed=answer.status, where="GET /debug/build-metadata")
    for field in ("release_id", "governance_version"):
        evidence.equal(
            f"served {field}",
            expected=expectation.identity[field],
            observed=build.get(field),
            where=f"GET /debug/build-metadata: {field}",
            message="set from the restored runtime configuration (ATLAS_RELEASE_ID / ATLAS_GOVERNANCE_VERSION)",
        )
    # The same release must be what the process announced at start-up: each start-up event Atlas logs names it.
    evidence.equal(
        "release announced at start-up",
        expected={event: [expectation.release_id] for event in STARTUP_EVENTS},
        observed=announced_releases(restored_atlas.sandbox.logs()),
        where="target log: events " + ", ".join(STARTUP_EVENTS) + ": release_id",
    )
    evidence.assert_ok()


def test_version_reports_atlas_artifact_schema_versions(atlas: AtlasClient, evidence: DrillEvidence) -> None:
    answer = atlas.get("/v1/version")
    version = answer.json() if answer.status == 200 else {}
    server = version.get("server", {})
    plugin = version.get("plugin", {})
    evidence.equal("version served", expected=200, observed=answer.status, where="GET /v1/version")
    evidence.equal(
        "api and contract version",
        expected=["v1", "v1"],
        observed=[version.get("api_version"), version.get("contract_version")],
        where="GET /v1/version: api_version, contract_version",
    )
    evidence.equal(
        "artifact schema versions",
        expected={"manifest_schema_version": "1", "sqlite_schema_version": "4"},
        observed=server.get("artifact_schema_versions"),
        where="GET /v1/version: server.artifact_schema_versions",
    )
    evidence.equal(
        "config schema version",
        expected="1",
        observed=server.get("config_schema_version"),
        where="GET /v1/version: server.config_schema_version",
    )
    metrics = atlas.get("/metrics")
    labels = sorted(set(re.findall(r'version="([^"]*)"', metrics.text)))
    evidence.equal(
        "metrics carry the runtime version",
        expected=[plugin.get("version")],
        observed=labels,
        where="GET /metrics: version label",
    )
    openapi = atlas.get("/v1/openapi.json")
    build_id = openapi.json().get("info", {}).get("x-build-id") if openapi.status == 200 else None
    evidence.equal(
        "OpenAPI build id is the build hash",
        expected=plugin.get("build_hash"),
        observed=build_id,
        where="GET /v1/openapi.json: info.x-build-id",
    )
    evidence.assert_ok()


def test_every_served_identity_recomputes_from_its_restored_manifest(
    restored_atlas: RestoredAtlas, atlas: AtlasClient, evidence: DrillEvidence
) -> None:
    catalog, problem = restored_catalog(restored_atlas.staging)
    catalog = evidence.require(
        "restored catalog readable", catalog, problem=problem, expected="catalog.json", where="store"
    )
    for dataset in catalog.dataset_ids():
        where = f"GET /v1/datasets/{dataset.canonical}"
        manifest, problem = restored_manifest(restored_atlas.staging, dataset)
        if manifest is None:
            evidence.record("restored manifest readable", False, expected="a manifest", observed=problem, where=where)
            continue
        recomputed = manifest.recomputed_identity().canonical_metadata_sha256
        answer = atlas.dataset(dataset)
        evidence.equal("dataset served", expected=200, observed=answer.status, where=where)
        evidence.equal(
            "x-dataset-identity-sha256 recomputes from the restored manifest",
            expected=recomputed,
            observed=answer.headers.get("x-dataset-identity-sha256"),
            where=where,
        )
        summary = answer.json().get("data", {}).get("item", {}).get("metadata", {}).get("manifest_summary", {})
        evidence.equal(
            "manifest summary names the dataset",
            expected=[dataset.canonical, recomputed],
            observed=[summary.get("identity_release_id"), summary.get("identity_sha256")],
            where=f"{where}: metadata.manifest_summary",
        )
    evidence.assert_ok()


def test_the_dataset_set_is_the_expected_one(
    restored_atlas: RestoredAtlas, atlas: AtlasClient, expectation: Expectation, evidence: DrillEvidence
) -> None:
    expected = sorted(d.canonical for d in expectation.dataset_ids)
    catalog, problem = restored_catalog(restored_atlas.staging)
    evidence.equal(
        "restored catalog lists the expected datasets",
        expected=expected,
        observed=sorted(d.canonical for d in catalog.dataset_ids()) if catalog else problem,
        where="store/catalog.json",
    )
    answer = atlas.get("/v1/datasets", {"limit": "500"})
    items = answer.json().get("data", {}).get("items", []) if answer.status == 200 else []
    served = sorted("/".join(item["dataset"][k] for k in ("release", "species", "assembly")) for item in items)
    evidence.equal("service lists the expected datasets", expected=expected, observed=served, where="GET /v1/datasets")
    evidence.assert_ok()


def test_the_restored_dataset_inventory_and_lock_are_the_expected_releases(
    restored_atlas: RestoredAtlas, expectation: Expectation, evidence: DrillEvidence
) -> None:
    """The identity fields alone do not bind a backup to its release: a pruned copy, or another build of the same
    release id, carries the same identity.json. The governed dataset inventory, its lock (every dataset's input
    checksums) and the generated dataset index must be the expected release's as well."""
    for relpath in (DATASETS_MANIFEST, DATASETS_LOCK, DATASET_INDEX):
        restored, problem = read_json(restored_atlas.staging, relpath)
        wanted, wanted_problem = read_json(expectation.root, relpath)
        if wanted is None:
            if (expectation.root / relpath).exists():  # a release without the file binds nothing by it
                evidence.record(
                    "expected file readable", False, expected="valid JSON", observed=wanted_problem, where=relpath
                )
            continue
        evidence.equal(
            "governed inventory, lock and index are the expected release's",
            expected=wanted,
            observed=restored if restored is not None else problem,
            where=relpath,
        )
    evidence.assert_ok()
