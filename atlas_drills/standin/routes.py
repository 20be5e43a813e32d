"""The route table and the request pipeline around every handler (Atlas's middleware stack, contract §1.3-1.6).

Order: request id → request limits (URI bytes, parameter count) → HTTPS requirement → emergency breaker → access
policy (Atlas's embedded policy: routes it does not list answer 403) → route → heavy-endpoint switch → handler →
provenance headers → `x-request-id`/`x-trace-id` → metrics.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from urllib.parse import parse_qsl

from atlas_drills.standin.app import StandIn
from atlas_drills.standin.params import dataset_from_dims
from atlas_drills.standin.policy import check_access
from atlas_drills.standin.responses import ApiError, Response, empty_response, error_response
from atlas_drills.store.dataset_id import dataset_hash

MAX_QUERY_PARAMS = 64
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_BREAKER_EXEMPT = frozenset({"/healthz", "/healthz/overload", "/readyz", "/metrics"})
_HEAVY = frozenset({"/v1/genes"})


@dataclass
class Request:
    method: str
    path: str
    query_string: str
    headers: Message
    body: bytes = b""
    request_id: str = ""
    path_params: dict[str, str] = field(default_factory=dict)
    route_template: str = "unmatched"
    _params: dict[str, str] | None = None

    @property
    def params(self) -> dict[str, str]:
        """Query parameters; a repeated parameter is a 400 (one value each, as Atlas's typed extractors take)."""
        if self._params is None:
            pairs = parse_qsl(self.query_string, keep_blank_values=True)
            params: dict[str, str] = {}
            for name, value in pairs:
                if name in params:
                    raise ApiError(
                        400, "InvalidQueryParameter", f"parameter {name} given more than once", {"parameter": name}
                    )
                params[name] = value
            self._params = params
        return self._params

    def header(self, name: str) -> str | None:
        value = self.headers.get(name)
        return str(value) if value is not None else None


Handler = Callable[[StandIn, Request], Response]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler


def route(method: str, template: str, handler: Handler) -> Route:
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return Route(method, template, re.compile(f"^{regex}$"), handler)


class Router:
    def __init__(self, routes: list[Route]) -> None:
        self.routes = routes

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], list[str]]:
        """The route for this request, its path parameters, and the methods the path allows."""
        allowed: list[str] = []
        for candidate in self.routes:
            found = candidate.pattern.match(path)
            if found is None:
                continue
            if candidate.method == method or (method == "HEAD" and candidate.method == "GET"):
                return candidate, found.groupdict(), []
            allowed.append(candidate.method)
        return None, {}, allowed


def _request_id(request: Request) -> str:
    given = request.header("x-request-id")
    if given and _REQUEST_ID.fullmatch(given):
        return given
    return f"req-{secrets.token_hex(8)}"


def dispatch(app: StandIn, router: Router, request: Request) -> Response:
    started = time.perf_counter()
    request.request_id = _request_id(request)
    error_code: str | None = None
    try:
        response = _run(app, router, request)
    except ApiError as error:
        response = error_response(error, request.request_id)
        error_code = error.code
    except Exception as exc:  # the last line of defence: answer 500
        app.logger.event("error", "internal_error", "request failed", path=request.path, error=repr(exc))
        response = error_response(ApiError(500, "Internal", "internal error", {}), request.request_id)
        error_code = "Internal"
    _add_provenance_headers(app, request, response)
    response.headers["x-request-id"] = request.request_id
    response.headers["x-trace-id"] = secrets.token_hex(16)
    app.metrics.record(
        request.route_template, request.method, response.status, time.perf_counter() - started, error_code
    )
    app.logger.event(
        "debug",
        "http_request",
        "request served",
        method=request.method,
        path=request.path,
        status=response.status,
        request_id=request.request_id,
    )
    return response


def _run(app: StandIn, router: Router, request: Request) -> Response:
    settings = app.settings
    uri_bytes = len(request.path.encode()) + len(request.query_string.encode()) + 1
    if uri_bytes > settings.max_uri_bytes:
        raise ApiError(
            400,
            "QueryRejectedByPolicy",
            f"request URI is {uri_bytes} bytes; the limit is {settings.max_uri_bytes}",
            {"reason_code": "URI_TOO_LONG"},
        )
    if request.query_string.count("&") + 1 > MAX_QUERY_PARAMS:
        raise ApiError(400, "QueryRejectedByPolicy", f"more than {MAX_QUERY_PARAMS} query parameters", {})
    if settings.require_https and (request.header("x-forwarded-proto") or "").lower() != "https":
        raise ApiError(426, "QueryRejectedByPolicy", "HTTPS required", {"reason_code": "HTTPS_REQUIRED"})
    if settings.emergency_global_breaker and request.path not in _BREAKER_EXEMPT:
        raise ApiError(503, "NotReady", "emergency global breaker is engaged", {"retryable": True})
    check_access(request.path)
    matched, path_params, allowed = router.match(request.method, request.path)
    if matched is None:
        if allowed:
            return empty_response(405, {"allow": ", ".join(sorted(set(allowed)))})
        return empty_response(404)
    request.route_template = matched.template
    if settings.disable_heavy_endpoints and matched.template in _HEAVY:
        raise ApiError(503, "QueryRejectedByPolicy", "heavy endpoints are disabled", {"retryable": True})
    request.path_params = path_params
    return matched.handler(app, request)


def _add_provenance_headers(app: StandIn, request: Request, response: Response) -> None:
    """`x-atlas-dataset-hash`, `x-atlas-artifact-hash` (= `dataset_signature_sha256`), `x-atlas-release`: only when
    the URL names a dataset through `release`/`species`/`assembly` params or the `/v1/releases/...` path form."""
    dims: tuple[str, str, str] | None = None
    if request.path.startswith("/v1/releases/"):
        parts = request.path.split("/")
        if len(parts) == 8 and parts[4] == "species" and parts[6] == "assemblies":
            dims = (parts[3], parts[5], parts[7])
    else:
        try:
            params = request.params
        except ApiError:
            return
        if all(params.get(name) for name in ("release", "species", "assembly")):
            dims = (params["release"], params["species"], params["assembly"])
    if dims is None:
        return
    try:
        dataset = dataset_from_dims(*dims)
    except ApiError:
        return
    response.headers["x-atlas-dataset-hash"] = dataset_hash(dataset.canonical)
    response.headers["x-atlas-release"] = dataset.release
    manifest = app.datasets.peek_manifest(dataset)
    if manifest is not None:
        response.headers["x-atlas-artifact-hash"] = manifest.dataset_signature_sha256
