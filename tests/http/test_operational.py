"""Health, readiness, liveness, overload, metrics, version, OpenAPI and the admin routes of the stand-in."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from atlas_drills.sample import SampleRelease
from tests.http.conftest import StandIn, StartStandIn
from tests.http.expect import dims

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_SAMPLE_LINE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)\{(?P<labels>[^}]*)\} (?P<value>\S+)$")


def test_healthz_and_readyz_answer_text(shared_standin: StandIn) -> None:
    for path, body in (("/healthz", "ok"), ("/readyz", "ready")):
        response = shared_standin.get(path)
        assert (response.status_code, response.text) == (200, body), path
        assert response.headers["content-type"].startswith("text/plain"), path


@pytest.mark.parametrize("path", ["/live", "/health", "/ready", "/", "/v1/nothing-here", "/debug/nothing"])
def test_routes_atlas_policy_does_not_list_are_forbidden(shared_standin: StandIn, path: str) -> None:
    """Atlas's embedded access policy denies by default: these answer 403 there, served route or not."""
    response = shared_standin.get(path)
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert (error["code"], error["message"]) == ("AccessForbidden", "request denied by access policy")
    assert set(error["details"]) == {"action", "resource_kind"}


@pytest.mark.parametrize("path", ["/healthz/overload", "/metrics", "/v1/version", "/v1/datasets", "/debug/datasets"])
def test_routes_atlas_policy_lists_are_served(shared_standin: StandIn, path: str) -> None:
    assert shared_standin.get(path).status_code == 200, path


def test_every_response_carries_request_and_trace_ids(shared_standin: StandIn) -> None:
    for path in ("/healthz", "/v1/version", "/no/such/route", "/v1/genes?unknown=1"):
        response = shared_standin.get(path)
        assert _REQUEST_ID.fullmatch(response.headers["x-request-id"]), path
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-trace-id"]), path


def test_a_valid_client_request_id_is_echoed(shared_standin: StandIn) -> None:
    response = shared_standin.get("/v1/genes?unknown=1", headers={"x-request-id": "drill-42"})
    assert response.headers["x-request-id"] == "drill-42"
    assert response.json()["error"]["request_id"] == "drill-42"


def test_overload_reports_a_serving_process(shared_standin: StandIn) -> None:
    overload = shared_standin.get("/healthz/overload")
    assert overload.status_code == 200
    assert overload.json() == {
        "overloaded": False,
        "ready": True,
        "live": True,
        "draining": False,
        "cached_only_mode": False,
        "emergency_breaker": False,
    }


def test_version_has_atlas_shape(shared_standin: StandIn) -> None:
    response = shared_standin.get("/v1/version")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    assert body["api_version"] == body["contract_version"] == "v1"
    assert set(body["plugin"]) == {"name", "version", "compatible_umbrella", "build_hash"}
    assert body["plugin"]["build_hash"] == "unversioned"
    assert body["plugin"]["version"].endswith("+standin"), "the runtime version must say it is the stand-in"
    server = body["server"]
    assert server["config_schema_version"] == "1"
    assert server["artifact_schema_versions"] == {"manifest_schema_version": "1", "sqlite_schema_version": "4"}
    assert re.fullmatch(r"[0-9a-f]{64}", server["runtime_policy_hash"])


def test_runtime_policy_hash_follows_policy_not_locations(
    start_standin: StartStandIn, sample_release: SampleRelease
) -> None:
    first = start_standin(sample_release.store_root).get("/v1/version").json()["server"]["runtime_policy_hash"]
    other_cache = start_standin(sample_release.store_root).get("/v1/version").json()["server"]
    changed = start_standin(sample_release.store_root, env={"ATLAS_SHUTDOWN_DRAIN_MS": "301"})
    assert other_cache["runtime_policy_hash"] == first, "a different cache root is not a policy change"
    assert changed.get("/v1/version").json()["server"]["runtime_policy_hash"] != first


def test_openapi_names_the_build(shared_standin: StandIn) -> None:
    response = shared_standin.get("/v1/openapi.json")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=30"
    document = response.json()
    assert document["openapi"] == "3.0.3"
    assert document["info"]["version"] == "v1"
    assert document["info"]["x-build-id"] == shared_standin.get("/v1/version").json()["plugin"]["build_hash"]
    assert "/v1/genes" in document["paths"]


def test_wrong_method_is_405(shared_standin: StandIn) -> None:
    response = shared_standin.post("/v1/datasets")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"


def test_metrics_label_every_sample_and_count_requests(shared_standin: StandIn) -> None:
    shared_standin.get("/v1/version")
    response = shared_standin.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    version = shared_standin.get("/v1/version").json()["plugin"]["version"]
    samples = [line for line in response.text.splitlines() if line and not line.startswith("#")]
    assert samples
    for line in samples:
        match = _SAMPLE_LINE.match(line)
        assert match, line
        labels = match["labels"]
        assert 'subsystem="atlas"' in labels, line
        assert f'version="{version}"' in labels, line
        assert 'dataset="all"' in labels, line
    wanted = 'http_requests_total{subsystem="atlas",version="%s",dataset="all",route="/v1/version",method="GET",'
    assert any(line.startswith(wanted % version) and 'status="200",class="2xx"}' in line for line in samples)


