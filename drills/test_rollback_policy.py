"""Rollback policy: the dataset surface is discoverable and governed by the expected rollback policy.

Discoverable: the restored catalog, the store's dataset folders and `/v1/datasets` agree. Governed: the restored
policy is the expected one byte for byte and schema-valid, everything it `requires` holds, every dataset's
`manifest.lock` and immutability marker match its bytes, enough earlier releases are kept to roll back as far as
`max_rollback_depth` allows. The rollback itself, performed, is in `test_rollback_policy_performed.py`.
"""

from __future__ import annotations

from typing import Any

import pytest

from atlas_drills.client import AtlasClient
from atlas_drills.drill.life import RestoredAtlas
from atlas_drills.drill.restored import (
    STORE,
    read_json,
    recorded_digests,
    restored_catalog,
    restored_manifest,
    schema_problems,
    sidecar_problems,
    store_dataset_dirs,
)
from atlas_drills.drill.served import LIST_LIMIT, dataset_key, listed_items
from atlas_drills.expectation import (
    DATASET_INDEX,
    DATASETS_LOCK,
    DATASETS_MANIFEST,
    PROMOTION_RULES,
    ROLLBACK_POLICY,
    Expectation,
)
from atlas_drills.store.canonical import sha256_file
from atlas_drills.store.dataset_id import DatasetId
from atlas_drills.store.history import release_history
from atlas_drills.store.layout import manifest_relpath, sqlite_relpath
from fixtures.evidence import DrillEvidence

pytestmark = pytest.mark.criterion("rollback policy")

CATALOG = "store/catalog.json"

POLICY_STEPS = [
    "select_previous_dataset_id",
    "validate_manifest_lock_integrity",
    "publish_previous_pointer_without_mutating_old_artifacts",
]
REQUIRES_PATHS = {"manifest.lock": DATASETS_LOCK, "promotion-rules": PROMOTION_RULES, "dataset-index": DATASET_INDEX}


def _ids(items: Any) -> list[str]:
    if not isinstance(items, list):
        return []
    return sorted(str(item.get("id")) for item in items if isinstance(item, dict))


def test_the_restored_policy_is_the_expected_one(
    restored_atlas: RestoredAtlas, expectation: Expectation, evidence: DrillEvidence
) -> None:
    restored, unrecorded = recorded_digests(restored_atlas).lookup(ROLLBACK_POLICY)
    evidence.equal(
        "policy byte-identical to the expected release's",
        expected=sha256_file(expectation.root / ROLLBACK_POLICY),  # the expectation's file: not part of the backup
        observed=restored or unrecorded,
        where=ROLLBACK_POLICY,
    )
    policy, problem = read_json(restored_atlas.staging, ROLLBACK_POLICY)
    if policy is None:
        evidence.record("policy readable", False, expected="valid JSON", observed=problem, where=ROLLBACK_POLICY)
    else:
        evidence.equal(
            "schema-valid", expected=[], observed=schema_problems(policy, "rollback-policy"), where=ROLLBACK_POLICY
        )
        evidence.equal(
            "strategy", expected="manifest-lock-pointer", observed=policy.get("strategy"), where=ROLLBACK_POLICY
        )
        evidence.equal(
            "steps in order", expected=POLICY_STEPS, observed=policy.get("rollback_steps"), where=ROLLBACK_POLICY
        )
    evidence.assert_ok()


