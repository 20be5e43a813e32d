"""Datasets opened on first use, as Atlas's `ensure_dataset_cached` does (contract §1.3, §2.6).

1. Read `derived/manifest.json` from the store and run `validate_strict` (identity recomputation included).
2. Copy `gene_summary.sqlite` into `<cache_root>/.tmp-atlas-download/`, hashing as it copies, and require
   sha256 == `manifest.checksums.sqlite_sha256`. A mismatch logs `ingest_anomaly_checksum_mismatch` and fails with
   `sqlite checksum verification failed`.
3. Move the verified copy to `<cache_root>/<sqlite_sha256>/derived/` with `manifest.json` and `.verified`
   (`"<sqlite_sha256>:<db_schema_version>"`), and write `.dataset-index/<key>.key`.
4. After `ATLAS_QUARANTINE_CORRUPTION_FAILURES` checksum failures the dataset is quarantined; the quarantine is lifted
   for a retry after `ATLAS_QUARANTINE_RETRY_TTL_MS`.

The server-side store does not check `manifest.lock`, and neither does this.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from atlas_drills.store.artifact import open_read_only
from atlas_drills.store.dataset_id import DatasetId
from atlas_drills.store.errors import StoreError
from atlas_drills.store.layout import DERIVED_DIR, MANIFEST_FILE, SQLITE_FILE, manifest_path, sqlite_path
from atlas_drills.store.manifest import ArtifactManifest, load_manifest_strict

_COPY_CHUNK = 1 << 20
_POOL_SIZE = 8
VERIFIED_MARKER = ".verified"
DOWNLOAD_DIR = ".tmp-atlas-download"
INDEX_DIR = ".dataset-index"


class DatasetUnavailable(Exception):
    """The dataset cannot be served. `kind` says why: manifest, missing, checksum, quarantined."""

    def __init__(self, kind: str, message: str, dataset: DatasetId) -> None:
        super().__init__(message)
        self.kind = kind
        self.dataset = dataset


@dataclass
class DatasetHealth:
    open_failures: int = 0
    quarantined_at: float | None = None
    last_open_at: float | None = None
    checksum_verified: bool = False
    size_bytes: int = 0


@dataclass
class OpenDataset:
    dataset: DatasetId
    manifest: ArtifactManifest
    sqlite_file: Path
    cache_kib: int
    mmap_bytes: int
    _pool: queue.SimpleQueue[sqlite3.Connection] = field(default_factory=queue.SimpleQueue)

    @contextlib.contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """A pooled read-only connection (open with Atlas's pragmas on first use)."""
        try:
            conn = self._pool.get_nowait()
        except queue.Empty:
            conn = open_read_only(self.sqlite_file)
            conn.execute(f"PRAGMA cache_size=-{int(self.cache_kib)}")
            conn.execute(f"PRAGMA mmap_size={int(self.mmap_bytes)}")
            conn.execute("PRAGMA temp_store=MEMORY")
        try:
            yield conn
        finally:
            if self._pool.qsize() < _POOL_SIZE:
                self._pool.put(conn)
            else:
                conn.close()


def read_store_manifest(store_root: Path, dataset: DatasetId) -> ArtifactManifest:
    """The store's manifest, parsed and strictly validated; `DatasetUnavailable("manifest")` otherwise."""
    path = manifest_path(store_root, dataset)
    try:
        manifest = load_manifest_strict(path.read_bytes(), str(path))
    except FileNotFoundError as exc:
        raise DatasetUnavailable("manifest", f"manifest missing: {path}", dataset) from exc
    except OSError as exc:
        raise DatasetUnavailable("manifest", f"manifest unreadable: {path}: {exc}", dataset) from exc
    except StoreError as exc:
        first = exc.violations[0] if exc.violations else exc
        raise DatasetUnavailable("manifest", f"manifest invalid: {first}", dataset) from exc
    if manifest.dataset != dataset:
        raise DatasetUnavailable("manifest", f"manifest names {manifest.dataset}, expected {dataset}", dataset)
    return manifest


class DatasetCache:
    """Open datasets, their health, and the cache root on disk. Thread-safe; one open at a time per dataset."""

    def __init__(
        self,
        store_root: Path,
        cache_root: Path,
        *,
        quarantine_failures: int = 3,
        quarantine_retry_ttl_ms: int = 300000,
        sqlite_cache_kib: int = 65536,
        sqlite_mmap_bytes: int = 0,
        on_event: Callable[..., None] | None = None,
        no_download: str | None = None,
    ) -> None:
        self.store_root = store_root
        # Atlas in cached-only (or read-only filesystem) mode never copies a dataset from the store: one that is
        # not in the cache already cannot be served (503), whatever the store holds.
        self.no_download = no_download
        self.cache_root = cache_root
        self.quarantine_failures = quarantine_failures
        self.quarantine_retry_ttl_ms = quarantine_retry_ttl_ms
        self.sqlite_cache_kib = sqlite_cache_kib
        self.sqlite_mmap_bytes = sqlite_mmap_bytes
        self._on_event = on_event or (lambda *args, **kwargs: None)
        self._open: dict[DatasetId, OpenDataset] = {}
        self._health: dict[DatasetId, DatasetHealth] = {}
        self._locks: dict[DatasetId, threading.Lock] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.integrity_violations = 0

    def health(self, dataset: DatasetId) -> DatasetHealth:
        with self._lock:
            return self._health.setdefault(dataset, DatasetHealth())

    def known(self) -> list[DatasetId]:
        """Every dataset the server has tried to open."""
        with self._lock:
            return list(self._health)

    def cached(self) -> dict[DatasetId, OpenDataset]:
        with self._lock:
            return dict(self._open)

    def is_quarantined(self, dataset: DatasetId) -> bool:
        health = self.health(dataset)
        if health.quarantined_at is None:
            return False
        if (time.monotonic() - health.quarantined_at) * 1000 >= self.quarantine_retry_ttl_ms:
            health.quarantined_at = None  # the quarantine expired: the next open retries
            health.open_failures = 0
            return False
        return True

    def peek_manifest(self, dataset: DatasetId) -> ArtifactManifest | None:
        """The manifest of an already open dataset, or the store's when valid; None when unavailable."""
        opened = self._open.get(dataset)
        if opened is not None:
            return opened.manifest
        try:
            return read_store_manifest(self.store_root, dataset)
        except DatasetUnavailable:
            return None

    def get(self, dataset: DatasetId) -> OpenDataset:
        """The open dataset, downloading and verifying it on first use."""
        opened = self._open.get(dataset)
        if opened is not None:
            self.hits += 1
            return opened
        with self._lock:
            lock = self._locks.setdefault(dataset, threading.Lock())
        with lock:
            opened = self._open.get(dataset)
            if opened is not None:
                self.hits += 1
                return opened
            self.misses += 1
            if self.is_quarantined(dataset):
                raise DatasetUnavailable("quarantined", "dataset quarantined after repeated corruption", dataset)
            opened = self._ensure_cached(dataset)
            with self._lock:
                self._open[dataset] = opened
            return opened

    def _ensure_cached(self, dataset: DatasetId) -> OpenDataset:
        health = self.health(dataset)
        manifest = read_store_manifest(self.store_root, dataset)
        expected = manifest.checksums.sqlite_sha256
        target_dir = self.cache_root / expected / DERIVED_DIR
        target = target_dir / SQLITE_FILE
        marker = f"{expected}:{manifest.db_schema_version}"
        if not _marker_matches(target_dir / VERIFIED_MARKER, marker) or not target.is_file():
            if self.no_download:
                raise DatasetUnavailable(
                    "not-cached", f"dataset missing from cache and {self.no_download} is enabled", dataset
                )
            self._download_and_verify(dataset, manifest, target_dir, marker, health)
        health.checksum_verified = True
        health.last_open_at = time.monotonic()
        health.size_bytes = target.stat().st_size
        index = self.cache_root / INDEX_DIR / f"{dataset.key}.key"
        index.parent.mkdir(parents=True, exist_ok=True)
        index.write_text(expected, encoding="utf-8")
        self._on_event("info", "dataset_opened", "dataset cached and verified", dataset=dataset.canonical)
        return OpenDataset(dataset, manifest, target, self.sqlite_cache_kib, self.sqlite_mmap_bytes)

    def _download_and_verify(
        self, dataset: DatasetId, manifest: ArtifactManifest, target_dir: Path, marker: str, health: DatasetHealth
    ) -> None:
        source = sqlite_path(self.store_root, dataset)
        downloads = self.cache_root / DOWNLOAD_DIR
        downloads.mkdir(parents=True, exist_ok=True)
        partial = downloads / f"{dataset.key}.{uuid.uuid4().hex}.part"
        try:
            try:
                actual = _copy_hashing(source, partial)
            except FileNotFoundError as exc:
                raise DatasetUnavailable("missing", f"sqlite artifact missing: {source}", dataset) from exc
            except OSError as exc:
                raise DatasetUnavailable("missing", f"sqlite artifact unreadable: {source}: {exc}", dataset) from exc
            expected = manifest.checksums.sqlite_sha256
            if actual != expected:
                self._record_corruption(dataset, health, expected, actual)
                raise DatasetUnavailable("checksum", "sqlite checksum verification failed", dataset)
            target_dir.mkdir(parents=True, exist_ok=True)
            os.replace(partial, target_dir / SQLITE_FILE)
            (target_dir / MANIFEST_FILE).write_bytes(manifest_path(self.store_root, dataset).read_bytes())
            (target_dir / VERIFIED_MARKER).write_text(marker, encoding="utf-8")
        finally:
            partial.unlink(missing_ok=True)

    def _record_corruption(self, dataset: DatasetId, health: DatasetHealth, expected: str, actual: str) -> None:
        with self._lock:
            health.open_failures += 1
            health.checksum_verified = False
            self.integrity_violations += 1
            failures = health.open_failures
        self._on_event(
            "error",
            "ingest_anomaly_checksum_mismatch",
            "sqlite checksum verification failed",
            dataset=dataset.canonical,
            expected_sqlite_sha256=expected,
            actual_sqlite_sha256=actual,
            open_failures=failures,
        )
        if failures >= self.quarantine_failures and health.quarantined_at is None:
            health.quarantined_at = time.monotonic()
            self._on_event(
                "error",
                "dataset_quarantined",
                "dataset quarantined after repeated corruption",
                dataset=dataset.canonical,
                open_failures=failures,
                retry_after_ms=self.quarantine_retry_ttl_ms,
            )

    def mark_corrupted(self, dataset: DatasetId) -> None:
        """A query found the cached copy unreadable: drop it, so the next request downloads and verifies again."""
        with self._lock:
            opened = self._open.pop(dataset, None)
        if opened is not None:
            shutil.rmtree(opened.sqlite_file.parent.parent, ignore_errors=True)


def _marker_matches(path: Path, marker: str) -> bool:
    try:
        return path.read_text(encoding="utf-8").strip() == marker
    except OSError:
        return False


def _copy_hashing(source: Path, destination: Path) -> str:
    digest = hashlib.sha256()
    with source.open("rb") as src, destination.open("wb") as dst:
        while chunk := src.read(_COPY_CHUNK):
            digest.update(chunk)
            dst.write(chunk)
    return digest.hexdigest()
