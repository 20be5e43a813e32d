"""Query paths: every answer equals what the dataset's SQLite file says, read here with sqlite3."""

from __future__ import annotations

from typing import Any

import pytest

from atlas_drills.sample import SampleRelease
from atlas_drills.store import dataset_hash
from tests.http.conftest import StandIn
from tests.http.expect import catalog_epoch, dims, gene_row, manifest_of, named, query

GENE_COLUMNS = 'gene_id, name, seqid, start, "end", biotype, transcript_count, sequence_length'
TX_COLUMNS = (
    'transcript_id, parent_gene_id, transcript_type, biotype, seqid, start, "end", exon_count, total_exon_span, '
    "cds_present"
)


def _tx(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "cds_present": bool(row["cds_present"])}


@pytest.fixture(scope="module")
def gene(sample_release: SampleRelease) -> dict[str, Any]:
    """A gene of the current dataset that has transcripts, read from the SQLite file."""
    rows = query(
        sample_release.store_root,
        sample_release.current,
        f"SELECT {GENE_COLUMNS} FROM gene_summary WHERE transcript_count > 0 ORDER BY gene_id LIMIT 1 OFFSET 7",
    )
    return rows[0]


def test_gene_by_id_equals_the_artifact_row(
    shared_standin: StandIn, sample_release: SampleRelease, gene: dict[str, Any]
) -> None:
    d = sample_release.current
    response = shared_standin.get(f"/v1/genes?{dims(d)}&gene_id={gene['gene_id']}&include=coords,biotype,counts,length")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["dataset"] == named(d)
    assert body["data"]["rows"] == [gene]
    assert body["data"]["class"] == "cheap"
    manifest = manifest_of(sample_release.store_root, d)
    assert body["data"]["provenance"]["dataset_hash"] == dataset_hash(d.canonical)
    assert response.headers["x-atlas-dataset-hash"] == dataset_hash(d.canonical)
    assert response.headers["x-atlas-release"] == d.release
    assert response.headers["x-atlas-artifact-hash"] == manifest.dataset_signature_sha256


def test_rows_without_include_carry_id_and_name_and_nulls(
    shared_standin: StandIn, sample_release: SampleRelease, gene: dict[str, Any]
) -> None:
    d = sample_release.current
    rows = shared_standin.get(f"/v1/genes?dataset={d.canonical}&gene_id={gene['gene_id']}").json()["data"]["rows"]
    assert rows == [gene_row({"gene_id": gene["gene_id"], "name": gene["name"]})]


def test_dataset_param_form_carries_no_provenance_headers(
    shared_standin: StandIn, sample_release: SampleRelease, gene: dict[str, Any]
) -> None:
    d = sample_release.current
    response = shared_standin.get(f"/v1/genes?dataset={d.canonical}&gene_id={gene['gene_id']}")
    assert response.status_code == 200
    assert "x-atlas-dataset-hash" not in response.headers


def test_name_and_prefix_queries(shared_standin: StandIn, sample_release: SampleRelease, gene: dict[str, Any]) -> None:
    d = sample_release.current
    store = sample_release.store_root
    by_name = shared_standin.get(f"/v1/genes?{dims(d)}&name={gene['name']}&limit=500").json()["data"]["rows"]
    expected = query(
        store, d, "SELECT gene_id, name FROM gene_summary WHERE name = ? ORDER BY gene_id", (gene["name"],)
    )
    assert by_name == [gene_row(row) for row in expected]
    prefix = gene["name"][:2]
    # A name prefix is a heavy query for Atlas: at most 200 rows (its heavy projection limit).
    got = shared_standin.get(f"/v1/genes?{dims(d)}&name_like={prefix}*&limit=200").json()["data"]["rows"]
    expected = query(
        store,
        d,
        "SELECT gene_id, name FROM gene_summary WHERE substr(name, 1, ?) = ? ORDER BY gene_id LIMIT 200",
        (len(prefix), prefix),
    )
    assert got == [gene_row(row) for row in expected]
    assert got


