"""A corrupt artifact never shows on readiness: it shows on the query paths, then as quarantine (contract §1.3)."""

from __future__ import annotations

from pathlib import Path

from atlas_drills.sample import SampleRelease
from atlas_drills.store import sha256_file
from atlas_drills.store.layout import sqlite_path
from tests.http.conftest import StartStandIn
from tests.http.expect import dims, flip_middle_bytes, query


def test_corrupt_sqlite_is_ready_but_unavailable_then_quarantined(
    start_standin: StartStandIn, store_copy: Path, sample_release: SampleRelease
) -> None:
    d = sample_release.current
    gene_id = query(store_copy, d, "SELECT gene_id FROM gene_summary WHERE transcript_count > 0 LIMIT 1")[0]["gene_id"]
    flip_middle_bytes(sqlite_path(store_copy, d))
    standin = start_standin(store_copy, env={"ATLAS_ENABLE_ADMIN_ENDPOINTS": "1", "ATLAS_ENABLE_DEBUG_DATASETS": "1"})
    assert standin.get("/readyz").status_code == 200, "Atlas reports ready with a corrupt artifact"

    for attempt in range(1, 4):
        response = standin.get(f"/v1/genes/count?{dims(d)}")
        assert response.status_code == 503, f"attempt {attempt}: {response.text}"
        assert response.headers["retry-after"] == "3"
        error = response.json()["error"]
        assert (error["code"], error["message"]) == ("NotReady", "dataset unavailable")

    transcripts = standin.get(f"/v1/genes/{gene_id}/transcripts?{dims(d)}")
    assert transcripts.status_code == 409, transcripts.text
    assert transcripts.json()["error"]["code"] == "ArtifactQuarantined"
    one = standin.get(f"/v1/transcripts/ANY?{dims(d)}")
    assert (one.status_code, one.json()["error"]["code"]) == (409, "ArtifactQuarantined")
    assert standin.get(f"/v1/genes/count?{dims(d)}").status_code == 503
    assert standin.get("/readyz").status_code == 200

    mismatches = standin.events("ingest_anomaly_checksum_mismatch")
    assert len(mismatches) == 3
    assert mismatches[0]["fields"]["dataset"] == d.canonical
    (quarantine,) = standin.events("dataset_quarantined")
    assert quarantine["fields"]["open_failures"] == 3
    health = standin.get(f"/debug/dataset-health?{dims(d)}").json()["health"]
    assert health["quarantined"] is True
    assert health["open_failures"] == 3
    assert health["checksum_verified"] is False
    metrics = standin.get("/metrics").text
    assert any(
        line.startswith("atlas_integrity_violations_total{") and line.endswith(" 3") for line in metrics.splitlines()
    )
    assert not any(standin.cache_root.glob("*/derived/gene_summary.sqlite")), "nothing unverified enters the cache"

    other = next(x for x in sample_release.datasets if x != d)
    assert standin.get(f"/v1/genes/count?{dims(other)}").status_code == 200, "other datasets keep serving"


def test_transcripts_before_quarantine_answer_503(
    start_standin: StartStandIn, store_copy: Path, sample_release: SampleRelease
) -> None:
    d = sample_release.current
    flip_middle_bytes(sqlite_path(store_copy, d))
    standin = start_standin(store_copy)
    response = standin.get(f"/v1/genes/G/transcripts?{dims(d)}")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "UpstreamStoreUnavailable"
    assert response.json()["error"]["details"]["retryable"] is True


def test_missing_sqlite_is_unavailable_without_quarantine(
    start_standin: StartStandIn, store_copy: Path, sample_release: SampleRelease
) -> None:
    d = sample_release.current
    sqlite_path(store_copy, d).unlink()
    standin = start_standin(store_copy)
    for _ in range(4):
        assert standin.get(f"/v1/genes/count?{dims(d)}").status_code == 503
    assert standin.get(f"/v1/genes/G/transcripts?{dims(d)}").status_code == 503
    assert not standin.events("dataset_quarantined")


def test_verified_copy_lands_in_the_cache_root(start_standin: StartStandIn, sample_release: SampleRelease) -> None:
    d = sample_release.current
    standin = start_standin(sample_release.store_root)
    assert not any(standin.cache_root.iterdir()), "the cache starts empty"
    assert standin.get(f"/v1/genes/count?{dims(d)}").status_code == 200
    digest = sha256_file(sqlite_path(sample_release.store_root, d))
    derived = standin.cache_root / digest / "derived"
    assert sha256_file(derived / "gene_summary.sqlite") == digest
    assert (derived / ".verified").read_text() == f"{digest}:1"
    assert (standin.cache_root / ".dataset-index" / f"{d.key}.key").read_text() == digest


def test_quarantine_is_retried_after_its_ttl(
    start_standin: StartStandIn, store_copy: Path, sample_release: SampleRelease
) -> None:
    d = sample_release.current
    path = sqlite_path(store_copy, d)
    good = path.read_bytes()
    flip_middle_bytes(path)
    standin = start_standin(
        store_copy, env={"ATLAS_QUARANTINE_CORRUPTION_FAILURES": "1", "ATLAS_QUARANTINE_RETRY_TTL_MS": "300"}
    )
    assert standin.get(f"/v1/genes/count?{dims(d)}").status_code == 503
    assert standin.get(f"/v1/genes/G/transcripts?{dims(d)}").status_code == 409
    path.write_bytes(good)
    standin.wait_until(
        lambda: standin.get(f"/v1/genes/count?{dims(d)}").status_code == 200, 10, "the retried open to succeed"
    )
