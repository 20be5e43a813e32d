"""The catalog registry and readiness, following Atlas's `refresh_catalog` and `host.rs` (contract §1.1, §1.3).

- `refresh()` returns Ok without re-reading while less than `ATLAS_REGISTRY_TTL_MS` has passed since the last
  successful refresh, and always with `ATLAS_REGISTRY_FREEZE_MODE`.
- It fails when `catalog.json` is missing or unreadable, does not parse (unknown fields denied), fails
  `validate_sorted`, or `catalog.sha256` exists and does not match the struct-order digest; and while the backoff
  (base x consecutive errors, capped at 5 s) or the breaker (open after N consecutive errors) is active.
- Once loaded, the catalog stays in memory after later failures: `catalog_present` stays true, `ready` flips false.
- `/readyz` is 200 only when `ready and readyz_catalog_ready(requires_catalog, cached_only, catalog_present)`.

Departure: Atlas's background refresh ticks every 15 s; here the tick is min(15 s, TTL) so a small TTL gives a
fast drill. With the default TTL (15 s) the two are the same.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from atlas_drills.store.catalog import Catalog, check_catalog_checksum, parse_catalog
from atlas_drills.store.errors import StoreError
from atlas_drills.store.layout import CATALOG_FILE

BACKOFF_CAP_MS = 5000
ATLAS_TICK_MS = 15000
MIN_TICK_MS = 50


class CatalogRefreshError(Exception):
    """Why a refresh failed, worded as Atlas words it (`catalog read failed`, `catalog checksum mismatch`, ...)."""


def readyz_catalog_ready(requires_catalog: bool, cached_only: bool, catalog_present: bool) -> bool:
    """Atlas's helper of the same name (`handlers_utilities.rs`)."""
    if requires_catalog and not cached_only:
        return catalog_present
    return True


@dataclass(frozen=True)
class CatalogSnapshot:
    catalog: Catalog
    raw_bytes: bytes
    epoch: str


@dataclass(frozen=True)
class RegistryPolicy:
    ttl_ms: int = 15000
    freeze_mode: bool = False
    backoff_base_ms: int = 250
    breaker_failure_threshold: int = 5
    breaker_open_ms: int = 5000
    requires_catalog: bool = True
    cached_only: bool = False


class Registry:
    """Holds the current catalog and the `ready` flag; thread-safe."""

    def __init__(
        self,
        store_root: Path,
        policy: RegistryPolicy,
        on_failure: Callable[[str, int], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store_root = store_root
        self.policy = policy
        self._on_failure = on_failure
        self._clock = clock
        self._lock = threading.Lock()
        self._snapshot: CatalogSnapshot | None = None
        self._ready = False
        self._last_success: float | None = None
        self._last_error_at: float | None = None
        self._consecutive_errors = 0
        self._breaker_opened_at: float | None = None
        self.last_error: str | None = None
        self.refresh_count = 0

    # -- state -----------------------------------------------------------------------------------------------------
    @property
    def snapshot(self) -> CatalogSnapshot | None:
        return self._snapshot

    @property
    def ready(self) -> bool:
        return self._ready

    @property
    def catalog_epoch(self) -> str | None:
        snapshot = self._snapshot
        return snapshot.epoch if snapshot else None

    def is_ready_for_traffic(self) -> bool:
        """`/readyz`: `state.ready && readyz_catalog_ready(...)`. Drain and dataset integrity play no part."""
        return self._ready and readyz_catalog_ready(
            self.policy.requires_catalog, self.policy.cached_only, self._snapshot is not None
        )

    @property
    def tick_seconds(self) -> float:
        return max(MIN_TICK_MS, min(ATLAS_TICK_MS, self.policy.ttl_ms)) / 1000

    # -- refresh ---------------------------------------------------------------------------------------------------
    def refresh_and_update_readiness(self) -> bool:
        """One step of Atlas's readiness loop: refresh, then set `ready` (cached-only mode keeps it true)."""
        try:
            self.refresh()
        except CatalogRefreshError as exc:
            with self._lock:
                self._ready = self.policy.cached_only
            if self._on_failure is not None:
                self._on_failure(str(exc), self._consecutive_errors)
            return False
        with self._lock:
            self._ready = True
        return True

    def refresh(self) -> None:
        """Atlas's `refresh_catalog`: raise `CatalogRefreshError` on failure, keep the last good catalog."""
        with self._lock:
            now = self._clock()
            if self.policy.freeze_mode:
                return
            if self._last_success is not None and (now - self._last_success) * 1000 < self.policy.ttl_ms:
                return
            self._check_breaker_and_backoff(now)
            self.refresh_count += 1
            try:
                snapshot = self._read()
            except CatalogRefreshError as exc:
                self._consecutive_errors += 1
                self._last_error_at = now
                self.last_error = str(exc)
                if self._consecutive_errors >= self.policy.breaker_failure_threshold:
                    self._breaker_opened_at = now
                raise
            self._snapshot = snapshot
            self._last_success = now
            self._consecutive_errors = 0
            self._breaker_opened_at = None
            self.last_error = None

    def _check_breaker_and_backoff(self, now: float) -> None:
        opened = self._breaker_opened_at
        if opened is not None and (now - opened) * 1000 < self.policy.breaker_open_ms:
            raise CatalogRefreshError("catalog breaker open")
        if self._consecutive_errors and self._last_error_at is not None:
            backoff_ms = min(self.policy.backoff_base_ms * self._consecutive_errors, BACKOFF_CAP_MS)
            if (now - self._last_error_at) * 1000 < backoff_ms:
                raise CatalogRefreshError("catalog refresh backoff active")

    def _read(self) -> CatalogSnapshot:
        path = self.store_root / CATALOG_FILE
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise CatalogRefreshError(f"catalog read failed: {path}: {exc.strerror or exc}") from exc
        try:
            catalog = parse_catalog(raw, str(path))
        except StoreError as exc:
            raise CatalogRefreshError(f"catalog parse failed: {_first_lines(exc)}") from exc
        violations = catalog.validate_sorted(str(path))
        if violations:
            raise CatalogRefreshError(f"catalog validation failed: {violations[0]}")
        mismatch = check_catalog_checksum(self.store_root, catalog)
        if mismatch is not None:
            raise CatalogRefreshError(
                f"catalog checksum mismatch: catalog.sha256 holds {mismatch.observed}, catalog is {mismatch.expected}"
            )
        return CatalogSnapshot(catalog, raw, catalog.epoch)


def _first_lines(exc: StoreError) -> str:
    return "; ".join(str(v) for v in exc.violations[:3])


class RefreshLoop:
    """The background task: run one readiness step every tick until stopped."""

    def __init__(self, step: Callable[[], object], interval_seconds: float) -> None:
        self._step = step
        self._interval = interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="catalog-refresh", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._step()