def test_range_returns_the_overlapping_genes(
    shared_standin: StandIn, sample_release: SampleRelease, gene: dict[str, Any]
) -> None:
    d = sample_release.current
    start, end = max(1, gene["start"] - 5000), gene["end"] + 5000
    region = f"{gene['seqid']}:{start}-{end}"
    got = shared_standin.get(f"/v1/genes?{dims(d)}&range={region}&include=coords&limit=200").json()["data"]["rows"]
    expected = query(
        sample_release.store_root,
        d,
        'SELECT gene_id, name, seqid, start, "end" FROM gene_summary WHERE seqid = ? AND start <= ? AND "end" >= ? '
        "ORDER BY gene_id",
        (gene["seqid"], end, start),
    )
    assert got == [gene_row(row) for row in expected]
    assert gene_row({k: gene[k] for k in ("gene_id", "name", "seqid", "start", "end")}) in got
    by_region = shared_standin.get(f"/v1/genes?{dims(d)}&region={region}&sort=region:asc&limit=200").json()
    assert sorted(r["gene_id"] for r in by_region["data"]["rows"]) == sorted(r["gene_id"] for r in expected)


def test_cursor_pages_cover_the_whole_answer(
    shared_standin: StandIn, sample_release: SampleRelease, gene: dict[str, Any]
) -> None:
    d = sample_release.current
    region = f"{gene['seqid']}:1-{gene['end'] + 200000}"
    expected = query(
        sample_release.store_root,
        d,
        'SELECT gene_id FROM gene_summary WHERE seqid = ? AND start <= ? AND "end" >= 1 ORDER BY gene_id',
        (gene["seqid"], gene["end"] + 200000),
    )
    assert len(expected) > 3, "the region must span several pages"
    seen: list[str] = []
    path = f"/v1/genes?{dims(d)}&range={region}&limit=3"
    for _ in range(len(expected)):
        body = shared_standin.get(path).json()
        seen.extend(row["gene_id"] for row in body["data"]["rows"])
        cursor = body["page"]["next_cursor"]
        if cursor is None:
            break
        path = f"/v1/genes?{dims(d)}&range={region}&limit=3&cursor={cursor}"
    assert seen == [row["gene_id"] for row in expected]


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ("&unknown=1&gene_id=x", 400, "InvalidQueryParameter"),
        ("&limit=0&gene_id=x", 400, "InvalidQueryParameter"),
        ("&limit=501&gene_id=x", 400, "InvalidQueryParameter"),
        ("&cursor=garbage&gene_id=x", 400, "InvalidCursor"),
        ("&range=chr1:9-1", 400, "InvalidQueryParameter"),
        ("&name_like=BR*CA", 400, "InvalidQueryParameter"),
        ("&strand=plus&gene_id=x", 400, "InvalidQueryParameter"),
        ("&include=everything&gene_id=x", 400, "InvalidQueryParameter"),
        ("&biotype=protein_coding", 422, "QueryRejectedByPolicy"),
        ("", 422, "QueryRejectedByPolicy"),
    ],
)
def test_gene_query_errors(
    shared_standin: StandIn, sample_release: SampleRelease, params: str, status: int, code: str
) -> None:
    response = shared_standin.get(f"/v1/genes?{dims(sample_release.current)}{params}")
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    if status == 422:
        assert error["details"]["reason_code"] == "QUERY_REJECTED"


@pytest.mark.parametrize(("params", "limit"), [("range=chr1:1-9", 201), ("name_like=AB*", 500)])
def test_heavy_queries_stay_within_atlas_projection_limit(
    shared_standin: StandIn, sample_release: SampleRelease, params: str, limit: int
) -> None:
    d = sample_release.current
    refused = shared_standin.get(f"/v1/genes?{dims(d)}&{params}&limit={limit}")
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert (error["code"], error["message"]) == ("QueryRejectedByPolicy", "heavy projection limit exceeded")
    assert error["details"] == {"limit": limit, "max": 200}
    served = shared_standin.get(f"/v1/genes?{dims(d)}&{params}&limit=200")
    assert (served.status_code, served.json()["data"]["class"]) == (200, "heavy")


def test_missing_dataset_dimension(shared_standin: StandIn) -> None:
    response = shared_standin.get("/v1/genes?release=1&gene_id=x")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MissingDatasetDimension"
    assert response.json()["error"]["details"]["missing"] == ["species", "assembly"]


