"""Operational routes: health, readiness, liveness, overload, metrics, version, OpenAPI, the HTML index and the
admin `/debug/*` routes (contract §1.2, §1.3)."""

from __future__ import annotations

import html
import time
from typing import Any

from atlas_drills.standin.app import BUILD_HASH, RUNTIME_VERSION, StandIn
from atlas_drills.standin.params import parse_dataset_params
from atlas_drills.standin.responses import (
    API_VERSION,
    CONTRACT_VERSION,
    Response,
    empty_response,
    json_response,
    text_response,
)
from atlas_drills.standin.routes import Request
from atlas_drills.store.artifact import SQLITE_SCHEMA_VERSION
from atlas_drills.store.manifest import MANIFEST_SCHEMA_VERSION

DEBUG_CACHE_CONTROL = "no-store, max-age=0"
CONFIG_SCHEMA_VERSION = "1"
COMPATIBLE_UMBRELLA = ">=0.3.0,<0.4.0"


def healthz(app: StandIn, request: Request) -> Response:
    return text_response(200, "ok")


def readyz(app: StandIn, request: Request) -> Response:
    if app.registry.is_ready_for_traffic():
        return text_response(200, "ready")
    return text_response(503, "not-ready")


def live(app: StandIn, request: Request) -> Response:
    if app.draining.is_set():
        return json_response(503, {"live": False, "draining": True})
    return json_response(200, {"live": True, "draining": False})


def overload(app: StandIn, request: Request) -> Response:
    draining = app.draining.is_set()
    body = {
        "overloaded": False,
        "ready": app.registry.is_ready_for_traffic(),
        "live": not draining,
        "draining": draining,
        "cached_only_mode": app.settings.cached_only_mode,
        "emergency_breaker": app.settings.emergency_global_breaker,
    }
    return json_response(200, body)


def metrics(app: StandIn, request: Request) -> Response:
    if not app.settings.enable_metrics_endpoint:
        return empty_response(503)
    response = text_response(200, app.metrics.render(app.gauges()))
    response.content_type = "text/plain; version=0.0.4; charset=utf-8"
    return response


def version(app: StandIn, request: Request) -> Response:
    body = {
        "api_version": API_VERSION,
        "contract_version": CONTRACT_VERSION,
        "plugin": {
            "name": "bijux-atlas",
            "version": RUNTIME_VERSION,
            "compatible_umbrella": COMPATIBLE_UMBRELLA,
            "build_hash": BUILD_HASH,
        },
        "server": {
            "crate": "bijux-atlas",
            "config_schema_version": CONFIG_SCHEMA_VERSION,
            "api_version": API_VERSION,
            "api_contract_version": CONTRACT_VERSION,
            "runtime_policy_hash": app.settings.runtime_policy_hash(),
            "artifact_schema_versions": {
                "manifest_schema_version": MANIFEST_SCHEMA_VERSION,
                "sqlite_schema_version": str(SQLITE_SCHEMA_VERSION),
            },
        },
    }
    return json_response(200, body)


_OPENAPI_PATHS = {
    "/healthz": "Liveness: text ok",
    "/readyz": "Readiness: text ready / not-ready",
    "/healthz/overload": "Overload and drain state",
    "/live": "Liveness with drain state",
    "/metrics": "Prometheus metrics",
    "/v1/version": "Runtime version and policy hash",
    "/v1/datasets": "Catalog entries, paged",
    "/v1/datasets/{release}/{species}/{assembly}": "One dataset with manifest summary",
    "/v1/genes": "Gene query (needs a selective filter)",
    "/v1/genes/count": "Gene count by dataset id (deprecated)",
    "/v1/genes/{gene_id}/transcripts": "Transcripts of a gene",
    "/v1/transcripts/{tx_id}": "One transcript",
}


