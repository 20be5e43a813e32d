"""Canonical JSON and digests, exactly as Atlas computes them.

Atlas hashes *canon(x)*: JSON with recursively sorted keys, compact separators, UTF-8, and float 0 normalized to 0
(`domain/canonical.rs`). Everything in the store model that hashes JSON goes through `canonical_bytes`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

_READ_CHUNK = 1 << 20


def _normalize(value: Any) -> Any:
    # Rust's canonicaliser writes -0.0 and 0.0 as the integer 0; json.dumps would write "0.0".
    if isinstance(value, float) and value == 0.0:
        return 0
    if isinstance(value, dict):
        return {key: _normalize(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_normalize(item) for item in value]
    return value


def canonical_bytes(value: Any) -> bytes:
    """canon(x): sorted keys, compact, UTF-8 (not ASCII-escaped)."""
    text = json.dumps(_normalize(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def compact_bytes(value: Any) -> bytes:
    """Compact JSON in the given key order: what serde writes for a struct (`serde_json::to_vec`)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_sha256(value: Any) -> str:
    return sha256_hex(canonical_bytes(value))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_READ_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def is_sha256_hex(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(ch in "0123456789abcdef" for ch in value)
