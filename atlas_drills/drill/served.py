"""What a restored service answers about its datasets, read the way the drill checks need it (never raising on an
unexpected answer: a wrong status becomes an observed value)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from atlas_drills.client import Answer, AtlasClient
from atlas_drills.store.dataset_id import DatasetId

SETTLE_TIMEOUT_S = 15.0
LIST_LIMIT = "500"


def dataset_key(item: dict[str, Any]) -> str:
    """`release/species/assembly` of a `/v1/datasets` item."""
    return "/".join(item["dataset"][k] for k in ("release", "species", "assembly"))


def listed_items(atlas: AtlasClient, **params: str) -> list[dict[str, Any]]:
    """The items `/v1/datasets` lists ([] when it does not answer 200)."""
    answer = atlas.get("/v1/datasets", {"limit": LIST_LIMIT, **params})
    return list(answer.json().get("data", {}).get("items", [])) if answer.status == 200 else []


def listed_datasets(atlas: AtlasClient) -> list[str]:
    return [dataset_key(item) for item in listed_items(atlas)]


def catalog_epoch(atlas: AtlasClient, dataset: DatasetId) -> Any:
    """The catalog epoch a gene count of `dataset` reports, or the HTTP status when it does not answer 200."""
    answer = atlas.get("/v1/genes/count", atlas.dataset_params(dataset))
    return answer.json().get("catalog_epoch") if answer.status == 200 else f"HTTP {answer.status}"


def rows(answer: Answer) -> list[dict[str, Any]]:
    """The rows of a query answer ([] when it does not answer 200)."""
    return list(answer.json().get("data", {}).get("rows", [])) if answer.status == 200 else []


def wait_until(check: Callable[[], bool], timeout_s: float = SETTLE_TIMEOUT_S) -> bool:
    """Poll `check` until it holds or the time is up (the service re-reads its catalog on its own schedule)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return bool(check())