def test_everything_the_policy_requires_holds(restored_atlas: RestoredAtlas, evidence: DrillEvidence) -> None:
    staging = restored_atlas.staging
    policy, _ = read_json(staging, ROLLBACK_POLICY)
    requires = policy.get("requires", []) if isinstance(policy, dict) else []
    evidence.equal(
        "every requirement is one the drill knows how to check",
        expected=[],
        observed=sorted(set(requires) - set(REQUIRES_PATHS)),
        where=f"{ROLLBACK_POLICY}: requires",
    )
    datasets, problem = read_json(staging, DATASETS_MANIFEST)
    inventory = _ids(datasets.get("datasets")) if isinstance(datasets, dict) else []
    evidence.record(
        "dataset inventory readable", datasets is not None, expected="JSON", observed=problem, where=DATASETS_MANIFEST
    )
    lock, problem = read_json(staging, DATASETS_LOCK)
    if "manifest.lock" in requires:
        evidence.equal(
            "manifest.lock schema-valid",
            expected=[],
            observed=schema_problems(lock, "datasets-manifest-lock") if lock is not None else [problem],
            where=DATASETS_LOCK,
        )
        entries = lock.get("entries", lock) if isinstance(lock, dict) else lock
        evidence.equal(
            "manifest.lock covers the inventory", expected=inventory, observed=_ids(entries), where=DATASETS_LOCK
        )
        _lock_matches_served_inputs(restored_atlas, entries, evidence)
    _catalog_is_the_governed_inventory(restored_atlas, inventory, lock, evidence)
    if "promotion-rules" in requires:
        rules, problem = read_json(staging, PROMOTION_RULES)
        evidence.equal(
            "promotion rules point at the manifest lock",
            expected=DATASETS_LOCK,
            observed=rules.get("manifest_lock") if isinstance(rules, dict) else problem,
            where=f"{PROMOTION_RULES}: manifest_lock",
        )
    if "dataset-index" in requires:
        index, problem = read_json(staging, DATASET_INDEX)
        index = index if isinstance(index, dict) else {}
        evidence.equal(
            "dataset index ids",
            expected=inventory,
            observed=sorted(index.get("dataset_ids", [])) or problem,
            where=f"{DATASET_INDEX}: dataset_ids",
        )
        evidence.equal(
            "dataset index has nothing missing or stale",
            expected=[[], []],
            observed=[index.get("missing_dataset_ids", []), index.get("stale_dataset_ids", [])],
            where=f"{DATASET_INDEX}: missing_dataset_ids, stale_dataset_ids",
        )
    evidence.assert_ok()


def _catalog_is_the_governed_inventory(
    restored_atlas: RestoredAtlas, inventory: list[str], lock: Any, evidence: DrillEvidence
) -> None:
    """What the restored catalog serves is exactly what governance (the dataset inventory and its lock) lets a
    rollback select: a dataset served but not governed, or governed but not served, breaks the pointer a rollback
    moves, whatever the identity checks say."""
    catalog, problem = restored_catalog(restored_atlas.staging)
    served = sorted(d.canonical for d in catalog.dataset_ids()) if catalog else [str(problem)]
    entries = lock.get("entries", lock) if isinstance(lock, dict) else lock
    for label, governed, where in (
        ("dataset inventory", inventory, DATASETS_MANIFEST),
        ("manifest.lock", _ids(entries), DATASETS_LOCK),
    ):
        evidence.equal(
            f"served catalog is the governed {label}",
            expected=governed,
            observed=served,
            where=f"{CATALOG} vs {where}",
            message=f"served but not governed: {sorted(set(served) - set(governed))}; "
            f"governed but not served: {sorted(set(governed) - set(served))}",
        )


def _lock_matches_served_inputs(restored_atlas: RestoredAtlas, entries: Any, evidence: DrillEvidence) -> None:
    """The lock's input checksums are what each restored manifest says it was built from."""
    for entry in entries if isinstance(entries, list) else []:
        try:
            dataset = DatasetId.parse(str(entry.get("id")))
        except ValueError:
            evidence.record(
                "lock entry names a dataset", False, expected="R/S/A", observed=entry.get("id"), where=DATASETS_LOCK
            )
            continue
        manifest, problem = restored_manifest(restored_atlas.staging, dataset)
        checks = entry.get("checksums", {})
        evidence.equal(
            f"{dataset.canonical} input checksums",
            expected={k: checks.get(k) for k in ("gff3", "fasta", "fai")},
            observed={
                "gff3": manifest.checksums.gff3_sha256,
                "fasta": manifest.checksums.fasta_sha256,
                "fai": manifest.checksums.fai_sha256,
            }
            if manifest
            else problem,
            where=f"{DATASETS_LOCK} vs {manifest_relpath(dataset)}",
        )


