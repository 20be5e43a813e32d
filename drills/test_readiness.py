"""Readiness: `/healthz` and `/readyz` pass within the drill's budget after restore, from an empty cache.

Readiness is never taken as proof on its own (Atlas reports ready even when a dataset is corrupt): the other
criteria check what ready does not. What this module adds is that ready came in time, means what it should (gated
on the catalog, not cached-only), that the overload flags are clear, that every phase was measured and every budget
held (each budget covers the phases `atlas_drills.drill.phases` names), and that a SIGTERM drains as Atlas does.
"""

from __future__ import annotations

import posixpath
import time
from dataclasses import asdict
from pathlib import PurePosixPath

import pytest

from atlas_drills.client import AtlasClient
from atlas_drills.drill.life import RestoredAtlas
from atlas_drills.drill.phases import RECOVERY_PHASES, check_budgets
from atlas_drills.drill.restored import STORE, restored_catalog
from atlas_drills.plan import Budgets
from atlas_drills.store.catalog import check_catalog_checksum
from fixtures.drills import drill_plan
from fixtures.evidence import DrillEvidence

pytestmark = pytest.mark.criterion("readiness")

DRAIN_WATCH_S = 5.0
# Atlas's embedded access policy denies routes it does not list, /live among them: its liveness and drain state are
# served by /healthz/overload, which the policy lists. A target that serves /live must agree with it.
LIVE_OR_DENIED = [200, 403]


def _record_budgets(evidence: DrillEvidence, restored_atlas: RestoredAtlas, budgets: Budgets, names: set[str]) -> None:
    """Each budget against the phases it covers (`atlas_drills.drill.phases`: the report uses the same results)."""
    for result in check_budgets(restored_atlas.phases, asdict(budgets)):
        if result.name in names:
            evidence.record(
                f"{result.name} budget",
                result.within,
                expected=f"<= {result.budget_s:g} s",
                observed=round(result.seconds, 3),
                where=result.where,
                message=result.message,
            )


def test_health_and_readiness_pass_within_budget(
    restored_atlas: RestoredAtlas, atlas: AtlasClient, evidence: DrillEvidence, pytestconfig: pytest.Config
) -> None:
    evidence.equal(
        "the target came up ready",
        expected=None,
        observed=restored_atlas.not_ready,
        where="sandbox start-up (start-up log line, then the readiness path)",
    )
    health, ready = atlas.get("/healthz"), atlas.get("/readyz")
    evidence.equal("healthz", expected=[200, "ok"], observed=[health.status, health.text.strip()], where="GET /healthz")
    evidence.equal("readyz", expected=[200, "ready"], observed=[ready.status, ready.text.strip()], where="GET /readyz")
    _record_budgets(evidence, restored_atlas, drill_plan(pytestconfig).budgets, {"ready"})
    evidence.assert_ok()


def test_every_phase_was_measured_and_fit_its_budget(
    restored_atlas: RestoredAtlas, evidence: DrillEvidence, pytestconfig: pytest.Config
) -> None:
    phases = restored_atlas.phases
    for name in RECOVERY_PHASES:
        # A timer that reads zero (or is missing) means the phase was not measured: the drill itself is broken.
        evidence.record(
            f"{name} measured",
            phases.get(name, 0.0) > 0,
            expected="> 0 s",
            observed=phases.get(name),
            where=f"phase {name}",
        )
    _record_budgets(evidence, restored_atlas, drill_plan(pytestconfig).budgets, {"restore", "ready", "total"})
    evidence.assert_ok()


def test_overload_flags_are_clear(atlas: AtlasClient, evidence: DrillEvidence) -> None:
    answer = atlas.get("/healthz/overload")
    flags = answer.json() if answer.status == 200 else {}
    evidence.equal("overload flags served", expected=200, observed=answer.status, where="GET /healthz/overload")
    evidence.equal(
        "ready, live, not draining, not overloaded, not cached-only",
        expected={"ready": True, "live": True, "draining": False, "overloaded": False, "cached_only_mode": False},
        observed={k: flags.get(k) for k in ("ready", "live", "draining", "overloaded", "cached_only_mode")},
        where="GET /healthz/overload",
    )
    live = atlas.get("/live")
    evidence.record(
        "/live answers live, or is denied by the target's access policy",
        live.status in LIVE_OR_DENIED,
        expected=f"one of {LIVE_OR_DENIED}",
        observed=live.status if live.status in LIVE_OR_DENIED else [live.status, live.text[:200]],
        where="GET /live",
        message="Atlas's default policy does not list /live (403); liveness is then read from /healthz/overload",
    )
    evidence.assert_ok()


