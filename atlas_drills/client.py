"""A small HTTP client for an Atlas service (the stand-in or a real Atlas), used by the drills.

Only ever pointed at the sandbox's own `http://127.0.0.1:<port>`. Every request has a timeout; nothing retries
silently, because a drill must see exactly what the restored service answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from atlas_drills.store.dataset_id import DatasetId

TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON; an empty object when the body is not JSON (a check then sees the missing fields)."""
        import json

        try:
            return json.loads(self.body)
        except ValueError:
            return {}


class AtlasClient:
    def __init__(self, base_url: str, timeout_s: float = TIMEOUT_S) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self._session = requests.Session()

    def get(self, path: str, params: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> Answer:
        try:
            response = self._session.get(self.base_url + path, params=params, headers=headers, timeout=self.timeout_s)
        except requests.RequestException as exc:
            # A service that is down or hangs is an answer too: status 0, so checks record it as a finding.
            return Answer(0, {}, f"no answer: {type(exc).__name__}: {exc}".encode())
        return Answer(response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.content)

    def dataset(self, dataset: DatasetId, **params: str) -> Answer:
        return self.get(f"/v1/datasets/{dataset.canonical}", params or None)

    def dataset_params(self, dataset: DatasetId) -> dict[str, str]:
        return {"release": dataset.release, "species": dataset.species, "assembly": dataset.assembly}

    def close(self) -> None:
        self._session.close()