def openapi(app: StandIn, request: Request) -> Response:
    paths: dict[str, Any] = {
        path: {"get": {"summary": summary, "responses": {"200": {"description": "OK"}}}}
        for path, summary in _OPENAPI_PATHS.items()
    }
    paths["/v1/genes/count"]["get"]["deprecated"] = True
    paths["/v1/query/validate"] = {
        "post": {"summary": "Plan a gene query without running it", "responses": {"200": {"description": "OK"}}}
    }
    document = {
        "openapi": "3.0.3",
        "info": {
            "title": "bijux-atlas API v1 (served by the atlas-drills stand-in)",
            "version": API_VERSION,
            "x-api-contract-version": CONTRACT_VERSION,
            "x-build-id": BUILD_HASH,
        },
        "paths": paths,
    }
    return json_response(200, document, headers={"cache-control": "public, max-age=30"})


def index(app: StandIn, request: Request) -> Response:
    snapshot = app.registry.snapshot
    items = "".join(
        f"<li>{html.escape(entry.dataset.canonical)}</li>" for entry in (snapshot.catalog.datasets if snapshot else ())
    )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>atlas-drills stand-in</title></head><body>"
        f"<h1>Datasets</h1><ul>{items}</ul><p>atlas-drills stand-in {html.escape(RUNTIME_VERSION)}</p></body></html>"
    )
    return Response(200, page.encode("utf-8"), "text/html; charset=utf-8")


# -- admin ---------------------------------------------------------------------------------------------------------
def _debug_enabled(app: StandIn) -> bool:
    # Contract §1.2 and its drill notes: these handlers need both admin and debug-datasets switches.
    return app.settings.enable_admin_endpoints and app.settings.enable_debug_datasets


def _debug(body: dict[str, Any]) -> Response:
    return json_response(200, body, headers={"cache-control": DEBUG_CACHE_CONTROL})


def _not_found() -> Response:
    return empty_response(404, {"cache-control": DEBUG_CACHE_CONTROL})


def build_metadata(app: StandIn, request: Request) -> Response:
    if not _debug_enabled(app):
        return _not_found()
    return _debug(
        {
            "build_hash": BUILD_HASH,
            "release_id": app.settings.release_id,
            "governance_version": app.settings.governance_version,
        }
    )


def dataset_health(app: StandIn, request: Request) -> Response:
    if not _debug_enabled(app):
        return _not_found()
    dataset = parse_dataset_params(request.params, allow_combined=False)
    health = app.datasets.health(dataset)
    last_open = None if health.last_open_at is None else round(time.monotonic() - health.last_open_at, 3)
    body = {
        "dataset": dataset.canonical,
        "health": {
            "cached": dataset in app.datasets.cached(),
            "checksum_verified": health.checksum_verified,
            "last_open_seconds_ago": last_open,
            "size_bytes": health.size_bytes,
            "open_failures": health.open_failures,
            "quarantined": app.datasets.is_quarantined(dataset),
        },
        "catalog_epoch": app.registry.catalog_epoch,
    }
    return _debug(body)


def dataset_registry(app: StandIn, request: Request) -> Response:
    if not _debug_enabled(app):
        return _not_found()
    snapshot = app.registry.snapshot
    ids = [entry.dataset.canonical for entry in snapshot.catalog.datasets] if snapshot else []
    return _debug({"catalog_epoch": app.registry.catalog_epoch, "dataset_count": len(ids), "datasets": ids})


def debug_datasets(app: StandIn, request: Request) -> Response:
    if not _debug_enabled(app):
        return _not_found()
    cached = app.datasets.cached()
    rows = [[d.canonical, app.datasets.health(d).size_bytes] for d in sorted(cached)]
    gauges = app.gauges()
    body = {
        "datasets": rows,
        "catalog_epoch": app.registry.catalog_epoch,
        "cache_stats": {
            "hits": gauges.cache_hits,
            "misses": gauges.cache_misses,
            "cached_datasets": gauges.cached_datasets,
            "disk_usage_bytes": gauges.cache_disk_bytes,
            "quarantined_datasets": gauges.quarantined_datasets,
        },
    }
    return _debug(body)