def test_readiness_is_gated_on_the_catalog(restored_atlas: RestoredAtlas, evidence: DrillEvidence) -> None:
    """With readiness not requiring the catalog, or in cached-only mode, `/readyz` would say ready whatever was
    restored: then a passing readiness check would prove nothing, so such a restored configuration fails here."""
    env = restored_atlas.sandbox.env
    values = env.values if env is not None else {}
    evidence.equal(
        "readiness requires the catalog",
        expected="true",
        observed=values.get("ATLAS_READINESS_REQUIRES_CATALOG", "true").lower(),
        where="config/atlas.env: ATLAS_READINESS_REQUIRES_CATALOG",
    )
    evidence.equal(
        "not cached-only (recovery must not depend on cache state)",
        expected="false",
        observed=values.get("ATLAS_CACHED_ONLY_MODE", "false").lower(),
        where="config/atlas.env: ATLAS_CACHED_ONLY_MODE",
    )
    evidence.assert_ok()


def test_the_restored_configuration_would_serve_the_backed_up_store(
    restored_atlas: RestoredAtlas, evidence: DrillEvidence
) -> None:
    """The sandbox sets its own bind address, store root and cache root on top of the restored configuration, which
    would hide a restored setting that misbehaves in production. So the restored settings are judged as they are,
    before any override: a store root other than the one backed up would serve another store (or none), and a cache
    root inside the store writes cache state into what recovery restores (and backs up) as durable."""
    env = restored_atlas.sandbox.env
    restored = env.restored if env is not None else {}
    target = restored_atlas.sandbox.request.target
    backed_up = restored_atlas.restore.manifest.source.get("store_root", "")
    configured_store = restored.get(target.store_env)
    where = f"config/atlas.env: {target.store_env}"
    evidence.record(
        "store root is the one backed up",
        configured_store is None or _same_path(configured_store, backed_up),
        expected=f"unset (left to the deployment) or {backed_up}",
        observed=configured_store,
        where=where,
        message="the restored configuration would serve another store than the backup holds",
    )
    store_root = configured_store or backed_up
    cache_root = restored.get(target.cache_env)
    evidence.record(
        "cache root outside the store",
        cache_root is None or not store_root or not _inside(cache_root, store_root),
        expected=f"a cache root outside {store_root}",
        observed=cache_root,
        where=f"config/atlas.env: {target.cache_env}",
        message="a cache inside the serving store mixes disposable state into the durable store",
    )
    evidence.assert_ok()


def _normal(path: str) -> PurePosixPath:
    return PurePosixPath(posixpath.normpath(path))


def _same_path(a: str, b: str) -> bool:
    return _normal(a) == _normal(b)


def _inside(path: str, root: str) -> bool:
    return _normal(path).is_relative_to(_normal(root))


def test_the_restored_catalog_is_one_atlas_loads(restored_atlas: RestoredAtlas, evidence: DrillEvidence) -> None:
    """Atlas's readiness is its catalog refresh: present, parsable, strictly sorted, and matching `catalog.sha256`
    when that exists. Checking the restored files the same way names the cause when the target is not ready."""
    store = restored_atlas.staging / STORE
    catalog, problem = restored_catalog(restored_atlas.staging)
    evidence.equal("catalog present and parsable", expected=None, observed=problem, where="store/catalog.json")
    if catalog is not None:
        evidence.equal(
            "catalog strictly sorted and unique",
            expected=[],
            observed=[str(v) for v in catalog.validate_sorted()],
            where="store/catalog.json",
        )
        mismatch = check_catalog_checksum(store, catalog)
        evidence.equal(
            "catalog.sha256 matches the catalog",
            expected=None,
            observed=str(mismatch) if mismatch else None,
            where="store/catalog.sha256",
        )
    evidence.assert_ok()


@pytest.mark.destructive
def test_sigterm_drains_as_atlas_does(
    restored_atlas: RestoredAtlas, atlas: AtlasClient, evidence: DrillEvidence
) -> None:
    restored_atlas.sandbox.terminate()
    seen: dict[str, object] = {}
    deadline = time.monotonic() + DRAIN_WATCH_S
    while time.monotonic() < deadline and not seen:
        try:
            overload = atlas.get("/healthz/overload")
            flags = overload.json() if overload.status in (200, 503) else {}
            if flags.get("draining") is True:
                live = atlas.get("/live")
                seen = {
                    "overload": {"live": flags.get("live"), "draining": True},
                    # Denied by policy (Atlas's default) or served: then it must say draining too.
                    "live": "denied by policy" if live.status == 403 else [live.status, live.json()],
                }
        except Exception:  # the process finished draining and exited before we looked
            break
        time.sleep(0.02)
    live_when_served = [503, {"live": False, "draining": True}]
    evidence.equal(
        "draining after SIGTERM",
        expected={
            "overload": {"live": False, "draining": True},
            "live": seen.get("live") if seen.get("live") == "denied by policy" else live_when_served,
        },
        observed=seen or "never observed draining",
        where="GET /healthz/overload, /live after SIGTERM",
    )
    evidence.assert_ok()
