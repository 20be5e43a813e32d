"""Request counters and the Prometheus text exposition (contract §1.5).

Every sample carries `subsystem="atlas"`, `version="<runtime version>"` and `dataset="all"`. Request counters are
labelled `{route, method, status, class}`, where `class` is the status class (`2xx`, `4xx`, ...).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@dataclass(frozen=True)
class Gauges:
    """Point-in-time values the exposition reads from the rest of the server."""

    cache_hits: int
    cache_misses: int
    cached_datasets: int
    cache_disk_bytes: int
    integrity_violations: int
    quarantined_datasets: int
    catalog_refresh_failures: int
    ready: bool
    draining: bool


class Metrics:
    def __init__(self, version: str) -> None:
        self.version = version
        self._lock = threading.Lock()
        self._requests: Counter[tuple[str, str, str, str]] = Counter()
        self._duration_sum: dict[str, float] = {}
        self._duration_count: Counter[str] = Counter()
        self._errors: Counter[str] = Counter()
        self.store_errors = 0
        self.registry_invalidations = 0

    def record(self, route: str, method: str, status: int, seconds: float, error_code: str | None) -> None:
        with self._lock:
            self._requests[(route, method, str(status), f"{status // 100}xx")] += 1
            self._duration_sum[route] = self._duration_sum.get(route, 0.0) + seconds
            self._duration_count[route] += 1
            if error_code:
                self._errors[error_code] += 1

    def _labels(self, **extra: str) -> str:
        base = {"subsystem": "atlas", "version": self.version, "dataset": "all", **extra}
        return "{" + ",".join(f'{key}="{_escape(value)}"' for key, value in base.items()) + "}"

    def render(self, gauges: Gauges) -> str:
        lines: list[str] = []

        def family(name: str, kind: str, samples: Iterable[tuple[str, float | int]]) -> None:
            lines.append(f"# TYPE {name} {kind}")
            lines.extend(f"{name}{labels} {value}" for labels, value in samples)

        with self._lock:
            requests = sorted(self._requests.items())
            durations = sorted(self._duration_sum.items())
            counts = dict(self._duration_count)
            errors = sorted(self._errors.items())
        request_samples = [
            (self._labels(route=r, method=m, status=s, **{"class": c}), n) for (r, m, s, c), n in requests
        ]
        for name in ("http_requests_total", "atlas_http_requests_total", "bijux_http_requests_total"):
            family(name, "counter", request_samples)
        lines.append("# TYPE atlas_http_request_duration_seconds summary")
        for route, total in durations:
            lines.append(f"atlas_http_request_duration_seconds_sum{self._labels(route=route)} {total:.6f}")
            lines.append(f"atlas_http_request_duration_seconds_count{self._labels(route=route)} {counts[route]}")
        plain = self._labels()
        for name, kind, value in (
            ("atlas_cache_hits_total", "counter", gauges.cache_hits),
            ("atlas_cache_misses_total", "counter", gauges.cache_misses),
            ("bijux_dataset_hits", "counter", gauges.cache_hits),
            ("bijux_dataset_misses", "counter", gauges.cache_misses),
            ("bijux_dataset_count", "gauge", gauges.cached_datasets),
            ("bijux_dataset_disk_usage_bytes", "gauge", gauges.cache_disk_bytes),
            ("atlas_integrity_violations_total", "counter", gauges.integrity_violations),
            ("atlas_tamper_detections_total", "counter", gauges.integrity_violations),
            ("atlas_store_errors_total", "counter", self.store_errors),
            ("atlas_quarantined_datasets", "gauge", gauges.quarantined_datasets),
            ("atlas_catalog_refresh_failures_total", "counter", gauges.catalog_refresh_failures),
            ("bijux_registry_invalidation_events_total", "counter", self.registry_invalidations),
            ("atlas_ready", "gauge", int(gauges.ready)),
            ("atlas_draining", "gauge", int(gauges.draining)),
        ):
            family(name, kind, [(plain, value)])
        family("bijux_errors_total", "counter", [(self._labels(code=code), n) for code, n in errors])
        return "\n".join(lines) + "\n"