def test_the_dataset_surface_is_discoverable(
    restored_atlas: RestoredAtlas, atlas: AtlasClient, evidence: DrillEvidence
) -> None:
    staging = restored_atlas.staging
    catalog, problem = restored_catalog(staging)
    catalog = evidence.require(
        "restored catalog readable", catalog, problem=problem, expected="a valid catalog.json", where=CATALOG
    )
    listed = [d.canonical for d in catalog.dataset_ids()]
    evidence.equal(
        "catalog sorted and unique", expected=[], observed=[str(v) for v in catalog.validate_sorted()], where=CATALOG
    )
    evidence.equal(
        "catalog lists every dataset of the store",
        expected=sorted(d.canonical for d in store_dataset_dirs(staging)),
        observed=sorted(listed),
        where=f"store/ vs {CATALOG}",
    )
    answer = atlas.get("/v1/datasets", {"limit": LIST_LIMIT})
    data = answer.json().get("data", {}) if answer.status == 200 else {}
    evidence.equal(
        "service lists the catalog, in order",
        expected=[e.to_json() for e in catalog.datasets],
        observed=data.get("items", []),
        where="GET /v1/datasets: data.items",
    )
    evidence.equal(
        "stats.returned",
        expected=len(listed),
        observed=data.get("stats", {}).get("returned"),
        where="GET /v1/datasets: data.stats.returned",
    )
    boms = {dataset_key(i): i.get("bill_of_materials") or {} for i in listed_items(atlas, include_bom="1")}
    for dataset in catalog.dataset_ids():
        manifest, problem = restored_manifest(staging, dataset)
        evidence.equal(
            f"{dataset.canonical} bill of materials checksums",
            expected=manifest.to_json()["checksums"] if manifest else problem,
            observed=boms.get(dataset.canonical, {}).get("checksums"),
            where="GET /v1/datasets?include_bom=1",
        )
    evidence.assert_ok()


def test_every_manifest_lock_and_marker_matches_the_artifact_bytes(
    restored_atlas: RestoredAtlas, evidence: DrillEvidence
) -> None:
    staging = restored_atlas.staging
    recorded = recorded_digests(restored_atlas)  # the artifact bytes as the restore hashed them: not read again
    for dataset in store_dataset_dirs(staging):
        evidence.equal(
            "publish sidecars match the artifact bytes",
            expected=[],
            observed=sidecar_problems(staging, dataset, recorded),
            where=f"store/{dataset.directory}/derived",
        )
    evidence.assert_ok()


def test_enough_earlier_releases_are_kept(
    restored_atlas: RestoredAtlas, expectation: Expectation, evidence: DrillEvidence
) -> None:
    policy, problem = read_json(restored_atlas.staging, ROLLBACK_POLICY)
    depth = policy.get("max_rollback_depth") if isinstance(policy, dict) else None
    if not isinstance(depth, int):
        evidence.record(
            "max_rollback_depth readable",
            False,
            expected="an integer",
            observed=depth or problem,
            where=ROLLBACK_POLICY,
        )
        evidence.assert_ok()
        return
    kept = set(store_dataset_dirs(restored_atlas.staging))
    for (species, assembly), releases in sorted(release_history(list(expectation.dataset_ids)).items()):
        # Rolling back `depth` steps needs the `depth` releases before the newest, as far as the release had them.
        needed = [d.canonical for d in releases[1 : depth + 1]]
        evidence.equal(
            f"earlier releases of {species}/{assembly} kept for rollback depth {depth}",
            expected=needed,
            observed=[
                d
                for d in needed
                if DatasetId.parse(d) in kept
                and (restored_atlas.staging / STORE / manifest_relpath(DatasetId.parse(d))).exists()
                and (restored_atlas.staging / STORE / sqlite_relpath(DatasetId.parse(d))).exists()
            ],
            where=f"store/release=*/species={species}/assembly={assembly}",
        )
    evidence.assert_ok()


def test_the_catalog_is_restored_or_rebuilt_to_the_expected_epoch(
    restored_atlas: RestoredAtlas, evidence: DrillEvidence
) -> None:
    """Catalog integrity (README "Catalog reconstruction"): the catalog served is the backup's, sound, or one
    rebuilt from sealed datasets only; either way its epoch is the expected release's, or the datasets that differ
    are named."""
    recovery = restored_atlas.catalog
    if recovery is None:
        evidence.record("catalog recovered", False, expected="restored or rebuilt", observed="not run", where=CATALOG)
        evidence.assert_ok()
        return
    where = f"{CATALOG} ({recovery.action}, mode {recovery.mode})"
    for check in recovery.checks:
        evidence.record(check.name, check.ok, expected=check.expected, observed=check.observed, where=where)
    evidence.assert_ok()
