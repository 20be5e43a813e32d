"""The stand-in's shared state: settings, catalog registry, dataset cache, metrics, drain flag and build constants."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from atlas_drills import __version__
from atlas_drills.runtime_config import ATLAS_TRUE
from atlas_drills.standin.config import Settings
from atlas_drills.standin.datasets import DatasetCache
from atlas_drills.standin.logs import Logger
from atlas_drills.standin.metrics import Gauges, Metrics
from atlas_drills.standin.registry import Registry, RegistryPolicy
from atlas_drills.store.dataset_id import DatasetId

# The runtime version says what is serving: the stand-in, never Atlas itself. It is the `version` label on every
# metric and `plugin.version` in /v1/version.
RUNTIME_VERSION = f"{__version__}+standin"
# Atlas compiles BIJUX_BUILD_HASH in; unset, it is "unversioned". The stand-in has no build hash of its own.
BUILD_HASH = "unversioned"
SERVER_SOFTWARE = f"atlas-drills-standin/{__version__}"


@dataclass
class StandIn:
    settings: Settings
    logger: Logger
    registry: Registry
    datasets: DatasetCache
    metrics: Metrics
    draining: threading.Event = field(default_factory=threading.Event)
    catalog_refresh_failures: int = 0
    _last_epoch: str | None = None

    @classmethod
    def create(cls, settings: Settings, logger: Logger) -> StandIn:
        policy = RegistryPolicy(
            ttl_ms=settings.registry_ttl_ms,
            freeze_mode=settings.registry_freeze_mode,
            backoff_base_ms=settings.catalog_backoff_base_ms,
            breaker_failure_threshold=settings.catalog_breaker_failure_threshold,
            breaker_open_ms=settings.catalog_breaker_open_ms,
            requires_catalog=settings.readiness_requires_catalog,
            cached_only=settings.cached_only_mode,
        )
        metrics = Metrics(RUNTIME_VERSION)
        app: StandIn

        def on_refresh_failure(reason: str, consecutive: int) -> None:
            app.catalog_refresh_failures += 1
            quiet = reason.startswith(("catalog refresh backoff active", "catalog breaker open"))
            level = "debug" if quiet else "warn"
            logger.event(level, "catalog_refresh_failed", "catalog refresh failed", reason=reason, errors=consecutive)

        def on_dataset_event(level: str, event_id: str, message: str, **fields: Any) -> None:
            if event_id == "ingest_anomaly_checksum_mismatch":
                metrics.store_errors += 1
            logger.event(level, event_id, message, **fields)

        registry = Registry(settings.store_root, policy, on_refresh_failure)
        datasets = DatasetCache(
            settings.store_root,
            settings.cache_root,
            quarantine_failures=settings.quarantine_corruption_failures,
            quarantine_retry_ttl_ms=settings.quarantine_retry_ttl_ms,
            sqlite_cache_kib=settings.sqlite_cache_kib,
            sqlite_mmap_bytes=settings.sqlite_mmap_bytes,
            on_event=on_dataset_event,
            no_download=(
                "cached-only mode"
                if settings.cached_only_mode
                else "read-only filesystem mode"
                if settings.values.get("ATLAS_READ_ONLY_FS_MODE") in ATLAS_TRUE
                else None
            ),
        )
        app = cls(settings, logger, registry, datasets, metrics)
        return app

    def refresh(self) -> bool:
        """One readiness step; counts catalog epoch changes as registry invalidations."""
        ok = self.registry.refresh_and_update_readiness()
        epoch = self.registry.catalog_epoch
        if epoch != self._last_epoch:
            if self._last_epoch is not None:
                self.metrics.registry_invalidations += 1
                self.logger.event("info", "catalog_changed", "catalog epoch changed", catalog_epoch=epoch)
            self._last_epoch = epoch
        return ok

    def warmup(self) -> None:
        """`ATLAS_STARTUP_WARMUP`: open the listed datasets. A failure is only logged; readiness is unchanged."""
        for text in self.settings.startup_warmup:
            try:
                self.datasets.get(DatasetId.parse(text))
            except Exception as exc:  # Atlas logs any warmup failure and carries on
                self.logger.event(
                    "warn", "startup_warmup_failed", "startup warmup failed", dataset=text, error=str(exc)
                )

    def gauges(self) -> Gauges:
        cached = self.datasets.cached()
        quarantined = sum(1 for d in list(self.datasets.known()) if self.datasets.is_quarantined(d))
        return Gauges(
            cache_hits=self.datasets.hits,
            cache_misses=self.datasets.misses,
            cached_datasets=len(cached),
            cache_disk_bytes=sum(self.datasets.health(d).size_bytes for d in cached),
            integrity_violations=self.datasets.integrity_violations,
            quarantined_datasets=quarantined,
            catalog_refresh_failures=self.catalog_refresh_failures,
            ready=self.registry.is_ready_for_traffic(),
            draining=self.draining.is_set(),
        )

    def begin_drain(self, reason: str) -> None:
        self.draining.set()
        self.logger.event(
            "info",
            "shutdown_drain",
            "drain started: refusing new requests",
            reason=reason,
            drain_ms=self.settings.shutdown_drain_ms,
        )
