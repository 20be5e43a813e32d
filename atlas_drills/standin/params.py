"""Query parameters of the gene and transcript routes, checked as Atlas checks them (contract §1.2).

`/v1/genes` takes an allowlist of parameters (unknown ones are a 400), names its dataset with `dataset=R/S/A` or
`release`+`species`+`assembly`, and rejects a query without a selective filter (`gene_id`, `name`, `name_like`,
`range`/`region`) as a full scan: 422 `QueryRejectedByPolicy`, `reason_code: QUERY_REJECTED`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from atlas_drills.standin.responses import ApiError, invalid_param
from atlas_drills.store.dataset_id import DatasetId, DatasetIdError, normalize_species

MAX_LIMIT = 500
DEFAULT_GENE_LIMIT = 100
DEFAULT_TRANSCRIPT_LIMIT = 50
# Not given by the contract: the stand-in's own limits, reported by /v1/query/validate.
MAX_RANGE_SPAN = 10_000_000
MAX_NAME_PREFIX_LEN = 128

DATASET_PARAMS = frozenset({"dataset", "release", "species", "assembly"})
GENE_PARAMS = DATASET_PARAMS | {
    "limit",
    "cursor",
    "gene_id",
    "name",
    "name_like",
    "biotype",
    "contig",
    "range",
    "region",
    "sort",
    "interval_mode",
    "strand",
    "pretty",
    "explain",
    "include",
}
TRANSCRIPT_LIST_PARAMS = frozenset({"release", "species", "assembly", "limit", "cursor", "biotype", "type", "region"})
TRANSCRIPT_PARAMS = frozenset({"release", "species", "assembly", "pretty"})
INCLUDE_FIELDS = {
    "coords": ("seqid", "start", "end"),
    "biotype": ("biotype",),
    "counts": ("transcript_count",),
    "length": ("sequence_length",),
}
SORTS = ("gene_id:asc", "region:asc")
HEAVY_PROJECTION_LIMIT = 200  # Atlas's QueryLimits::default().heavy_projection_limit


@dataclass(frozen=True)
class Region:
    seqid: str
    start: int
    end: int

    def to_json(self) -> dict[str, Any]:
        return {"seqid": self.seqid, "start": self.start, "end": self.end}


@dataclass(frozen=True)
class GeneQuery:
    dataset: DatasetId
    gene_id: str | None = None
    name: str | None = None
    name_prefix: str | None = None
    biotype: str | None = None
    contig: str | None = None
    region: Region | None = None
    sort: str = "gene_id:asc"
    limit: int = DEFAULT_GENE_LIMIT
    cursor: tuple[Any, ...] | None = None
    include: tuple[str, ...] = ()
    explain: bool = False

    @property
    def selective(self) -> bool:
        return any(v is not None for v in (self.gene_id, self.name, self.name_prefix, self.region))

    @property
    def query_class(self) -> str:
        """Atlas's `classify_query`: a gene id is cheap, a region or a name prefix heavy, anything else medium."""
        if self.gene_id is not None:
            return "cheap"
        return "heavy" if self.region is not None or self.name_prefix is not None else "medium"


def check_allowed(params: Mapping[str, str], allowed: frozenset[str]) -> None:
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ApiError(
            400,
            "InvalidQueryParameter",
            f"unknown query parameter(s): {', '.join(unknown)}",
            {"unknown": unknown, "allowed": sorted(allowed)},
        )


def parse_dataset_params(params: Mapping[str, str], *, allow_combined: bool = True) -> DatasetId:
    """The dataset named by `dataset=R/S/A` or by `release`+`species`+`assembly`."""
    combined = params.get("dataset") if allow_combined else None
    parts = {name: params.get(name) for name in ("release", "species", "assembly")}
    if combined is not None:
        if any(parts.values()):
            raise invalid_param("dataset", "give either dataset=R/S/A or release+species+assembly, not both")
        try:
            return DatasetId.parse(_normalized_id(combined))
        except DatasetIdError as exc:
            raise invalid_param("dataset", str(exc), combined) from exc
    missing = [name for name, value in parts.items() if not value]
    if missing:
        raise ApiError(
            400,
            "MissingDatasetDimension",
            f"missing dataset dimension(s): {', '.join(missing)}",
            {"missing": missing},
        )
    return dataset_from_dims(str(parts["release"]), str(parts["species"]), str(parts["assembly"]))


def dataset_from_dims(release: str, species: str, assembly: str) -> DatasetId:
    try:
        return DatasetId(release, normalize_species(species), assembly)
    except DatasetIdError as exc:
        raise ApiError(400, "InvalidQueryParameter", str(exc), {"dataset": f"{release}/{species}/{assembly}"}) from exc


def _normalized_id(text: str) -> str:
    parts = text.split("/")
    if len(parts) == 3:
        parts[1] = normalize_species(parts[1])
    return "/".join(parts)