def test_metrics_endpoint_can_be_disabled(start_standin: StartStandIn, sample_release: SampleRelease) -> None:
    standin = start_standin(sample_release.store_root, env={"ATLAS_ENABLE_METRICS_ENDPOINT": "false"})
    response = standin.get("/metrics")
    assert (response.status_code, response.content) == (503, b"")
    assert response.headers["retry-after"] == "3"


def test_build_metadata_names_the_release(shared_standin: StandIn, sample_release: SampleRelease) -> None:
    response = shared_standin.get("/debug/build-metadata")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store, max-age=0"
    assert response.json() == {
        "build_hash": "unversioned",
        "release_id": sample_release.release_id,
        "governance_version": sample_release.governance_version,
    }


def test_debug_dataset_routes(shared_standin: StandIn, sample_release: SampleRelease) -> None:
    dataset = sample_release.current
    assert shared_standin.get(f"/v1/genes/count?{dims(dataset)}").status_code == 200  # opens the dataset
    epoch = shared_standin.get(f"/v1/genes/count?{dims(dataset)}").json()["catalog_epoch"]
    health = shared_standin.get(f"/debug/dataset-health?{dims(dataset)}")
    assert health.headers["cache-control"] == "no-store, max-age=0"
    body = health.json()
    assert body["dataset"] == dataset.canonical
    assert body["catalog_epoch"] == epoch
    assert body["health"]["cached"] is True
    assert body["health"]["checksum_verified"] is True
    assert body["health"]["quarantined"] is False
    assert body["health"]["size_bytes"] > 0
    registry = shared_standin.get("/debug/dataset-registry").json()
    assert registry == {
        "catalog_epoch": epoch,
        "dataset_count": len(sample_release.datasets),
        "datasets": sorted(d.canonical for d in sample_release.datasets),
    }
    cached = shared_standin.get("/debug/datasets").json()
    assert [dataset.canonical, body["health"]["size_bytes"]] in cached["datasets"]
    assert cached["catalog_epoch"] == epoch
    assert shared_standin.get("/debug/dataset-health?release=1").status_code == 400


def test_admin_routes_are_404_unless_both_switches_are_on(
    start_standin: StartStandIn, sample_release: SampleRelease
) -> None:
    routes = ("/debug/build-metadata", "/debug/dataset-registry", "/debug/datasets")
    off = start_standin(sample_release.store_root)
    admin_only = start_standin(sample_release.store_root, env={"ATLAS_ENABLE_ADMIN_ENDPOINTS": "true"})
    for path in routes:
        assert off.get(path).status_code == 404, path
        assert admin_only.get(path).status_code == 404, path


def test_startup_logs_carry_release_identity_and_no_secrets(
    start_standin: StartStandIn, sample_release: SampleRelease, tmp_path: Path
) -> None:
    secret = "s3cr3t-bearer-value"  # noqa: S105 - a fake value, to prove it never reaches the log
    standin = start_standin(
        sample_release.store_root,
        env={
            "ATLAS_RELEASE_ID": sample_release.release_id,
            "ATLAS_GOVERNANCE_VERSION": sample_release.governance_version,
            "ATLAS_STORE_HTTP_BEARER": secret,
        },
    )
    (config,) = standin.events("config_loaded")
    assert config["fields"]["release_id"] == sample_release.release_id
    assert config["fields"]["effective_config"]["ATLAS_STORE_HTTP_BEARER"] == "<redacted>"
    (startup,) = standin.events("startup")
    assert startup["message"] == "stand-in listening"
    assert startup["fields"]["governance_version"] == sample_release.governance_version
    assert standin.base_url.endswith(startup["fields"]["bind_addr"])
    assert startup["fields"]["bind_addr"].startswith("127.0.0.1:")
    assert secret not in standin.log


def test_safety_valves(start_standin: StartStandIn, sample_release: SampleRelease) -> None:
    d = sample_release.current
    breaker = start_standin(sample_release.store_root, env={"ATLAS_EMERGENCY_GLOBAL_BREAKER": "true"})
    for path in ("/healthz", "/healthz/overload", "/readyz", "/metrics"):
        assert breaker.get(path).status_code == 200, path
    refused = breaker.get("/v1/datasets")
    assert (refused.status_code, refused.json()["error"]["code"]) == (503, "NotReady")
    assert breaker.get("/healthz/overload").json()["emergency_breaker"] is True
    heavy_off = start_standin(sample_release.store_root, env={"ATLAS_DISABLE_HEAVY_ENDPOINTS": "true"})
    assert heavy_off.get(f"/v1/genes?{dims(d)}&gene_id=x").status_code == 503
    assert heavy_off.get(f"/v1/genes/count?{dims(d)}").status_code == 200


def test_oversized_answers_are_413(start_standin: StartStandIn, sample_release: SampleRelease) -> None:
    standin = start_standin(sample_release.store_root, env={"ATLAS_RESPONSE_MAX_BYTES": "200"})
    response = standin.get("/v1/datasets")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "ResponseTooLarge"


def test_over_long_uris_are_refused(shared_standin: StandIn) -> None:
    response = shared_standin.get("/v1/datasets?release=" + "1" * 3000)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "QueryRejectedByPolicy"
