"""Rollback policy: the dataset surface is discoverable and governed by the expected rollback policy.

Discoverable: the restored catalog, the store's dataset folders and `/v1/datasets` agree. Governed: the restored
policy is the expected one byte for byte and schema-valid, everything it `requires` holds, every dataset's
`manifest.lock` and immutability marker match its bytes, enough earlier releases are kept to roll back as far as
`max_rollback_depth` allows, and a rollback performed in a sandbox of its own follows the policy's steps without
mutating any old artifact, and can be undone.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

import pytest

from atlas_drills.client import AtlasClient
from atlas_drills.expectation import (
    DATASET_INDEX,
    DATASETS_LOCK,
    DATASETS_MANIFEST,
    PROMOTION_RULES,
    ROLLBACK_POLICY,
    Expectation,
)
from atlas_drills.store.canonical import sha256_file
from atlas_drills.store.catalog import Catalog
from atlas_drills.store.dataset_id import DatasetId
from atlas_drills.store.layout import CATALOG_CHECKSUM_FILE, CATALOG_FILE, derived_dir, manifest_relpath, sqlite_relpath
from atlas_drills.store.sidecars import check_publish_sidecars
from drills.restored import STORE, read_json, restored_catalog, restored_manifest, schema_problems, store_dataset_dirs
from fixtures.evidence import DrillEvidence
from fixtures.restore import RestoredAtlas

pytestmark = pytest.mark.criterion("rollback policy")

POLICY_STEPS = [
    "select_previous_dataset_id",
    "validate_manifest_lock_integrity",
    "publish_previous_pointer_without_mutating_old_artifacts",
]
REQUIRES_PATHS = {"manifest.lock": DATASETS_LOCK, "promotion-rules": PROMOTION_RULES, "dataset-index": DATASET_INDEX}
SETTLE_TIMEOUT_S = 15.0


def _ids(items: Any) -> list[str]:
    if not isinstance(items, list):
        return []
    return sorted(str(item.get("id")) for item in items if isinstance(item, dict))


def test_the_restored_policy_is_the_expected_one(
    restored_atlas: RestoredAtlas, expectation: Expectation, evidence: DrillEvidence
) -> None:
    path = restored_atlas.staging / ROLLBACK_POLICY
    restored = path.read_bytes() if path.exists() else None
    evidence.equal(
        "policy byte-identical to the expected release's",
        expected=sha256_file(expectation.root / ROLLBACK_POLICY),
        observed=sha256_file(path) if restored is not None else "missing",
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
    if catalog is None:
        evidence.record(
            "restored catalog readable",
            False,
            expected="a valid catalog.json",
            observed=problem,
            where="store/catalog.json",
        )
        evidence.assert_ok()
        return
    listed = [d.canonical for d in catalog.dataset_ids()]
    evidence.equal(
        "catalog sorted and unique",
        expected=[],
        observed=[str(v) for v in catalog.validate_sorted()],
        where="store/catalog.json",
    )
    evidence.equal(
        "catalog lists every dataset of the store",
        expected=sorted(d.canonical for d in store_dataset_dirs(staging)),
        observed=sorted(listed),
        where="store/ vs store/catalog.json",
    )
    answer = atlas.get("/v1/datasets", {"limit": "500"})
    body = answer.json() if answer.status == 200 else {}
    items = body.get("data", {}).get("items", [])
    evidence.equal(
        "service lists the catalog, in order",
        expected=[e.to_json() for e in catalog.datasets],
        observed=items,
        where="GET /v1/datasets: data.items",
    )
    evidence.equal(
        "stats.returned",
        expected=len(listed),
        observed=body.get("data", {}).get("stats", {}).get("returned"),
        where="GET /v1/datasets: data.stats.returned",
    )
    bom_answer = atlas.get("/v1/datasets", {"limit": "500", "include_bom": "1"})
    boms = (
        {
            "/".join(i["dataset"][k] for k in ("release", "species", "assembly")): i.get("bill_of_materials")
            for i in bom_answer.json().get("data", {}).get("items", [])
        }
        if bom_answer.status == 200
        else {}
    )
    for dataset in catalog.dataset_ids():
        manifest, problem = restored_manifest(staging, dataset)
        bom = boms.get(dataset.canonical) or {}
        evidence.equal(
            f"{dataset.canonical} bill of materials checksums",
            expected=manifest.to_json()["checksums"] if manifest else problem,
            observed=bom.get("checksums"),
            where="GET /v1/datasets?include_bom=1",
        )
    evidence.assert_ok()


def test_every_manifest_lock_and_marker_matches_the_artifact_bytes(
    restored_atlas: RestoredAtlas, evidence: DrillEvidence
) -> None:
    staging = restored_atlas.staging
    for dataset in store_dataset_dirs(staging):
        violations = check_publish_sidecars(derived_dir(staging / STORE, dataset), dataset)
        evidence.equal(
            "publish sidecars match the artifact bytes",
            expected=[],
            observed=[str(v) for v in violations],
            where=f"store/{dataset.directory}/derived",
        )
    evidence.assert_ok()


def _history(datasets: list[DatasetId]) -> dict[tuple[str, str], list[DatasetId]]:
    """Releases per species/assembly, newest first (release numbers compare as numbers)."""
    groups: dict[tuple[str, str], list[DatasetId]] = defaultdict(list)
    for dataset in datasets:
        groups[(dataset.species, dataset.assembly)].append(dataset)
    return {key: sorted(group, key=lambda d: int(d.release), reverse=True) for key, group in groups.items()}


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
    for (species, assembly), releases in sorted(_history(list(expectation.dataset_ids)).items()):
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


def _wait_until(check: Any, timeout_s: float = SETTLE_TIMEOUT_S) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return bool(check())


def _listed(atlas: AtlasClient) -> list[str]:
    answer = atlas.get("/v1/datasets", {"limit": "500"})
    if answer.status != 200:
        return []
    return [
        "/".join(i["dataset"][k] for k in ("release", "species", "assembly")) for i in answer.json()["data"]["items"]
    ]


def _epoch(atlas: AtlasClient, dataset: DatasetId) -> Any:
    answer = atlas.get("/v1/genes/count", atlas.dataset_params(dataset))
    return answer.json().get("catalog_epoch") if answer.status == 200 else f"HTTP {answer.status}"


@pytest.mark.destructive
def test_a_rollback_follows_the_policy_and_can_be_undone(
    restored_atlas: RestoredAtlas, atlas: AtlasClient, evidence: DrillEvidence
) -> None:
    staging, sandbox = restored_atlas.staging, restored_atlas.sandbox
    if restored_atlas.not_ready is not None:
        # A rollback is performed on a serving target; one that never came up ready cannot show it works.
        evidence.record(
            "target ready for the rollback",
            False,
            expected="a ready target",
            observed=restored_atlas.not_ready,
            where="sandbox",
        )
        evidence.assert_ok()
        return
    catalog, problem = restored_catalog(staging)
    groups = _history(catalog.dataset_ids()) if catalog else {}
    with_history = sorted(
        (key for key, releases in groups.items() if len(releases) > 1), key=lambda k: (-len(groups[k]), k)
    )
    if catalog is None or not with_history:
        evidence.record(
            "select_previous_dataset_id",
            False,
            expected="a dataset with an earlier release",
            observed=problem or "no species/assembly has two releases",
            where="store/catalog.json",
        )
        evidence.assert_ok()
        return
    newest, previous = groups[with_history[0]][:2]
    evidence.record(
        "select_previous_dataset_id",
        True,
        expected=f"previous of {newest.canonical}",
        observed=previous.canonical,
        where="store/catalog.json",
    )
    lock = check_publish_sidecars(derived_dir(staging / STORE, previous), previous)
    evidence.equal(
        "validate_manifest_lock_integrity",
        expected=[],
        observed=[str(v) for v in lock],
        where=f"store/{previous.directory}/derived",
    )
    before = sandbox.store_digests()
    epoch_before = _epoch(atlas, previous)
    identity_before = atlas.dataset(newest).headers.get("x-dataset-identity-sha256")

    rolled_back = catalog.without(newest)
    sandbox.write_store_files(_catalog_files(rolled_back))
    evidence.record(
        "newest release leaves the service",
        _wait_until(lambda: newest.canonical not in _listed(atlas)),
        expected=f"{newest.canonical} not listed",
        observed=_listed(atlas),
        where="GET /v1/datasets",
    )
    detail = atlas.dataset(newest)
    evidence.equal(
        "its detail answers 404 DatasetNotFound",
        expected=[404, "DatasetNotFound"],
        observed=[detail.status, detail.json().get("error", {}).get("code") if detail.body else None],
        where=f"GET /v1/datasets/{newest.canonical}",
    )
    evidence.record(
        "readiness holds through the rollback",
        _wait_until(lambda: atlas.get("/readyz").status == 200),
        expected=200,
        observed=atlas.get("/readyz").status,
        where="GET /readyz",
    )
    evidence.equal(
        "catalog epoch moves to the rolled-back catalog",
        expected=rolled_back.epoch,
        observed=_epoch(atlas, previous),
        where="GET /v1/genes/count: catalog_epoch",
    )
    evidence.record(
        "the epoch changed",
        epoch_before != rolled_back.epoch,
        expected=f"not {epoch_before}",
        observed=rolled_back.epoch,
        where="catalog_epoch",
    )
    after = sandbox.store_digests()
    artifacts = {k: v for k, v in before.items() if k not in {CATALOG_FILE, CATALOG_CHECKSUM_FILE}}
    evidence.equal(
        "no artifact changed by a byte",
        expected=artifacts,
        observed={k: after.get(k) for k in artifacts},
        where="served store",
    )

    sandbox.write_store_files(_catalog_files(catalog))
    evidence.record(
        "re-promoting brings it back",
        _wait_until(lambda: newest.canonical in _listed(atlas)),
        expected=f"{newest.canonical} listed",
        observed=_listed(atlas),
        where="GET /v1/datasets",
    )
    evidence.equal(
        "its identity is unchanged",
        expected=identity_before,
        observed=atlas.dataset(newest).headers.get("x-dataset-identity-sha256"),
        where=f"GET /v1/datasets/{newest.canonical}",
    )
    evidence.equal(
        "catalog epoch back to the original",
        expected=catalog.epoch,
        observed=_epoch(atlas, previous),
        where="GET /v1/genes/count: catalog_epoch",
    )
    evidence.assert_ok()


def _catalog_files(catalog: Catalog) -> dict[str, bytes]:
    """What `catalog rollback`/`promote` write: canonical catalog.json and its struct-order checksum."""
    return {CATALOG_FILE: catalog.canonical_file_bytes(), CATALOG_CHECKSUM_FILE: f"{catalog.epoch}\n".encode()}
