"""Latency of `/v1/genes?...&gene_id=` on the stand-in: start it on a store, warm the dataset, time N lookups.

Not collected by pytest (no `test_` prefix). Run it on a large sample, for example:

    atlas-drills sample build /tmp/big --genes 1000000 --releases 112 --second-species none
    .venv/bin/python -m tests.http.bench_gene_lookup /tmp/big/store --requests 200

Each request asks for a different gene id picked from the SQLite file (seeded), over one keep-alive connection,
sequentially. It prints the median, p90, p99 and max in milliseconds, and the time of the first (cold) request,
which includes copying and verifying the artifact into the empty cache.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from atlas_drills.store import read_catalog
from atlas_drills.store.layout import sqlite_path
from tests.http.conftest import launch
from tests.http.expect import dims


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("store_root", type=Path)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    store = args.store_root.resolve()
    dataset = read_catalog(store).dataset_ids()[-1]
    connection = sqlite3.connect(f"file:{sqlite_path(store, dataset)}?mode=ro&immutable=1", uri=True)
    total = connection.execute("SELECT COUNT(*) FROM gene_summary").fetchone()[0]
    rng = random.Random(args.seed)
    offsets = sorted(rng.sample(range(total), args.requests))
    gene_ids = [
        connection.execute("SELECT gene_id FROM gene_summary ORDER BY id LIMIT 1 OFFSET ?", (o,)).fetchone()[0]
        for o in offsets
    ]
    connection.close()
    rng.shuffle(gene_ids)
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as cache:
        standin = launch(store, Path(cache))
        try:
            base = f"/v1/genes?{dims(dataset)}&include=coords,biotype,counts,length&gene_id="
            began = time.perf_counter()
            first = standin.get(base + gene_ids[0], timeout=600)
            cold_ms = (time.perf_counter() - began) * 1000
            assert first.status_code == 200, first.text
            timings = []
            for gene_id in gene_ids:
                began = time.perf_counter()
                response = standin.get(base + gene_id)
                timings.append((time.perf_counter() - began) * 1000)
                assert response.status_code == 200, response.text
                assert response.json()["data"]["rows"][0]["gene_id"] == gene_id
        finally:
            standin.stop()
    quantiles = statistics.quantiles(timings, n=100)
    print(f"dataset {dataset.canonical}: {total} genes; {len(timings)} sequential lookups over one connection")
    print(f"cold first request (copy + sha256 verify into an empty cache): {cold_ms:.0f} ms")
    print(
        f"median {statistics.median(timings):.2f} ms, p90 {quantiles[89]:.2f} ms, "
        f"p99 {quantiles[98]:.2f} ms, max {max(timings):.2f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
