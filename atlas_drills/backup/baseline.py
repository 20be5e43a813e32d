"""`baseline/queries.json`: what the live service answered at backup time, for a drill to replay after restore.

The questions come from the backed-up data itself (the SQLite snapshots in the backup, never the live files), so a
replay knows exactly what to ask: a sorted, seeded sample of gene ids per dataset. Requests go only to the given
base URL, with proxies from the environment ignored.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, urlsplit

from atlas_drills.backup.errors import BackupCreateError
from atlas_drills.backup.manifest import schema_findings
from atlas_drills.backup.sources import PlannedFile
from atlas_drills.store.catalog import parse_catalog
from atlas_drills.store.dataset_id import DatasetId
from atlas_drills.store.layout import CATALOG_FILE, sqlite_relpath

BASELINE_MEMBER: Final = "baseline/queries.json"
FORMAT: Final = "atlas-baseline-queries/1"
SCHEMA: Final = "baseline-queries.schema.json"
SEED: Final = "atlas-backup/1"
VOLATILE_FIELDS: Final = ("request_id", "trace_id")
STABLE_HEADER_PREFIXES: Final = ("x-atlas-", "x-dataset-identity-")
# Atlas sends these debug headers only when a gene answer is not served from its hot query cache
# (genes_response_finalize.rs): whether they appear depends on what was asked before, not on the data served.
CACHE_STATE_HEADERS: Final = frozenset({"x-atlas-cache-key", "x-atlas-artifact-hash"})


def stable_headers(names: Iterable[str]) -> list[str]:
    """The header names a recorded answer pins: Atlas's own x-atlas-* and identity headers, except those whose
    presence reflects the state of its query cache."""
    return [name for name in names if name.startswith(STABLE_HEADER_PREFIXES) and name not in CACHE_STATE_HEADERS]


INCLUDE: Final = "coords,biotype,counts"
_TIMEOUT: Final = (5.0, 30.0)  # connect, read (seconds)


def base_url_of(url: str) -> str:
    """scheme://host[:port], refusing credentials, paths or anything but http(s)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BackupCreateError(f"--baseline-from {url!r}: expected http(s)://host:port of a running service")
    if parts.username or parts.password:
        raise BackupCreateError("--baseline-from: credentials in the URL would be recorded in the backup; drop them")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise BackupCreateError(f"--baseline-from {url!r}: give only scheme://host:port, no path or query")
    return f"{parts.scheme}://{parts.netloc}"


def drop_volatile(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: drop_volatile(v) for k, v in value.items() if k not in VOLATILE_FIELDS}
    if isinstance(value, list):
        return [drop_volatile(item) for item in value]
    return value


def sample_genes(snapshot: Path, dataset: DatasetId, size: int) -> list[tuple[str, str, int, int]]:
    """A deterministic sample of (gene_id, seqid, start, end): sorted ids, sampled with a seed naming the
    dataset, returned sorted. The same backup always yields the same questions."""
    # immutable: a WAL-format snapshot opens without creating -wal/-shm files (the snapshot is checkpointed);
    # absolute(): a file URI cannot be relative, and the snapshot sits beside a possibly relative --out.
    connection = sqlite3.connect(f"{snapshot.absolute().as_uri()}?mode=ro&immutable=1", uri=True)
    try:
        rows = connection.execute("SELECT gene_id, seqid, start, end FROM gene_summary ORDER BY gene_id").fetchall()
    finally:
        connection.close()
    chooser = random.Random(f"{SEED}:{dataset.canonical}")  # noqa: S311 - reproducible choice, not security
    return sorted(chooser.sample(rows, min(size, len(rows))))


class _Recorder:
    def __init__(self, base_url: str) -> None:
        import requests

        self._base = base_url
        self._session = requests.Session()
        self._session.trust_env = False  # never route through an environment proxy: only the given URL is asked

    def get(self, name: str, path: str, query: dict[str, str]) -> dict[str, Any]:
        import requests

        try:
            response = self._session.get(self._base + path, params=query, timeout=_TIMEOUT, allow_redirects=False)
        except requests.RequestException as exc:
            raise BackupCreateError(f"baseline: GET {self._base}{path} failed: {exc}. Is the service running?") from exc
        try:
            body = response.json()
        except ValueError as exc:
            raise BackupCreateError(
                f"baseline: GET {path} answered {response.status_code} with non-JSON: {response.text[:200]!r}"
            ) from exc
        if response.status_code != 200:
            raise BackupCreateError(
                f"baseline: GET {path}?{response.request.path_url.partition('?')[2]} answered "
                f"{response.status_code}, expected 200: {json.dumps(body)[:300]}. A baseline must record a "
                "service that serves this store: check --baseline-from points at it and it is ready."
            )
        lowered = {k.lower(): v for k, v in response.headers.items()}
        headers = {name: lowered[name] for name in stable_headers(lowered)}
        return {
            "name": name,
            "path": path,
            "query": query,
            "status": response.status_code,
            "headers": dict(sorted(headers.items())),
            "response": drop_volatile(body),
        }

    def close(self) -> None:
        self._session.close()


