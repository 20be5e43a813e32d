"""The requests the drills make, enumerated from one restored tree, and what each drill reads of the answer.

Every request of `drills/` is here (a self-test parses the drills and fails when one is missing): the readiness
paths, the release identity paths, the catalog listings, every baseline query of `baseline/queries.json`, and the
sampled gene, transcript and range lookups of every dataset. `reads` names the parts of an answer a drill compares:
a difference there can change a verdict; a difference anywhere else cannot.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from atlas_drills.backup.baseline import BASELINE_MEMBER, drop_volatile, stable_headers
from atlas_drills.client import Answer
from atlas_drills.store.artifact import TRANSCRIPT_ROW_FIELDS, open_read_only
from atlas_drills.store.catalog import parse_catalog
from atlas_drills.store.dataset_id import DatasetId
from atlas_drills.store.layout import CATALOG_FILE, sqlite_path

Read = Callable[[Answer], Any]
GENES_PER_DATASET = 5  # as drills/test_query_paths.py samples
GENE_FIELDS = ("gene_id", "name", "seqid", "start", "end", "biotype", "transcript_count")
READINESS_FLAGS = ("ready", "live", "draining", "overloaded", "cached_only_mode")


@dataclass(frozen=True)
class Probe:
    name: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    reads: dict[str, Read] = field(default_factory=dict)


@dataclass(frozen=True)
class Relation:
    """A drill check that relates two answers of the same server (e.g. OpenAPI build id == version build hash)."""

    name: str
    holds: Callable[[dict[str, Answer]], Any]


def status(answer: Answer) -> int:
    return answer.status


def text(answer: Answer) -> str:
    return answer.text.strip()


def at(*keys: str) -> Read:
    """The JSON value at a path of keys; None where the path does not exist."""

    def read(answer: Answer) -> Any:
        value: Any = answer.json() if answer.status == 200 else {}
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        return value

    return read


def header(name: str) -> Read:
    return lambda answer: answer.headers.get(name)


def rows(*fields: str, sort: bool = False) -> Read:
    def read(answer: Answer) -> Any:
        found = at("data", "rows")(answer) or []
        picked = [{k: row.get(k) for k in fields} for row in found if isinstance(row, dict)]
        if "cds_present" in fields:
            picked = [{**row, "cds_present": bool(row.get("cds_present"))} for row in picked]
        return sorted(picked, key=lambda r: [str(v) for v in r.values()]) if sort else picked

    return read


def _dataset_key(item: Any) -> str:
    dataset = item.get("dataset", {}) if isinstance(item, dict) else {}
    return "/".join(str(dataset.get(k)) for k in ("release", "species", "assembly"))


def _live_or_denied(answer: Answer) -> Any:
    return "live or denied" if answer.status in (200, 403) else [answer.status, answer.text[:200]]


def _version_labels(answer: Answer) -> list[str]:
    return sorted(set(re.findall(r'version="([^"]*)"', answer.text)))


def service_probes() -> list[Probe]:
    """What the readiness and release identity drills ask of any restored service."""
    return [
        Probe("healthz", "/healthz", reads={"status": status, "body": text}),
        Probe("readyz", "/readyz", reads={"status": status, "body": text}),
        Probe(
            "overload flags",
            "/healthz/overload",
            reads={"status": status, **{flag: at(flag) for flag in READINESS_FLAGS}},
        ),
        Probe("live", "/live", reads={"served or denied": _live_or_denied}),
        Probe(
            "build metadata",
            "/debug/build-metadata",
            reads={"status": status, "release_id": at("release_id"), "governance_version": at("governance_version")},
        ),
        Probe(
            "version",
            "/v1/version",
            reads={
                "status": status,
                "api_version": at("api_version"),
                "contract_version": at("contract_version"),
                "artifact_schema_versions": at("server", "artifact_schema_versions"),
                "config_schema_version": at("server", "config_schema_version"),
            },
        ),
        Probe("metrics", "/metrics", reads={}),
        Probe("openapi", "/v1/openapi.json", reads={}),
        Probe(
            "datasets",
            "/v1/datasets",
            {"limit": "500"},
            reads={"status": status, "items": at("data", "items"), "returned": at("data", "stats", "returned")},
        ),
        Probe(
            "datasets with bill of materials",
            "/v1/datasets",
            {"limit": "500", "include_bom": "1"},
            reads={
                "checksums": lambda a: {
                    _dataset_key(i): (i.get("bill_of_materials") or {}).get("checksums")
                    for i in at("data", "items")(a) or []
                }
            },
        ),
    ]


def relations() -> list[Relation]:
    """Checks that compare one server's answers with each other: their truth must agree between servers."""

    def metrics_carry_version(answers: dict[str, Answer]) -> bool:
        return bool(_version_labels(answers["metrics"]) == [at("plugin", "version")(answers["version"])])

    def openapi_build_id(answers: dict[str, Answer]) -> bool:
        built = at("plugin", "build_hash")(answers["version"])
        return bool(at("info", "x-build-id")(answers["openapi"]) == built)

    return [
        Relation("metrics carry the runtime version", metrics_carry_version),
        Relation("OpenAPI build id is the build hash", openapi_build_id),
    ]


