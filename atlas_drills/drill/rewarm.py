"""Cache rewarming, kept apart from recovery (Atlas's recovery page: "keep recovery procedures separate from cache
rewarming procedures").

After a drill's checks have run, so after its recovery verdict is decided, an optional `rewarm` step starts a fresh
target on the same recovered state with an empty cache, opens every dataset it serves and replays the baseline's
recorded queries, and times that on its own: the *time to warm*. It is reported beside the recovery time (RTO), never
inside it, and never changes a verdict: its own failures are listed with it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from typing import Any

from atlas_drills.backup.baseline import BASELINE_MEMBER, drop_volatile
from atlas_drills.client import AtlasClient
from atlas_drills.drill.life import RestoredAtlas, sandbox_for
from atlas_drills.drill.served import listed_datasets
from atlas_drills.sandbox.base import SandboxError, TargetFailed
from atlas_drills.store.dataset_id import DatasetId, DatasetIdError

REWARM_FOLDER = "rewarm"


@dataclass
class RewarmResult:
    """How long a fresh target on the recovered state took to warm, and what went wrong doing it."""

    ready_s: float = 0.0  # starting the fresh target until ready (its cache empty)
    warm_s: float = 0.0  # time to warm: from ready to every served dataset opened and every recorded query replayed
    datasets: list[dict[str, Any]] = field(default_factory=list)  # each served dataset, with its open time
    queries: int = 0
    failures: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ready_s": round(self.ready_s, 3),
            "warm_s": round(self.warm_s, 3),
            "datasets": self.datasets,
            "queries": self.queries,
            "failures": list(self.failures),
        }


def _recorded(atlas: RestoredAtlas) -> dict[str, list[dict[str, Any]]]:
    """The baseline's recorded queries by dataset ({} when the backup recorded none)."""
    try:
        document = json.loads((atlas.staging / BASELINE_MEMBER).read_bytes())
    except (OSError, ValueError):
        return {}
    datasets = document.get("datasets", []) if isinstance(document, dict) else []
    return {str(d.get("dataset")): list(d.get("queries", [])) for d in datasets if isinstance(d, dict)}


def _replay(client: AtlasClient, dataset: str, queries: list[dict[str, Any]], result: RewarmResult) -> None:
    for query in queries:
        result.queries += 1
        answer = client.get(query["path"], query["query"])
        body = drop_volatile(answer.json())
        if answer.status != query.get("status") or body != query.get("response"):
            result.failures.append(
                f"{dataset} {query.get('name')}: GET {query['path']} answered {answer.status}"
                + (", not the recorded answer" if answer.status == query.get("status") else "")
            )


def rewarm(atlas: RestoredAtlas) -> RewarmResult:
    """Start a fresh target on `atlas`'s recovered state, then open and query every served dataset, timed."""
    result = RewarmResult()
    request = replace(atlas.sandbox.request, work_dir=atlas.sandbox.request.work_dir / REWARM_FOLDER)
    request.work_dir.mkdir(parents=True, exist_ok=True)
    recorded = _recorded(atlas)
    try:
        with sandbox_for(atlas.choice, request) as sandbox:
            began = time.monotonic()
            try:
                sandbox.start()
            except TargetFailed as exc:
                result.failures.append(f"the fresh target did not come up ready: {exc}")
                return result
            finally:
                result.ready_s = time.monotonic() - began
            client = AtlasClient(sandbox.base_url)
            try:
                warm_began = time.monotonic()
                served = listed_datasets(client)
                if not served:
                    result.failures.append("GET /v1/datasets listed no dataset to open")
                for name in served:
                    opened = time.monotonic()
                    try:
                        params = client.dataset_params(DatasetId.parse(name))
                    except DatasetIdError as exc:
                        result.failures.append(f"{name}: {exc}")
                        continue
                    answer = client.get("/v1/genes/count", params)  # opens it: copied into the cache, verified
                    if answer.status != 200:
                        result.failures.append(f"{name}: opening it (GET /v1/genes/count) answered {answer.status}")
                    _replay(client, name, recorded.get(name, []), result)
                    result.datasets.append({"dataset": name, "seconds": round(time.monotonic() - opened, 3)})
                result.warm_s = time.monotonic() - warm_began
            finally:
                client.close()
    except SandboxError as exc:
        result.failures.append(f"no sandbox for the rewarm: {exc}")
    return result
