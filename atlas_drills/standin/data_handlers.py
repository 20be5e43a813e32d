"""Dataset and query routes: `/v1/datasets[...]`, the `/v1/releases/...` alias, `/v1/genes[...]`,
`/v1/transcripts/{id}` and `POST /v1/query/validate` (contract §1.2-1.4)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any
from urllib.parse import quote, urlencode

from atlas_drills.standin.app import StandIn
from atlas_drills.standin.datasets import DatasetUnavailable, OpenDataset, read_store_manifest
from atlas_drills.standin.params import (
    DEFAULT_TRANSCRIPT_LIMIT,
    GENE_PARAMS,
    MAX_LIMIT,
    MAX_NAME_PREFIX_LEN,
    MAX_RANGE_SPAN,
    TRANSCRIPT_LIST_PARAMS,
    TRANSCRIPT_PARAMS,
    check_allowed,
    dataset_from_dims,
    decode_cursor,
    encode_cursor,
    is_true,
    parse_dataset_params,
    parse_gene_query,
    parse_limit,
    parse_region,
    reject_full_scan,
    reject_heavy_overreach,
)
from atlas_drills.standin.queries import (
    explain_genes,
    gene_count,
    gene_page,
    transcript_by_id,
    transcripts_of_gene,
)
from atlas_drills.standin.responses import (
    ApiError,
    Response,
    empty_response,
    envelope,
    invalid_param,
    json_response,
    with_etag,
)
from atlas_drills.standin.routes import Request
from atlas_drills.store.catalog import CatalogEntry
from atlas_drills.store.dataset_id import DatasetId, DatasetIdError, dataset_hash
from atlas_drills.store.layout import manifest_path
from atlas_drills.store.manifest import ArtifactManifest, parse_manifest

LIST_CACHE_CONTROL = "public, max-age=30, stale-while-revalidate=15"
ITEM_CACHE_CONTROL = "public, max-age=900, stale-while-revalidate=450, immutable"
AVAILABLE_ENDPOINTS = ["/v1/genes", "/v1/genes/count", "/v1/genes/{gene_id}/transcripts", "/v1/transcripts/{tx_id}"]


IMMUTABLE_GENE_TTL_S = 900  # Atlas's immutable_gene_ttl


def _refuse_while_draining(app: StandIn) -> None:
    if app.draining.is_set():
        raise ApiError(503, "QueryRejectedByPolicy", "server draining; refusing new requests", {"retryable": True})


def _sized(app: StandIn, response: Response) -> Response:
    limit = app.settings.response_max_bytes
    if len(response.body) > limit:
        raise ApiError(
            413,
            "ResponseTooLarge",
            f"response is {len(response.body)} bytes; the limit is {limit}",
            {"max_bytes": limit},
        )
    return response


def provenance(dataset: DatasetId, manifest: ArtifactManifest) -> dict[str, Any]:
    return {
        "dataset_hash": dataset_hash(dataset.canonical),
        "release": dataset.release,
        "species": dataset.species,
        "assembly": dataset.assembly,
        "manifest_version": manifest.manifest_version,
        "db_schema_version": manifest.db_schema_version,
        "dataset_signature_sha256": manifest.dataset_signature_sha256,
    }


# -- /v1/datasets --------------------------------------------------------------------------------------------------
def list_datasets(app: StandIn, request: Request) -> Response:
    _refuse_while_draining(app)
    params = request.params
    check_allowed(params, frozenset({"release", "species", "assembly", "limit", "cursor", "include_bom", "pretty"}))
    raw_limit = params.get("limit", "100")
    try:
        limit = min(max(int(raw_limit), 1), MAX_LIMIT)
    except ValueError as exc:
        raise invalid_param("limit", "limit must be an integer", raw_limit) from exc
    after: DatasetId | None = None
    if "cursor" in params:
        try:
            after = DatasetId.parse(params["cursor"])
        except DatasetIdError as exc:
            raise ApiError(400, "InvalidCursor", "cursor must be the canonical id of the last item", {}) from exc
    snapshot = app.registry.snapshot
    entries = sorted(snapshot.catalog.datasets if snapshot else (), key=CatalogEntry.sort_key)
    entries = [
        e
        for e in entries
        if all(params.get(k) in (None, getattr(e.dataset, k)) for k in ("release", "species", "assembly"))
        and (after is None or e.dataset > after)
    ]
    page, more = entries[:limit], len(entries) > limit
    bom = is_true(params.get("include_bom"))
    items = [_list_item(app, entry, bom) for entry in page]
    next_cursor = page[-1].dataset.canonical if more and page else None
    body = envelope(
        {"items": items, "stats": {"limit": limit, "returned": len(items)}},
        page={"next_cursor": next_cursor},
    )
    response = json_response(200, body, pretty=is_true(params.get("pretty")))
    return with_etag(_sized(app, response), request.header("if-none-match"), LIST_CACHE_CONTROL)


def _list_item(app: StandIn, entry: CatalogEntry, bom: bool) -> dict[str, Any]:
    item = entry.to_json()
    if bom:
        item["bill_of_materials"] = _list_bom(app, entry.dataset)
    return item


def _list_bom(app: StandIn, dataset: DatasetId) -> dict[str, Any] | None:
    try:
        manifest = parse_manifest(manifest_path(app.settings.store_root, dataset).read_bytes())
    except Exception:  # "null if the manifest is unreadable", whatever the reason
        return None
    return {
        "manifest_version": manifest.manifest_version,
        "db_schema_version": manifest.db_schema_version,
        "checksums": _checksums(manifest),
        "stats": _stats(manifest),
    }


def _checksums(manifest: ArtifactManifest) -> dict[str, str]:
    c = manifest.checksums
    return {
        "gff3_sha256": c.gff3_sha256,
        "fasta_sha256": c.fasta_sha256,
        "fai_sha256": c.fai_sha256,
        "sqlite_sha256": c.sqlite_sha256,
    }


def _stats(manifest: ArtifactManifest) -> dict[str, int]:
    s = manifest.stats
    return {"gene_count": s.gene_count, "transcript_count": s.transcript_count, "contig_count": s.contig_count}


def get_dataset(app: StandIn, request: Request) -> Response:
    check_allowed(request.params, frozenset({"include_bom", "pretty"}))
    p = request.path_params
    dataset = dataset_from_dims(p["release"], p["species"], p["assembly"])
    snapshot = app.registry.snapshot
    entry = next((e for e in (snapshot.catalog.datasets if snapshot else ()) if e.dataset == dataset), None)
    if entry is None:
        raise ApiError(404, "DatasetNotFound", f"dataset {dataset.canonical} is not in the catalog", {})
    try:
        manifest = read_store_manifest(app.settings.store_root, dataset)
    except DatasetUnavailable as exc:
        raise ApiError(
            503,
            "UpstreamStoreUnavailable",
            "dataset manifest unavailable",
            {"dataset": dataset.canonical, "reason": str(exc), "retryable": True},
        ) from exc
    item = _dataset_item(dataset, entry, manifest)
    if is_true(request.params.get("include_bom")):
        item["bill_of_materials"] = {
            "checksums": _checksums(manifest),
            "manifest_version": manifest.manifest_version,
            "db_schema_version": manifest.db_schema_version,
        }
    body = envelope({"item": item}, dataset=dataset.canonical)
    response = json_response(200, body, pretty=is_true(request.params.get("pretty")))
    response.headers["x-dataset-identity-sha256"] = manifest.identity.canonical_metadata_sha256
    return with_etag(_sized(app, response), request.header("if-none-match"), ITEM_CACHE_CONTROL)


def _dataset_item(dataset: DatasetId, entry: CatalogEntry, manifest: ArtifactManifest) -> dict[str, Any]:
    query = urlencode(dataset.to_json())
    return {
        "dataset": dataset.to_json(),
        "artifact_hash": manifest.artifact_hash,
        "artifact_db_hash": manifest.db_hash,
        "checksums": {"sqlite_sha256": manifest.checksums.sqlite_sha256},
        "shard_info": {"plan": manifest.sharding_plan, "router": None},
        "metadata": {
            "provenance": provenance(dataset, manifest),
            "catalog_entry": entry.to_json(),
            "manifest_summary": {
                "manifest_version": manifest.manifest_version,
                "db_schema_version": manifest.db_schema_version,
                "identity_release_id": manifest.identity.release_id,
                "identity_sha256": manifest.identity.canonical_metadata_sha256,
                "stats": _stats(manifest),
                "canonical": {
                    "schema_version": manifest.canonical_model_schema_version,
                    "query_semantic_sha256": manifest.canonical_query_semantic_sha256,
                    "lineage_sha256": manifest.canonical_lineage_sha256,
                    "feature_counts": dict(manifest.canonical_feature_counts),
                },
            },
            "qc_summary": _stats(manifest),
        },
        "available_endpoints": AVAILABLE_ENDPOINTS,
        "links": {
            "genes": f"/v1/genes?{query}",
            "genes_count": f"/v1/genes/count?{query}",
            "sequence_region": f"/v1/sequence/region?{query}",
        },
    }


def release_alias(app: StandIn, request: Request) -> Response:
    p = request.path_params
    location = "/v1/datasets/" + "/".join(quote(p[k], safe="") for k in ("release", "species", "assembly"))
    if request.query_string:
        location += f"?{request.query_string}"
    headers = {"location": location, "link": f'<{location}>; rel="canonical"', "deprecation": "true"}
    return empty_response(308, headers)


# -- genes ---------------------------------------------------------------------------------------------------------
def _open(app: StandIn, dataset: DatasetId, *, transcripts: bool = False) -> OpenDataset:
    try:
        return app.datasets.get(dataset)
    except DatasetUnavailable as exc:
        details = {"dataset": dataset.canonical, "reason": str(exc), "retryable": True}
        if transcripts and exc.kind == "quarantined":
            raise ApiError(409, "ArtifactQuarantined", "dataset artifact is quarantined", details) from exc
        if transcripts:
            raise ApiError(503, "UpstreamStoreUnavailable", "dataset unavailable", details) from exc
        raise ApiError(503, "NotReady", "dataset unavailable", details) from exc


def _corrupted(app: StandIn, dataset: DatasetId, exc: sqlite3.DatabaseError) -> ApiError:
    """A query failed inside SQLite: the cached copy is unusable. Drop it and answer 409 ArtifactCorrupted."""
    app.datasets.mark_corrupted(dataset)
    app.logger.event("error", "artifact_corrupted", "query failed on the dataset artifact", dataset=dataset.canonical)
    return ApiError(409, "ArtifactCorrupted", "dataset artifact is corrupted", {"dataset": dataset.canonical})


def genes(app: StandIn, request: Request) -> Response:
    _refuse_while_draining(app)
    query = parse_gene_query(request.params)
    reject_full_scan(query)
    reject_heavy_overreach(query)
    opened = _open(app, query.dataset)
    try:
        with opened.connection() as conn:
            page = gene_page(conn, query)
            plan = explain_genes(conn, query) if query.explain else None
    except sqlite3.DatabaseError as exc:
        raise _corrupted(app, query.dataset, exc) from exc
    data: dict[str, Any] = {
        "provenance": provenance(query.dataset, opened.manifest),
        "class": query.query_class,
        "rows": page.rows,
    }
    if plan is not None:
        data["explain"] = {"query_class": query.query_class, "sqlite_plan": plan}
    next_cursor = encode_cursor([query.sort, *page.next_key]) if page.next_key else None
    links = None
    if next_cursor:
        params = {**request.params, "cursor": next_cursor}
        links = {"next": f"/v1/genes?{urlencode(params)}"}
    body = envelope(data, dataset=query.dataset.canonical, page={"next_cursor": next_cursor}, links=links)
    response = json_response(200, body, pretty=is_true(request.params.get("pretty")))
    # Atlas's gene answers name their query class, and (with debug datasets on) the normalised request it caches
    # them under; a baseline recorded from either server then carries the same x-atlas-* headers.
    response.headers["x-atlas-query-class"] = query.query_class
    response.headers["vary"] = "accept-encoding"
    if app.settings.enable_debug_datasets:
        normalized = "&".join(f"{k}={v}" for k, v in sorted(request.params.items()))
        response.headers["x-atlas-cache-key"] = f"/v1/genes?{normalized}"
    immutable = f"public, max-age={IMMUTABLE_GENE_TTL_S}, stale-while-revalidate={IMMUTABLE_GENE_TTL_S // 2}, immutable"
    return with_etag(_sized(app, response), request.header("if-none-match"), immutable)


def genes_count(app: StandIn, request: Request) -> Response:
    _refuse_while_draining(app)
    query = parse_gene_query(request.params)
    opened = _open(app, query.dataset)
    try:
        with opened.connection() as conn:
            count = gene_count(conn, query)
    except sqlite3.DatabaseError as exc:
        raise _corrupted(app, query.dataset, exc) from exc
    body = {"dataset": query.dataset.canonical, "gene_count": count, "catalog_epoch": app.registry.catalog_epoch}
    return json_response(200, body)


def gene_transcripts(app: StandIn, request: Request) -> Response:
    _refuse_while_draining(app)
    params = request.params
    check_allowed(params, TRANSCRIPT_LIST_PARAMS)
    dataset = parse_dataset_params(params, allow_combined=False)
    limit = parse_limit(params, DEFAULT_TRANSCRIPT_LIMIT)
    after = decode_cursor(params["cursor"], "transcript_id", 1)[0] if "cursor" in params else None
    region = parse_region("region", params["region"]) if "region" in params else None
    gene_id = request.path_params["gene_id"]
    opened = _open(app, dataset, transcripts=True)
    try:
        with opened.connection() as conn:
            page = transcripts_of_gene(
                conn,
                gene_id,
                limit=limit,
                after=after,
                biotype=params.get("biotype"),
                transcript_type=params.get("type"),
                region=region,
            )
    except sqlite3.DatabaseError as exc:
        raise _corrupted(app, dataset, exc) from exc
    next_cursor = encode_cursor(["transcript_id", *page.next_key]) if page.next_key else None
    data = {"provenance": provenance(dataset, opened.manifest), "gene_id": gene_id, "rows": page.rows}
    body = envelope(data, dataset=dataset.canonical, page={"next_cursor": next_cursor})
    return with_etag(_sized(app, json_response(200, body)), request.header("if-none-match"), None)


def transcript(app: StandIn, request: Request) -> Response:
    _refuse_while_draining(app)
    params = request.params
    check_allowed(params, TRANSCRIPT_PARAMS)
    dataset = parse_dataset_params(params, allow_combined=False)
    tx_id = request.path_params["tx_id"]
    opened = _open(app, dataset, transcripts=True)
    try:
        with opened.connection() as conn:
            row = transcript_by_id(conn, tx_id)
    except sqlite3.DatabaseError as exc:
        raise _corrupted(app, dataset, exc) from exc
    if row is None:
        raise ApiError(404, "InvalidQueryParameter", f"transcript {tx_id} not found", {"transcript_id": tx_id})
    data = {"provenance": provenance(dataset, opened.manifest), "transcript": row}
    body = envelope(data, dataset=dataset.canonical)
    return json_response(200, body, pretty=is_true(params.get("pretty")))


def validate_query(app: StandIn, request: Request) -> Response:
    """Plan a gene query without running it: class, work units, limits and the reasons it would be refused."""
    try:
        raw = json.loads(request.body or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, "InvalidQueryParameter", f"body is not JSON: {exc}", {}) from exc
    if not isinstance(raw, dict) or not all(isinstance(v, str | int) for v in raw.values()):
        raise ApiError(400, "InvalidQueryParameter", "body must be a JSON object of query parameters", {})
    check_allowed(raw, GENE_PARAMS)
    query = parse_gene_query({k: str(v) for k, v in raw.items()})
    reasons: list[str] = []
    if not query.selective:
        reasons.append("QUERY_REJECTED: no selective filter (gene_id, name, name_like or range)")
    work_units = {"cheap": 1, "medium": 10, "heavy": 100}[query.query_class]
    data = {
        "dataset": query.dataset.canonical,
        "query_class": query.query_class,
        "work_units": work_units,
        "limits": {
            "max_limit": MAX_LIMIT,
            "max_range_span": MAX_RANGE_SPAN,
            "max_name_prefix_len": MAX_NAME_PREFIX_LEN,
            "max_serialization_bytes": app.settings.response_max_bytes,
        },
        "reasons": reasons,
    }
    body = envelope(data, dataset=query.dataset.canonical)
    return json_response(200, body, headers={"x-atlas-query-class": query.query_class})
