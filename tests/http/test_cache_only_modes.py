"""Cached-only and read-only filesystem modes: Atlas never copies a dataset from the store then, so from an empty
cache it reports ready (cached-only ignores the catalog) yet answers 503 for every dataset query."""

from __future__ import annotations

import pytest

from atlas_drills.sample import SampleRelease
from tests.http.conftest import StartStandIn
from tests.http.expect import dims

MODES = {
    "cached-only": {"ATLAS_CACHED_ONLY_MODE": "true", "ATLAS_READINESS_REQUIRES_CATALOG": "false"},
    "read-only-fs": {"ATLAS_READ_ONLY_FS_MODE": "true"},
}


@pytest.mark.parametrize("mode", sorted(MODES))
def test_an_empty_cache_serves_no_dataset(
    start_standin: StartStandIn, sample_release: SampleRelease, mode: str
) -> None:
    standin = start_standin(sample_release.store_root, env=MODES[mode])
    assert standin.get("/readyz").status_code == 200
    d = sample_release.current
    count = standin.get(f"/v1/genes/count?{dims(d)}")
    assert count.status_code == 503, count.text
    assert "dataset missing from cache" in count.json()["error"]["details"]["reason"]
    assert standin.get(f"/v1/genes?{dims(d)}&gene_id=ENSG00000000003").status_code == 503
    assert standin.get(f"/v1/datasets/{d.canonical}").status_code == 200, "the catalog is still served"


def test_without_those_modes_the_store_fills_the_cache(
    start_standin: StartStandIn, sample_release: SampleRelease
) -> None:
    standin = start_standin(sample_release.store_root)
    assert standin.get(f"/v1/genes/count?{dims(sample_release.current)}").status_code == 200