def parse_limit(params: Mapping[str, str], default: int) -> int:
    raw = params.get("limit")
    if raw is None:
        return default
    try:
        limit = int(raw)
    except ValueError as exc:
        raise invalid_param("limit", "limit must be an integer", raw) from exc
    if not 1 <= limit <= MAX_LIMIT:
        raise invalid_param("limit", f"limit must be between 1 and {MAX_LIMIT}", raw)
    return limit


def parse_region(name: str, raw: str) -> Region:
    seqid, sep, span = raw.rpartition(":")
    start_text, dash, end_text = span.partition("-")
    try:
        start, end = int(start_text), int(end_text)
    except ValueError:
        start = end = 0
    if not sep or not dash or not seqid or start < 1 or end < start:
        raise invalid_param(name, f"{name} must be seqid:start-end with 1 <= start <= end", raw)
    if end - start + 1 > MAX_RANGE_SPAN:
        raise ApiError(
            413,
            "RangeTooLarge",
            f"{name} spans {end - start + 1} bases; the limit is {MAX_RANGE_SPAN}",
            {"parameter": name, "span": end - start + 1, "max_range_span": MAX_RANGE_SPAN},
        )
    return Region(seqid, start, end)


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(raw: str, tag: str, arity: int) -> tuple[Any, ...]:
    try:
        padded = raw + "=" * (-len(raw) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error) as exc:
        raise ApiError(400, "InvalidCursor", "cursor is not one this server issued", {"cursor": raw}) from exc
    if not isinstance(values, list) or len(values) != arity + 1 or values[0] != tag:
        raise ApiError(400, "InvalidCursor", "cursor does not belong to this query's sort order", {"cursor": raw})
    return tuple(values[1:])


def is_true(raw: str | None) -> bool:
    return raw is not None and raw.strip().lower() in {"1", "true", "yes"}


def parse_gene_query(params: Mapping[str, str]) -> GeneQuery:
    check_allowed(params, GENE_PARAMS)
    dataset = parse_dataset_params(params)
    strand = params.get("strand")
    if strand is not None and strand != "any":
        raise invalid_param("strand", "only strand=any is accepted", strand)
    interval_mode = params.get("interval_mode")
    if interval_mode is not None and interval_mode != "overlap":
        raise invalid_param("interval_mode", "the stand-in supports interval_mode=overlap only", interval_mode)
    if "range" in params and "region" in params:
        raise invalid_param("range", "give range or region, not both")
    region_name = "range" if "range" in params else "region"
    region = parse_region(region_name, params[region_name]) if region_name in params else None
    sort = params.get("sort", "gene_id:asc")
    if sort not in SORTS:
        raise invalid_param("sort", f"sort must be one of {', '.join(SORTS)}", sort)
    include = tuple(item for item in params.get("include", "").split(",") if item)
    bad = [item for item in include if item not in INCLUDE_FIELDS]
    if bad:
        raise invalid_param("include", f"unknown include field(s): {', '.join(bad)}", ",".join(bad))
    name_prefix = _name_prefix(params.get("name_like"))
    cursor_arity = 2 if sort == "gene_id:asc" else 4
    cursor = decode_cursor(params["cursor"], sort, cursor_arity) if "cursor" in params else None
    query = GeneQuery(
        dataset=dataset,
        gene_id=params.get("gene_id"),
        name=params.get("name"),
        name_prefix=name_prefix,
        biotype=params.get("biotype"),
        contig=params.get("contig"),
        region=region,
        sort=sort,
        limit=parse_limit(params, DEFAULT_GENE_LIMIT),
        cursor=cursor,
        include=include,
        explain=is_true(params.get("explain")),
    )
    return query


def _name_prefix(raw: str | None) -> str | None:
    if raw is None:
        return None
    if not raw.endswith("*") or "*" in raw[:-1] or "?" in raw:
        raise invalid_param("name_like", "name_like is a prefix ending in '*', for example BRCA*", raw)
    prefix = raw[:-1]
    if len(prefix) > MAX_NAME_PREFIX_LEN:
        raise invalid_param("name_like", f"name_like prefix is longer than {MAX_NAME_PREFIX_LEN}", raw)
    return prefix or None


def reject_heavy_overreach(query: GeneQuery) -> None:
    """Atlas refuses a heavy query asking for more rows than its heavy projection limit (200 by default)."""
    if query.query_class == "heavy" and query.limit > HEAVY_PROJECTION_LIMIT:
        raise ApiError(
            422,
            "QueryRejectedByPolicy",
            "heavy projection limit exceeded",
            {"limit": query.limit, "max": HEAVY_PROJECTION_LIMIT},
        )


def reject_full_scan(query: GeneQuery) -> None:
    if not query.selective:
        raise ApiError(
            422,
            "QueryRejectedByPolicy",
            "query has no selective filter and would scan the whole dataset; add gene_id, name, name_like or range",
            {"reason_code": "QUERY_REJECTED", "query_class": query.query_class},
        )
