"""Reading a backup's manifest without restoring it: what planning a drill needs (its digest and `created_at`).

The manifest is the first member of every archive (`create` writes it first), so this reads one member and stops:
cheap enough for collection on every xdist worker. A backup whose manifest cannot be read here is not refused here:
the drill's restore says exactly why; planning records the digest as unknown.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from atlas_drills.backup.archive import open_member_stream
from atlas_drills.backup.errors import BackupUnusable, RestoreRefused
from atlas_drills.backup.manifest import MANIFEST_NAME
from atlas_drills.backup.tarstream import Limits

# A manifest lists every file with its digest; 64 MiB is far above any real one and bounds what a hostile first
# member can make this read.
MAX_MANIFEST_BYTES: Final = 64 << 20
_PEEK_LIMITS: Final = Limits(
    max_total_bytes=MAX_MANIFEST_BYTES + (1 << 20), max_compression_ratio=1000.0, ratio_grace_bytes=MAX_MANIFEST_BYTES
)


@dataclass(frozen=True)
class ManifestPeek:
    """The backup manifest's sha256 and `created_at`, or why they could not be read (`problem`)."""

    sha256: str = ""
    created_at: str = ""
    problem: str = ""


def _manifest_bytes(backup: Path) -> bytes:
    if backup.is_dir():
        path = backup / MANIFEST_NAME
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise ValueError(f"{MANIFEST_NAME} is over {MAX_MANIFEST_BYTES} bytes")
        return path.read_bytes()
    with open_member_stream(backup, _PEEK_LIMITS) as stream:
        header = stream.next_member()
        if header is None:
            raise ValueError("the archive holds no member")
        name = header.name.removeprefix("./")
        if name != MANIFEST_NAME:
            raise ValueError(f"first member is {name!r}, expected {MANIFEST_NAME}")
        if header.size > MAX_MANIFEST_BYTES:
            raise ValueError(f"{MANIFEST_NAME} is {header.size} bytes, over {MAX_MANIFEST_BYTES}")
        return b"".join(bytes(chunk) for chunk in stream.data())


def peek_manifest(backup: Path) -> ManifestPeek:
    """The manifest's digest and creation time; never raises for a broken backup (the drill will say why)."""
    try:
        data = _manifest_bytes(backup)
    except (OSError, ValueError, BackupUnusable, RestoreRefused) as exc:
        return ManifestPeek(problem=f"{MANIFEST_NAME} unreadable: {exc}")
    digest = hashlib.sha256(data).hexdigest()
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return ManifestPeek(sha256=digest, problem=f"{MANIFEST_NAME} is not JSON: {exc}")
    created = document.get("created_at") if isinstance(document, dict) else None
    if not isinstance(created, str) or not created:
        return ManifestPeek(sha256=digest, problem=f"{MANIFEST_NAME} has no created_at")
    return ManifestPeek(sha256=digest, created_at=created)