def dataset_probes(store: Path, dataset: DatasetId) -> list[Probe]:
    """What the release identity, rollback and query path drills ask about one dataset."""
    params = {"release": dataset.release, "species": dataset.species, "assembly": dataset.assembly}
    summary = at("data", "item", "metadata", "manifest_summary")
    probes = [
        Probe(
            f"{dataset.canonical} detail",
            f"/v1/datasets/{dataset.canonical}",
            reads={
                "status": status,
                "x-dataset-identity-sha256": header("x-dataset-identity-sha256"),
                "manifest summary": lambda a: [
                    (summary(a) or {}).get(k) for k in ("identity_release_id", "identity_sha256")
                ],
            },
        ),
        Probe(
            f"{dataset.canonical} gene count",
            "/v1/genes/count",
            params,
            reads={"gene_count": at("gene_count"), "catalog_epoch": at("catalog_epoch")},
        ),
    ]
    connection = open_read_only(sqlite_path(store, dataset))
    try:
        count = connection.execute("SELECT count(*) FROM gene_summary").fetchone()[0]
        offsets = sorted({(i * count) // GENES_PER_DATASET for i in range(GENES_PER_DATASET)}) if count else []
        for offset in offsets:
            gene = connection.execute(
                'SELECT gene_id, seqid, start, "end" FROM gene_summary ORDER BY gene_id LIMIT 1 OFFSET ?', (offset,)
            ).fetchone()
            probes.extend(_gene_probes(connection, dataset, params, gene))
    finally:
        connection.close()
    return probes


def _gene_probes(
    connection: sqlite3.Connection, dataset: DatasetId, params: dict[str, str], gene: tuple[str, str, int, int]
) -> list[Probe]:
    gene_id, seqid, start, end = gene
    name = f"{dataset.canonical} {gene_id}"
    first = connection.execute(
        "SELECT transcript_id FROM transcript_summary WHERE parent_gene_id = ? ORDER BY transcript_id LIMIT 1",
        (gene_id,),
    ).fetchone()
    probes = [
        Probe(
            f"{name} lookup",
            "/v1/genes",
            {**params, "gene_id": gene_id, "include": "coords,biotype,counts"},
            reads={
                "rows": rows(*GENE_FIELDS),
                "provenance dataset_hash": at("data", "provenance", "dataset_hash"),
                "x-atlas-dataset-hash": header("x-atlas-dataset-hash"),
                "x-atlas-release": header("x-atlas-release"),
            },
        ),
        Probe(
            f"{name} transcripts",
            f"/v1/genes/{gene_id}/transcripts",
            {**params, "limit": "500"},
            reads={"rows": rows(*TRANSCRIPT_ROW_FIELDS, sort=True)},
        ),
        Probe(
            f"{name} range",
            "/v1/genes",
            {**params, "range": f"{seqid}:{start}-{end}", "limit": "200"},
            reads={"gene ids": lambda a: sorted(str(r.get("gene_id")) for r in at("data", "rows")(a) or [])},
        ),
    ]
    if first is not None:
        probes.append(
            Probe(
                f"{name} transcript {first[0]}",
                f"/v1/transcripts/{first[0]}",
                params,
                reads={"parent_gene_id": at("data", "transcript", "parent_gene_id")},
            )
        )
    return probes


def baseline_probes(staging: Path) -> list[Probe]:
    """Every recorded query of `baseline/queries.json`: the drill replays it and compares it whole."""
    import json

    path = staging / BASELINE_MEMBER
    if not path.is_file():
        return []
    baseline = json.loads(path.read_text(encoding="utf-8"))
    probes = []
    for dataset in baseline.get("datasets", []):
        for query in dataset.get("queries", []):
            names = tuple(stable_headers(query.get("headers", {})))
            probes.append(
                Probe(
                    f"baseline {dataset['dataset']} {query['name']} {query['path']} {sorted(query['query'].items())}",
                    query["path"],
                    dict(query["query"]),
                    reads={
                        "status": status,
                        "response": lambda a: drop_volatile(a.json()) if a.body[:1] in (b"{", b"[") else a.text,
                        **{f"header {n}": header(n) for n in names},
                    },
                )
            )
    return probes


def all_probes(staging: Path) -> list[Probe]:
    """Every request the drills make of a service serving `staging` (a restored backup)."""
    store = staging / "store"
    catalog = parse_catalog((store / CATALOG_FILE).read_bytes())
    probes = service_probes()
    for dataset in catalog.dataset_ids():
        probes.extend(dataset_probes(store, dataset))
    probes += baseline_probes(staging)
    names = [probe.name for probe in probes]
    # Answers are kept by probe name: two probes of one name would compare one answer twice.
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"conformance probes named twice: {duplicates}")
    return probes
