"""Rollback policy, performed: a rollback done in a sandbox of its own (over a copy-on-write view of the verified
tree) follows the policy's steps, mutates no old artifact, and can be undone.

The steps are the policy's own (`rollback_steps` of `ops/datasets/rollback-policy.json`): select the previous
dataset id, validate its manifest lock, publish a catalog pointing at it without touching any artifact. The service
must follow: the newest release leaves `/v1/datasets`, readiness holds, the catalog epoch moves; re-promoting
brings everything back as it was. The static half of the criterion is in `test_rollback_policy.py`.
"""

from __future__ import annotations

import pytest

from atlas_drills.client import AtlasClient
from atlas_drills.drill.life import RestoredAtlas
from atlas_drills.drill.restored import recorded_digests, restored_catalog, sidecar_problems
from atlas_drills.drill.served import catalog_epoch, listed_datasets, wait_until
from atlas_drills.expectation import Expectation
from atlas_drills.store.history import catalog_files, longest_history, release_history
from atlas_drills.store.layout import CATALOG_CHECKSUM_FILE, CATALOG_FILE
from fixtures.evidence import DrillEvidence

pytestmark = pytest.mark.criterion("rollback policy")


@pytest.mark.destructive
def test_a_rollback_follows_the_policy_and_can_be_undone(
    restored_atlas: RestoredAtlas, atlas: AtlasClient, expectation: Expectation, evidence: DrillEvidence
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
    history = longest_history(catalog.dataset_ids()) if catalog else []
    if catalog is None or not history:
        evidence.record(
            "select_previous_dataset_id",
            False,
            expected="a dataset with an earlier release",
            observed=problem or "no species/assembly has two releases",
            where="store/catalog.json",
        )
        evidence.assert_ok()
        return
    newest, previous = history[:2]
    # The release the policy must select is the expected release's own previous one, not whatever the restored
    # catalog happens to hold next.
    expected_history = release_history(list(expectation.dataset_ids)).get((newest.species, newest.assembly), [])
    expected_previous = next((d for d in expected_history if int(d.release) < int(newest.release)), None)
    evidence.equal(
        "select_previous_dataset_id",
        expected=expected_previous.canonical if expected_previous else f"an earlier release of {newest.canonical}",
        observed=previous.canonical,
        where="store/catalog.json vs the expected release's datasets",
    )
    evidence.equal(
        "validate_manifest_lock_integrity",
        expected=[],
        observed=sidecar_problems(staging, previous, recorded_digests(restored_atlas)),
        where=f"store/{previous.directory}/derived",
    )
    epoch_before = catalog_epoch(atlas, previous)
    identity_before = atlas.dataset(newest).headers.get("x-dataset-identity-sha256")

    rolled_back = catalog.without(newest)
    sandbox.write_store_files(catalog_files(rolled_back))
    evidence.record(
        "newest release leaves the service",
        wait_until(lambda: newest.canonical not in listed_datasets(atlas)),
        expected=f"{newest.canonical} not listed",
        observed=listed_datasets(atlas),
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
        wait_until(lambda: atlas.get("/readyz").status == 200),
        expected=200,
        observed=atlas.get("/readyz").status,
        where="GET /readyz",
    )
    evidence.equal(
        "catalog epoch moves to the rolled-back catalog",
        expected=rolled_back.epoch,
        observed=catalog_epoch(atlas, previous),
        where="GET /v1/genes/count: catalog_epoch",
    )
    evidence.record(
        "the epoch changed",
        epoch_before != rolled_back.epoch,
        expected=f"not {epoch_before}",
        observed=rolled_back.epoch,
        where="catalog_epoch",
    )
    # What differs from the verified tree, from the sandbox's copy-on-write record (or, where the store was copied
    # into the container, by reading it back): only the catalog pair may.
    changed = sandbox.store_changes(restored_atlas.verified_store)
    evidence.equal(
        "no artifact changed by a byte",
        expected=[],
        observed=[path for path in changed if path not in {CATALOG_FILE, CATALOG_CHECKSUM_FILE}],
        where="served store vs the verified tree",
    )

    sandbox.write_store_files(catalog_files(catalog))
    evidence.record(
        "re-promoting brings it back",
        wait_until(lambda: newest.canonical in listed_datasets(atlas)),
        expected=f"{newest.canonical} listed",
        observed=listed_datasets(atlas),
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
        observed=catalog_epoch(atlas, previous),
        where="GET /v1/genes/count: catalog_epoch",
    )
    evidence.assert_ok()
