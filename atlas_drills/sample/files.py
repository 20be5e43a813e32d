"""Writing release files under OUT and remembering their digests, for the manifests that list them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from atlas_drills.store.canonical import sha256_hex


def pretty_json(value: Any) -> bytes:
    """How ops/ files are written: sorted keys, two-space indent, trailing newline (stable, reviewable)."""
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


class ReleaseTree:
    """OUT, seen as a set of files by path relative to OUT (as Atlas's paths are relative to its repo root)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.digests: dict[str, str] = {}

    def write(self, relpath: str, data: bytes) -> str:
        """Write `data` at OUT/`relpath`; return its sha256."""
        path = self.root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        digest = sha256_hex(data)
        self.digests[relpath] = digest
        return digest

    def write_json(self, relpath: str, value: Any) -> str:
        return self.write(relpath, pretty_json(value))

    def path_sha(self, relpath: str) -> dict[str, str]:
        """`{path, sha256}` of a file already written: the evidence manifest's `pathSha`."""
        return {"path": relpath, "sha256": self.digests[relpath]}
