"""`/v1/datasets`, `/v1/datasets/{r}/{s}/{a}` and the `/v1/releases/...` alias, checked against the store files."""

from __future__ import annotations

import json
from pathlib import Path

from atlas_drills.sample import SampleRelease
from atlas_drills.store import dataset_hash, read_catalog, sha256_file, sha256_hex, write_catalog
from atlas_drills.store.catalog import Catalog
from atlas_drills.store.layout import manifest_path, sqlite_path
from tests.http.conftest import StandIn, StartStandIn
from tests.http.expect import manifest_of, named

ENVELOPE_KEYS = {"api_version", "contract_version", "dataset", "page", "data", "links"}


def test_list_matches_the_catalog(shared_standin: StandIn, sample_release: SampleRelease) -> None:
    response = shared_standin.get("/v1/datasets")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=30, stale-while-revalidate=15"
    body = response.json()
    assert set(body) == ENVELOPE_KEYS
    catalog = read_catalog(sample_release.store_root)
    assert body["data"]["items"] == [entry.to_json() for entry in catalog.datasets]
    assert body["data"]["stats"] == {"limit": 100, "returned": len(catalog.datasets)}
    assert body["page"] == {"next_cursor": None}


def test_bill_of_materials_equals_the_manifests(shared_standin: StandIn, sample_release: SampleRelease) -> None:
    items = shared_standin.get("/v1/datasets?include_bom=1").json()["data"]["items"]
    for item in items:
        dataset = read_catalog(sample_release.store_root).datasets[items.index(item)].dataset
        manifest = manifest_of(sample_release.store_root, dataset)
        bom = item["bill_of_materials"]
        assert bom["checksums"]["sqlite_sha256"] == sha256_file(sqlite_path(sample_release.store_root, dataset))
        assert bom["checksums"]["gff3_sha256"] == manifest.checksums.gff3_sha256
        assert bom["stats"]["gene_count"] == manifest.stats.gene_count
        assert (bom["manifest_version"], bom["db_schema_version"]) == ("1", "1")


def test_filters_limit_and_cursor_page_through_the_catalog(
    shared_standin: StandIn, sample_release: SampleRelease
) -> None:
    expected = [e.dataset.canonical for e in read_catalog(sample_release.store_root).datasets]
    seen: list[str] = []
    path = "/v1/datasets?limit=1"
    for _ in range(len(expected) + 1):
        body = shared_standin.get(path).json()
        seen.extend(
            f"{i['dataset']['release']}/{i['dataset']['species']}/{i['dataset']['assembly']}"
            for i in body["data"]["items"]
        )
        cursor = body["page"]["next_cursor"]
        if cursor is None:
            break
        assert cursor == seen[-1], "the cursor is the canonical id of the last item"
        path = f"/v1/datasets?limit=1&cursor={cursor}"
    assert seen == expected
    current = sample_release.current
    filtered = shared_standin.get(f"/v1/datasets?release={current.release}&species={current.species}").json()
    assert all(i["dataset"]["release"] == current.release for i in filtered["data"]["items"])
    assert shared_standin.get("/v1/datasets?limit=9999").json()["data"]["stats"]["limit"] == 500
    assert shared_standin.get("/v1/datasets?limit=0").json()["data"]["stats"]["limit"] == 1
    assert shared_standin.get("/v1/datasets?limit=x").status_code == 400
    assert shared_standin.get("/v1/datasets?cursor=not-an-id").json()["error"]["code"] == "InvalidCursor"


def test_etag_and_if_none_match(shared_standin: StandIn) -> None:
    first = shared_standin.get("/v1/datasets")
    etag = first.headers["etag"]
    assert etag == f'"{sha256_hex(first.content)}"'
    again = shared_standin.get("/v1/datasets", headers={"if-none-match": etag})
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
    assert shared_standin.get("/v1/datasets", headers={"if-none-match": '"other"'}).status_code == 200


