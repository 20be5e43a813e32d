"""`--baseline-from`: answers recorded from a live stand-in (started here on 127.0.0.1), deterministic questions
picked from the backed-up SQLite, volatile fields dropped, stored as reconstructable."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from atlas_drills.backup.baseline import (
    BASELINE_MEMBER,
    CACHE_STATE_HEADERS,
    base_url_of,
    dataset_pins,
    sample_genes,
    stable_headers,
)
from atlas_drills.backup.create import create_backup
from atlas_drills.backup.errors import BackupCreateError
from atlas_drills.backup.manifest import RECONSTRUCTABLE, schema_findings
from atlas_drills.backup.restore import restore_backup
from atlas_drills.backup.verify import verify_backup
from atlas_drills.sample import SampleRelease
from atlas_drills.store.layout import manifest_path, sqlite_path
from atlas_drills.store.manifest import parse_manifest

STARTUP_TIMEOUT_S = 30.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def live_service(sample_release: SampleRelease, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The stand-in serving the sample on 127.0.0.1:<free port>; its base URL. Stopped after the module."""
    work = tmp_path_factory.mktemp("live")
    port = _free_port()
    # Atlas refuses unknown ATLAS_*/BIJUX_* names: pass only what the service needs.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATLAS_", "BIJUX_"))}
    env |= {
        "ATLAS_BIND": f"127.0.0.1:{port}",
        "ATLAS_STORE_ROOT": str(sample_release.store_root),
        "ATLAS_CACHE_ROOT": str(work / "cache"),
        "ATLAS_SHUTDOWN_DRAIN_MS": "0",
    }
    argv = [sys.executable, "-m", "atlas_drills.standin", "--config", str(sample_release.config_file)]
    with (work / "standin.log").open("wb") as log:
        process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"stand-in exited with {process.returncode}: {(work / 'standin.log').read_text()}")
            try:
                if requests.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"stand-in not ready in {STARTUP_TIMEOUT_S}s: {(work / 'standin.log').read_text()}")
            time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def baseline_backup(
    sample_release: SampleRelease, live_service: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("baseline") / "with-baseline.tar.zst"
    result = create_backup(
        sample_release.store_root,
        sample_release.root / "ops",
        sample_release.config_file,
        out,
        baseline_from=live_service,
        baseline_sample=3,
    )
    restored = restore_backup(result.path, out.parent / "staging")
    return restored.staging, json.loads((restored.staging / BASELINE_MEMBER).read_bytes())


def test_baseline_is_recorded_schema_valid_and_reconstructable(
    baseline_backup: tuple[Path, dict[str, Any]], live_service: str
) -> None:
    staging, baseline = baseline_backup
    assert schema_findings(baseline, "baseline-queries.schema.json", BASELINE_MEMBER) == []
    assert baseline["base_url"] == live_service
    assert "request_id" not in json.dumps(baseline["datasets"])
    manifest = verify_backup(next(staging.parent.glob("*.tar.zst"))).manifest
    assert manifest is not None
    assert manifest.by_path()[BASELINE_MEMBER].file_class == RECONSTRUCTABLE


def test_baseline_answers_match_the_backed_up_data(
    baseline_backup: tuple[Path, dict[str, Any]], sample_release: SampleRelease
) -> None:
    staging, baseline = baseline_backup
    store = staging / "store"
    assert [d["dataset"] for d in baseline["datasets"]] == [d.canonical for d in sample_release.datasets]
    for recorded, dataset in zip(baseline["datasets"], sample_release.datasets, strict=True):
        expected_ids = [row[0] for row in sample_genes(sqlite_path(store, dataset), dataset, 3)]
        assert recorded["sample_gene_ids"] == expected_ids == sorted(expected_ids)
        queries = recorded["queries"]
        count = next(q for q in queries if q["name"] == "genes_count")
        stats = parse_manifest(manifest_path(store, dataset).read_bytes()).stats
        assert count["status"] == 200
        assert count["response"]["gene_count"] == stats.gene_count
        genes = [q for q in queries if q["name"] == "gene"]
        assert [q["query"]["gene_id"] for q in genes] == expected_ids
        for query in genes:
            assert [row["gene_id"] for row in query["response"]["data"]["rows"]] == [query["query"]["gene_id"]]
            assert query["headers"]["x-atlas-release"] == dataset.release
            # Present in the live answer (debug datasets on, a cache miss) but not pinned: a cache hit omits it.
            assert not set(query["headers"]) & CACHE_STATE_HEADERS
        for query in (q for q in queries if q["name"] == "gene_transcripts"):
            gene_id = query["path"].split("/")[3]
            assert {row["parent_gene_id"] for row in query["response"]["data"]["rows"]} <= {gene_id}
        in_range = next(q for q in queries if q["name"] == "genes_in_range")
        assert expected_ids[0] in {row["gene_id"] for row in in_range["response"]["data"]["rows"]}
        manifest = parse_manifest(manifest_path(store, dataset).read_bytes())
        sqlite_sha = hashlib.sha256(sqlite_path(store, dataset).read_bytes()).hexdigest()
        assert recorded["pins"]["x-dataset-identity-sha256"] == manifest.identity.canonical_metadata_sha256
        assert recorded["pins"]["identity_sha256"] == manifest.identity.canonical_metadata_sha256
        assert recorded["pins"]["artifact_db_hash"] == recorded["pins"]["checksums"]["sqlite_sha256"] == sqlite_sha
        assert recorded["pins"]["bill_of_materials_checksums"]["sqlite_sha256"] == sqlite_sha


def test_headers_that_reflect_the_query_cache_are_never_pinned() -> None:
    names = ["x-atlas-release", "x-atlas-cache-key", "x-atlas-artifact-hash", "x-dataset-identity-sha256", "etag"]
    assert stable_headers(names) == ["x-atlas-release", "x-dataset-identity-sha256"]


def test_dataset_pins_take_only_identity_and_digests() -> None:
    body: dict[str, Any] = {
        "data": {
            "item": {
                "artifact_hash": "a",
                "artifact_db_hash": "d",
                "checksums": {"sqlite_sha256": "d"},
                "available_endpoints": ["/v1/genes"],
                "bill_of_materials": {"checksums": {"sqlite_sha256": "d"}},
                "metadata": {"manifest_summary": {"identity_sha256": "i"}},
            }
        }
    }
    pins = dataset_pins({"x-dataset-identity-sha256": "i"}, body)
    assert pins == {
        "x-dataset-identity-sha256": "i",
        "identity_sha256": "i",
        "artifact_hash": "a",
        "artifact_db_hash": "d",
        "checksums": {"sqlite_sha256": "d"},
        "bill_of_materials_checksums": {"sqlite_sha256": "d"},
    }
    body["data"]["item"]["available_endpoints"].append("/v1/sequence/region")  # a server build's offer, not data
    assert dataset_pins({"x-dataset-identity-sha256": "i"}, body) == pins
    body["data"]["item"]["artifact_db_hash"] = "e"
    assert dataset_pins({"x-dataset-identity-sha256": "i"}, body) != pins
    assert set(dataset_pins({}, {"error": "x"}).values()) == {None}


def test_a_second_backup_asks_and_records_the_same(
    baseline_backup: tuple[Path, dict[str, Any]], sample_release: SampleRelease, live_service: str, tmp_path: Path
) -> None:
    _, first = baseline_backup
    again = create_backup(
        sample_release.store_root,
        sample_release.root / "ops",
        sample_release.config_file,
        tmp_path / "again",
        baseline_from=live_service,
        baseline_sample=3,
    )
    second = json.loads((again.path / BASELINE_MEMBER).read_bytes())
    assert second["datasets"] == first["datasets"]


def test_base_url_must_be_plain(tmp_path: Path) -> None:
    assert base_url_of("http://127.0.0.1:8080/") == "http://127.0.0.1:8080"
    for bad in ("http://user:secret@127.0.0.1:1", "ftp://127.0.0.1", "http://127.0.0.1:1/v1", "127.0.0.1:80"):
        with pytest.raises(BackupCreateError):
            base_url_of(bad)


def test_unreachable_service_fails_the_backup_cleanly(sample_release: SampleRelease, tmp_path: Path) -> None:
    with pytest.raises(BackupCreateError, match="Is the service running"):
        create_backup(
            sample_release.store_root,
            sample_release.root / "ops",
            sample_release.config_file,
            tmp_path / "b.tar",
            baseline_from=f"http://127.0.0.1:{_free_port()}",
        )
    assert list(tmp_path.iterdir()) == []