def test_gene_answers_carry_etags(shared_standin: StandIn, sample_release: SampleRelease, gene: dict[str, Any]) -> None:
    path = f"/v1/genes?{dims(sample_release.current)}&gene_id={gene['gene_id']}"
    etag = shared_standin.get(path).headers["etag"]
    assert shared_standin.get(path, headers={"if-none-match": etag}).status_code == 304


def test_gene_count_equals_the_artifact_and_the_catalog_epoch(
    shared_standin: StandIn, sample_release: SampleRelease
) -> None:
    store = sample_release.store_root
    for d in sample_release.datasets:
        response = shared_standin.get(f"/v1/genes/count?{dims(d)}")
        assert response.status_code == 200
        count = query(store, d, "SELECT COUNT(*) AS n FROM gene_summary")[0]["n"]
        assert response.json() == {"dataset": d.canonical, "gene_count": count, "catalog_epoch": catalog_epoch(store)}
        assert count == manifest_of(store, d).stats.gene_count


def test_filtered_gene_count(shared_standin: StandIn, sample_release: SampleRelease, gene: dict[str, Any]) -> None:
    d = sample_release.current
    got = shared_standin.get(f"/v1/genes/count?{dims(d)}&biotype={gene['biotype']}").json()["gene_count"]
    expected = query(
        sample_release.store_root, d, "SELECT COUNT(*) AS n FROM gene_summary WHERE biotype = ?", (gene["biotype"],)
    )[0]["n"]
    assert got == expected


def test_transcripts_of_a_gene(shared_standin: StandIn, sample_release: SampleRelease, gene: dict[str, Any]) -> None:
    d = sample_release.current
    response = shared_standin.get(f"/v1/genes/{gene['gene_id']}/transcripts?{dims(d)}")
    assert response.status_code == 200, response.text
    body = response.json()
    expected = query(
        sample_release.store_root,
        d,
        f"SELECT {TX_COLUMNS} FROM transcript_summary WHERE parent_gene_id = ? ORDER BY transcript_id",
        (gene["gene_id"],),
    )
    assert body["data"]["gene_id"] == gene["gene_id"]
    assert body["data"]["rows"] == [_tx(row) for row in expected]
    assert len(expected) == gene["transcript_count"]
    assert shared_standin.get(f"/v1/genes/{gene['gene_id']}/transcripts?release=1").status_code == 400


def test_transcript_by_id(shared_standin: StandIn, sample_release: SampleRelease, gene: dict[str, Any]) -> None:
    d = sample_release.current
    (row,) = query(
        sample_release.store_root,
        d,
        f"SELECT {TX_COLUMNS} FROM transcript_summary WHERE parent_gene_id = ? ORDER BY transcript_id LIMIT 1",
        (gene["gene_id"],),
    )
    response = shared_standin.get(f"/v1/transcripts/{row['transcript_id']}?{dims(d)}")
    assert response.status_code == 200
    assert response.json()["data"]["transcript"] == _tx(row)
    assert response.json()["data"]["transcript"]["parent_gene_id"] == gene["gene_id"]
    missing = shared_standin.get(f"/v1/transcripts/NO_SUCH_TX?{dims(d)}")
    assert missing.status_code == 404
    error = missing.json()["error"]
    assert (error["code"], error["details"]) == ("InvalidQueryParameter", {"transcript_id": "NO_SUCH_TX"})


def test_query_validate_plans_without_running(shared_standin: StandIn, sample_release: SampleRelease) -> None:
    d = sample_release.current
    response = shared_standin.post("/v1/query/validate", json={"dataset": d.canonical, "gene_id": "G1"})
    assert response.status_code == 200
    assert response.headers["x-atlas-query-class"] == "cheap"
    data = response.json()["data"]
    assert data["dataset"] == d.canonical
    assert data["reasons"] == []
    assert data["limits"]["max_limit"] == 500
    full_scan = shared_standin.post("/v1/query/validate", json={"dataset": d.canonical}).json()["data"]
    assert full_scan["reasons"]
    assert full_scan["reasons"][0].startswith("QUERY_REJECTED")
    assert shared_standin.post("/v1/query/validate", data=b"[1]").status_code == 400
    assert shared_standin.post("/v1/query/validate", json={"dataset": d.canonical, "bogus": "1"}).status_code == 400
