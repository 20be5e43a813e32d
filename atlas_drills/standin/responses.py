"""Responses in Atlas's shapes (contract §1.4): the success envelope, the error body, and the common headers.

- Envelope: `{api_version, contract_version, dataset, page, data, links[, meta]}`.
- Error body: `{"error": {code, message, details, request_id}}`; 429 and 503 carry `retry-after: 3`.
- JSON is `application/json; charset=utf-8`; text endpoints stay `text/plain`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from atlas_drills.store.canonical import sha256_hex

API_VERSION = "v1"
CONTRACT_VERSION = "v1"
JSON_TYPE = "application/json; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"
RETRY_AFTER_SECONDS = "3"


class ApiError(Exception):
    """An error answer: HTTP status, Atlas `ApiErrorCode`, message and details."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}


def invalid_param(name: str, message: str, value: Any = None) -> ApiError:
    details: dict[str, Any] = {"parameter": name}
    if value is not None:
        details["value"] = value
    return ApiError(400, "InvalidQueryParameter", message, details)


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)

    def header_items(self) -> list[tuple[str, str]]:
        items = list(self.headers.items())
        if self.content_type is not None:
            items.insert(0, ("content-type", self.content_type))
        if self.status in (429, 503) and "retry-after" not in self.headers:
            items.append(("retry-after", RETRY_AFTER_SECONDS))
        return items


def dump_json(value: Any, *, pretty: bool = False) -> bytes:
    if pretty:
        return json.dumps(value, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def json_response(status: int, value: Any, *, pretty: bool = False, headers: dict[str, str] | None = None) -> Response:
    return Response(status, dump_json(value, pretty=pretty), JSON_TYPE, dict(headers or {}))


def text_response(status: int, text: str) -> Response:
    return Response(status, text.encode("utf-8"), TEXT_TYPE)


def empty_response(status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(status, b"", None, dict(headers or {}))


def envelope(
    data: dict[str, Any],
    *,
    dataset: str | None = None,
    page: dict[str, Any] | None = None,
    links: dict[str, Any] | None = None,
    warnings: list[str] | None = None,
) -> dict[str, Any]:
    # Atlas names the dataset of an answer as an object, {assembly, release, species}.
    named: dict[str, str] | None = None
    if dataset is not None:
        release, species, assembly = dataset.split("/")
        named = {"assembly": assembly, "release": release, "species": species}
    out: dict[str, Any] = {
        "api_version": API_VERSION,
        "contract_version": CONTRACT_VERSION,
        "dataset": named,
        "page": page,
        "data": data,
        "links": links,
    }
    if warnings:
        out["meta"] = {"warnings": warnings}
    return out


def error_response(error: ApiError, request_id: str) -> Response:
    body = {
        "error": {
            "code": error.code,
            "message": error.message,
            "details": error.details,
            "request_id": request_id,
        }
    }
    return json_response(error.status, body)


def etag_of(body: bytes) -> str:
    return f'"{sha256_hex(body)}"'


def with_etag(response: Response, if_none_match: str | None, cache_control: str | None) -> Response:
    """Add `etag` = `"sha256(body)"` and answer 304 (no body) when the client already holds it."""
    tag = etag_of(response.body)
    headers = {"etag": tag}
    if cache_control:
        headers["cache-control"] = cache_control
    if if_none_match is not None and _matches(if_none_match, tag):
        return empty_response(304, headers)
    response.headers.update(headers)
    return response


def _matches(if_none_match: str, tag: str) -> bool:
    candidates = [item.strip() for item in if_none_match.split(",")]
    return "*" in candidates or tag in candidates or f"W/{tag}" in candidates