def test_dataset_item_matches_its_manifest(shared_standin: StandIn, sample_release: SampleRelease) -> None:
    store = sample_release.store_root
    for dataset in sample_release.datasets:
        response = shared_standin.get(f"/v1/datasets/{dataset.release}/{dataset.species}/{dataset.assembly}")
        assert response.status_code == 200, response.text
        manifest = manifest_of(store, dataset)
        recomputed = manifest.recomputed_identity().canonical_metadata_sha256
        assert response.headers["x-dataset-identity-sha256"] == recomputed
        assert response.headers["cache-control"] == "public, max-age=900, stale-while-revalidate=450, immutable"
        assert "x-atlas-dataset-hash" not in response.headers, "path form carries no provenance headers"
        body = response.json()
        assert body["dataset"] == named(dataset)
        item = body["data"]["item"]
        sqlite_sha = sha256_file(sqlite_path(store, dataset))
        assert item["checksums"] == {"sqlite_sha256": sqlite_sha}
        assert item["artifact_db_hash"] == sqlite_sha
        assert item["artifact_hash"] == manifest.artifact_hash
        summary = item["metadata"]["manifest_summary"]
        assert summary["identity_release_id"] == dataset.canonical
        assert summary["identity_sha256"] == recomputed
        stats = {"gene_count": manifest.stats.gene_count, "transcript_count": manifest.stats.transcript_count}
        stats["contig_count"] = manifest.stats.contig_count
        assert item["metadata"]["qc_summary"] == stats
        assert item["metadata"]["provenance"]["dataset_hash"] == dataset_hash(dataset.canonical)
        assert item["metadata"]["catalog_entry"]["manifest_path"] == str(
            manifest_path(store, dataset).relative_to(store)
        )
        assert set(item["links"]) == {"genes", "genes_count", "sequence_region"}


def test_dataset_item_bill_of_materials(shared_standin: StandIn, sample_release: SampleRelease) -> None:
    d = sample_release.current
    item = shared_standin.get(f"/v1/datasets/{d.release}/{d.species}/{d.assembly}?include_bom=1").json()
    bom = item["data"]["item"]["bill_of_materials"]
    checksums = manifest_of(sample_release.store_root, d).checksums
    assert bom["checksums"] == {
        "gff3_sha256": checksums.gff3_sha256,
        "fasta_sha256": checksums.fasta_sha256,
        "fai_sha256": checksums.fai_sha256,
        "sqlite_sha256": checksums.sqlite_sha256,
    }


def test_dataset_item_errors(shared_standin: StandIn, sample_release: SampleRelease) -> None:
    bad = shared_standin.get("/v1/datasets/not-a-release/homo_sapiens/GRCh38")
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "InvalidQueryParameter"
    d = sample_release.current
    missing = shared_standin.get(f"/v1/datasets/999/{d.species}/{d.assembly}")
    assert missing.status_code == 404
    error = missing.json()["error"]
    assert error["code"] == "DatasetNotFound"
    assert set(error) == {"code", "message", "details", "request_id"}
    assert error["request_id"] == missing.headers["x-request-id"]


def test_release_alias_redirects_with_308(shared_standin: StandIn, sample_release: SampleRelease) -> None:
    d = sample_release.current
    response = shared_standin.get(f"/v1/releases/{d.release}/species/{d.species}/assemblies/{d.assembly}?include_bom=1")
    target = f"/v1/datasets/{d.release}/{d.species}/{d.assembly}?include_bom=1"
    assert response.status_code == 308
    assert response.headers["location"] == target
    assert response.headers["link"] == f'<{target}>; rel="canonical"'
    assert response.headers["deprecation"] == "true"
    assert response.headers["x-atlas-dataset-hash"] == dataset_hash(d.canonical)
    assert response.headers["x-atlas-release"] == d.release
    followed = shared_standin.get(response.headers["location"])
    assert followed.status_code == 200


def test_manifest_failing_validate_strict_gives_503(
    start_standin: StartStandIn, store_copy: Path, sample_release: SampleRelease
) -> None:
    d = sample_release.current
    path = manifest_path(store_copy, d)
    raw = json.loads(path.read_bytes())
    raw["identity"]["canonical_metadata_sha256"] = "0" * 64
    path.write_text(json.dumps(raw))
    standin = start_standin(store_copy)
    assert standin.get("/readyz").status_code == 200, "a bad manifest is not part of readiness"
    response = standin.get(f"/v1/datasets/{d.release}/{d.species}/{d.assembly}")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "3"
    error = response.json()["error"]
    assert (error["code"], error["message"]) == ("UpstreamStoreUnavailable", "dataset manifest unavailable")
    assert error["details"]["retryable"] is True
    other = next(x for x in sample_release.datasets if x != d)
    assert standin.get(f"/v1/datasets/{other.release}/{other.species}/{other.assembly}").status_code == 200


def test_missing_or_empty_catalog_lists_nothing(start_standin: StartStandIn, store_copy: Path) -> None:
    (store_copy / "catalog.json").unlink()
    (store_copy / "catalog.sha256").unlink(missing_ok=True)
    standin = start_standin(store_copy)
    body = standin.get("/v1/datasets").json()
    assert body["data"]["items"] == []
    write_catalog(store_copy, Catalog())
    standin.wait_until(lambda: standin.get("/readyz").status_code == 200, 10, "the empty catalog to load")
    assert standin.get("/v1/datasets").json()["data"] == {"items": [], "stats": {"limit": 100, "returned": 0}}
