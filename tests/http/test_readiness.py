"""Readiness follows the catalog only, with Atlas's state machine: at startup and after a live change plus the TTL."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from atlas_drills.sample import SampleRelease
from atlas_drills.store import read_catalog, write_catalog
from tests.http.conftest import StandIn, StartStandIn
from tests.http.expect import dims

# Generous against a loaded CI machine; with a 200 ms TTL a change is normally seen in well under a second.
CHANGE_SEEN_WITHIN_S = 10.0


def _delete_catalog(store: Path) -> None:
    (store / "catalog.json").unlink()


def _unsort_catalog(store: Path) -> None:
    path = store / "catalog.json"
    raw = json.loads(path.read_bytes())
    assert len(raw["datasets"]) >= 2, "the sample needs two datasets to unsort"
    raw["datasets"].reverse()
    path.write_text(json.dumps(raw))


def _wrong_checksum(store: Path) -> None:
    (store / "catalog.sha256").write_text("0" * 64 + "\n")


def _unparsable_catalog(store: Path) -> None:
    (store / "catalog.json").write_text('{"datasets": [], "unknown_field": 1}')


BREAKAGES: dict[str, Callable[[Path], None]] = {
    "missing": _delete_catalog,
    "unsorted": _unsort_catalog,
    "checksum-mismatch": _wrong_checksum,
    "unknown-field": _unparsable_catalog,
}


def _status(standin: StandIn, path: str) -> int:
    return standin.get(path).status_code


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_broken_catalog_at_startup_is_not_ready(start_standin: StartStandIn, store_copy: Path, breakage: str) -> None:
    BREAKAGES[breakage](store_copy)
    standin = start_standin(store_copy)
    response = standin.get("/readyz")
    assert (response.status_code, response.text) == (503, "not-ready")
    assert _status(standin, "/healthz") == 200, "liveness does not follow the catalog"
    assert standin.get("/healthz/overload").json()["ready"] is False
    assert standin.events("initial_catalog_refresh_failed")
    listed = standin.get("/v1/datasets")
    assert (listed.status_code, listed.json()["data"]["items"]) == (200, [])


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_live_catalog_breakage_flips_ready_after_the_ttl(
    start_standin: StartStandIn, store_copy: Path, sample_release: SampleRelease, breakage: str
) -> None:
    standin = start_standin(store_copy)
    assert _status(standin, "/readyz") == 200
    BREAKAGES[breakage](store_copy)
    standin.wait_until(lambda: _status(standin, "/readyz") == 503, CHANGE_SEEN_WITHIN_S, "/readyz 503")
    # Once loaded, the catalog stays in memory: the dataset surface is still served while not ready.
    d = sample_release.current
    assert _status(standin, f"/v1/datasets/{d.release}/{d.species}/{d.assembly}") == 200
    assert standin.get("/v1/datasets").json()["data"]["stats"]["returned"] == len(sample_release.datasets)
    assert any(e["fields"]["reason"] for e in standin.events("catalog_refresh_failed"))


def test_repaired_catalog_makes_the_service_ready_again(start_standin: StartStandIn, store_copy: Path) -> None:
    good = (store_copy / "catalog.json").read_bytes()
    _delete_catalog(store_copy)
    standin = start_standin(store_copy)
    assert _status(standin, "/readyz") == 503
    (store_copy / "catalog.json").write_bytes(good)
    standin.wait_until(lambda: _status(standin, "/readyz") == 200, CHANGE_SEEN_WITHIN_S, "/readyz 200 after repair")


def test_catalog_changes_wait_for_the_ttl(start_standin: StartStandIn, store_copy: Path) -> None:
    standin = start_standin(store_copy, env={"ATLAS_REGISTRY_TTL_MS": "60000"})
    _delete_catalog(store_copy)
    # Within the TTL the registry does not re-read, so readiness cannot change yet.
    for _ in range(10):
        assert _status(standin, "/readyz") == 200


def test_readiness_without_catalog_requirement(start_standin: StartStandIn, store_copy: Path) -> None:
    _delete_catalog(store_copy)
    cached_only = start_standin(
        store_copy, env={"ATLAS_CACHED_ONLY_MODE": "true", "ATLAS_READINESS_REQUIRES_CATALOG": "false"}
    )
    assert _status(cached_only, "/readyz") == 200, "cached-only mode keeps ready true after a failed refresh"
    not_required = start_standin(store_copy, env={"ATLAS_READINESS_REQUIRES_CATALOG": "false"})
    assert _status(not_required, "/readyz") == 503, "state.ready still follows the failed refresh"


def test_gene_count_bypasses_the_catalog(
    start_standin: StartStandIn, store_copy: Path, sample_release: SampleRelease
) -> None:
    epoch = read_catalog(store_copy).epoch
    _delete_catalog(store_copy)
    standin = start_standin(store_copy)
    d = sample_release.current
    response = standin.get(f"/v1/genes/count?{dims(d)}")
    assert response.status_code == 200
    assert response.json()["catalog_epoch"] is None
    assert response.json()["catalog_epoch"] != epoch
    assert standin.get(f"/v1/datasets/{d.release}/{d.species}/{d.assembly}").status_code == 404


def test_rollback_removes_a_dataset_and_changes_the_epoch(
    start_standin: StartStandIn, store_copy: Path, sample_release: SampleRelease
) -> None:
    standin = start_standin(store_copy)
    d = sample_release.current
    before = standin.get(f"/v1/genes/count?{dims(d)}").json()["catalog_epoch"]
    write_catalog(store_copy, read_catalog(store_copy).without(d))
    path = f"/v1/datasets/{d.release}/{d.species}/{d.assembly}"
    standin.wait_until(lambda: _status(standin, path) == 404, CHANGE_SEEN_WITHIN_S, "the rolled-back dataset to go")
    assert standin.get(path).json()["error"]["code"] == "DatasetNotFound"
    assert _status(standin, "/readyz") == 200
    after = standin.get(f"/v1/genes/count?{dims(d)}").json()["catalog_epoch"]
    assert after == read_catalog(store_copy).epoch != before
