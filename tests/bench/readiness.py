"""Container start-to-ready and time-to-first-correct-query, through the drills' own Docker sandbox.

For each start: a fresh container of the stand-in image is created, the restored store is streamed in, the target
starts and `/readyz` answers (the sandbox's own phase timings: transfer, start, ready); then one gene of the newest
dataset is asked for by id until the answer is the row the SQLite file holds. Time-to-first-correct-query runs from
just before the container is created to that answer. The stand-in, like Atlas, verifies a dataset's SQLite sha256 on
first use, so for a large store the first query carries that hashing.

Starts of the stores being compared alternate (default, 1M, default, 1M, ...).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from tests.bench.common import BenchError, summarize

Say = Callable[[str], None]
QUERY_DEADLINE_S = 600.0
BENCH_LABEL = "bench"


@dataclass(frozen=True)
class ServedStore:
    """A tree a sandbox can serve (store/, config/atlas.env) and the gene row a correct answer must carry."""

    name: str
    staging: Path
    dataset: tuple[str, str, str]  # release, species, assembly
    gene: dict[str, str]  # {"gene_id": ..., "name": ...} as the SQLite file holds it
    sqlite_bytes: int


def probe_gene(name: str, staging: Path) -> ServedStore:
    """The middle gene of the newest dataset of the primary species, read from the restored SQLite file."""
    catalog = json.loads((staging / "store" / "catalog.json").read_bytes())
    entries = [e for e in catalog["datasets"] if e["dataset"]["species"] == "homo_sapiens"]
    entry = max(entries, key=lambda e: int(e["dataset"]["release"]))
    sqlite_path = staging / "store" / entry["sqlite_path"]
    connection = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    try:
        (top,) = connection.execute("SELECT max(id) FROM gene_summary").fetchone()
        row = connection.execute(
            "SELECT gene_id, name FROM gene_summary WHERE id >= ? ORDER BY id LIMIT 1", (top // 2,)
        ).fetchone()
    finally:
        connection.close()
    dataset = entry["dataset"]
    return ServedStore(
        name=name,
        staging=staging,
        dataset=(dataset["release"], dataset["species"], dataset["assembly"]),
        gene={"gene_id": row[0], "name": row[1]},
        sqlite_bytes=sqlite_path.stat().st_size,
    )


def _first_correct_query(base_url: str, store: ServedStore, deadline: float) -> int:
    """Ask until the answer holds exactly the expected row; returns how many requests it took."""
    release, species, assembly = store.dataset
    params = {"release": release, "species": species, "assembly": assembly, "gene_id": store.gene["gene_id"]}
    attempts = 0
    last = ""
    while time.monotonic() < deadline:
        attempts += 1
        try:
            response = requests.get(
                f"{base_url}/v1/genes", params=params, timeout=max(1.0, deadline - time.monotonic())
            )
            rows = response.json().get("data", {}).get("rows") if response.status_code == 200 else None
            # A gene row carries every field Atlas serves; the fields read from the SQLite file must match.
            if rows is not None and [{k: row.get(k) for k in store.gene} for row in rows] == [store.gene]:
                return attempts
            last = f"{response.status_code} {response.text[:200]!r}"
        except (requests.RequestException, ValueError) as exc:
            last = type(exc).__name__
        time.sleep(0.02)
    raise BenchError(f"{store.name}: no correct answer for {params} before the deadline (last: {last})")


def one_start(store: ServedStore, image: str, work: Path, run_id: str, ready_timeout_s: float) -> dict[str, float]:
    from atlas_drills.sandbox.base import SandboxRequest
    from atlas_drills.sandbox.docker import DockerSandbox
    from atlas_drills.sandbox.sweep import controller_labels
    from atlas_drills.sandbox.target import load_target

    work_dir = work / f"sandbox-{uuid.uuid4().hex[:8]}"
    request = SandboxRequest(
        load_target("standin"),
        staging=store.staging,
        work_dir=work_dir,
        labels={BENCH_LABEL: store.name, **controller_labels(run_id, os.getpid())},
        ready_timeout_s=ready_timeout_s,
    )
    sandbox = DockerSandbox(request, image)
    began = time.monotonic()
    try:
        sandbox.start()
        ready_at = time.monotonic()
        attempts = _first_correct_query(sandbox.base_url, store, ready_at + QUERY_DEADLINE_S)
        answered_at = time.monotonic()
        phases = sandbox.timings.as_dict()
    finally:
        sandbox.stop()
        shutil.rmtree(work_dir, ignore_errors=True)
    return {
        **phases,
        "start_to_ready": ready_at - began,
        "first_query": answered_at - ready_at,
        "to_first_correct_query": answered_at - began,
        "query_attempts": float(attempts),
    }


def measure(stores: list[tuple[ServedStore, int]], image: str, work: Path, say: Say) -> dict[str, Any]:
    """Alternate starts of each store (each with its own count) and summarize every phase per store."""
    from atlas_drills.sandbox.engine import connect
    from atlas_drills.sandbox.sweep import sweep

    run_id = f"bench-{uuid.uuid4().hex[:12]}"
    samples: dict[str, list[dict[str, float]]] = {store.name: [] for store, _ in stores}
    try:
        for index in range(max(count for _, count in stores)):
            for store, count in stores:
                if index >= count:
                    continue
                timings = one_start(store, image, work, run_id, ready_timeout_s=600.0)
                samples[store.name].append(timings)
                say(
                    f"  {store.name:12} start {index + 1}: transfer {timings['transfer']:.2f}s start "
                    f"{timings['start']:.2f}s ready {timings['ready']:.3f}s -> ready {timings['start_to_ready']:.2f}s,"
                    f" first correct query {timings['to_first_correct_query']:.2f}s"
                )
    finally:
        sweep(connect(), run_id=run_id)
    result: dict[str, Any] = {}
    for store, _ in stores:
        rows = samples[store.name]
        keys = [k for k in rows[0] if k != "query_attempts"]
        result[store.name] = {
            "starts": len(rows),
            "sqlite_bytes": store.sqlite_bytes,
            "dataset": "/".join(store.dataset),
            "gene_id": store.gene["gene_id"],
            **{key: summarize([row[key] for row in rows]) for key in keys},
            "query_attempts": summarize([row["query_attempts"] for row in rows]),
        }
    return result