DATASET_PIN_QUERY: Final = {"include_bom": "true"}


def dataset_path(dataset: DatasetId) -> str:
    return f"/v1/datasets/{dataset.canonical}"


def _mapping(value: Any, key: str) -> dict[str, Any]:
    inner = value.get(key) if isinstance(value, dict) else None
    return inner if isinstance(inner, dict) else {}


def dataset_pins(headers: dict[str, str], body: Any) -> dict[str, Any]:
    """What pins a dataset's bytes in the service's answer about it: its identity hash (header and manifest summary)
    and its artifact digests (item and bill of materials). Only these are pinned, not the whole answer: the rest
    (links, the endpoints a build offers) describes the server, not the backed-up data."""
    data = _mapping(body, "data")
    item = _mapping(data, "item")
    summary = _mapping(_mapping(item, "metadata"), "manifest_summary")
    bom = _mapping(item, "bill_of_materials")
    return {
        "x-dataset-identity-sha256": headers.get("x-dataset-identity-sha256"),
        "identity_sha256": summary.get("identity_sha256"),
        "artifact_hash": item.get("artifact_hash"),
        "artifact_db_hash": item.get("artifact_db_hash"),
        "checksums": item.get("checksums"),
        "bill_of_materials_checksums": bom.get("checksums"),
    }


def _dataset_pins(recorder: _Recorder, dataset: DatasetId) -> dict[str, Any]:
    answer = recorder.get("dataset", dataset_path(dataset), dict(DATASET_PIN_QUERY))
    return dataset_pins(answer["headers"], answer["response"])


def _dataset_queries(recorder: _Recorder, dataset: DatasetId, sample: list[tuple[str, str, int, int]]) -> list[Any]:
    dims = {"release": dataset.release, "species": dataset.species, "assembly": dataset.assembly}
    queries = [recorder.get("genes_count", "/v1/genes/count", dict(dims))]
    for gene_id, _, _, _ in sample:
        queries.append(recorder.get("gene", "/v1/genes", {**dims, "gene_id": gene_id, "include": INCLUDE}))
    for gene_id, _, _, _ in sample:
        path = f"/v1/genes/{quote(gene_id, safe='')}/transcripts"
        queries.append(recorder.get("gene_transcripts", path, dict(dims)))
    if sample:
        _, seqid, start, end = sample[0]
        query = {**dims, "range": f"{seqid}:{start}-{end}", "include": INCLUDE}
        queries.append(recorder.get("genes_in_range", "/v1/genes", query))
    return queries


def record_baseline(url: str, entries: Iterable[PlannedFile], sample_size: int, *, now: str) -> bytes:
    """Ask the service at `url` about every dataset in the backed-up catalog; return the JSON document."""
    if sample_size < 1:
        raise BackupCreateError(f"--baseline-sample {sample_size}: expected at least 1")
    base_url = base_url_of(url)
    by_member = {entry.member: entry for entry in entries}
    catalog_entry = by_member[f"store/{CATALOG_FILE}"]
    catalog = parse_catalog(catalog_entry.content or catalog_entry.source.read_bytes())
    recorder = _Recorder(base_url)
    datasets = []
    try:
        for dataset in catalog.dataset_ids():
            snapshot = by_member.get(f"store/{sqlite_relpath(dataset)}")
            if snapshot is None:
                missing = f"store/{sqlite_relpath(dataset)}"
                raise BackupCreateError(f"baseline: {dataset}: catalogued, but {missing} is not in the store")
            sample = sample_genes(snapshot.source, dataset, sample_size)
            datasets.append(
                {
                    "dataset": dataset.canonical,
                    "sample_gene_ids": [row[0] for row in sample],
                    "queries": _dataset_queries(recorder, dataset, sample),
                    # Every byte of the artifact, not only the rows the sample asks about: an artifact edited
                    # elsewhere and re-sealed (manifest and sidecars rewritten to match) still shows.
                    "pins": _dataset_pins(recorder, dataset),
                }
            )
    finally:
        recorder.close()
    document = {
        "format": FORMAT,
        "base_url": base_url,
        "recorded_at": now,
        "sample": {"size": sample_size, "seed": SEED, "method": "random.Random(seed:R/S/A).sample(sorted gene ids)"},
        "dropped_fields": list(VOLATILE_FIELDS),
        "datasets": datasets,
    }
    problems = schema_findings(document, SCHEMA, BASELINE_MEMBER)
    if problems:
        raise BackupCreateError("baseline: " + "; ".join(str(p) for p in problems))
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")
