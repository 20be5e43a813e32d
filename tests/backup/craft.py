"""Hand-made archives for the refusal tests: real tar files written with `tarfile`, with a minimal valid manifest
unless a test wants otherwise."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from atlas_drills.backup.manifest import IDENTITY_PATH, MANIFEST_NAME, class_for

IDENTITY_BYTES = b'{"release_id":"ops_run-x","git_sha":"abc","governance_version":"main@abc"}'


@dataclass
class Member:
    """One tar member to write. `data` is written for regular files; other fields go to the header."""

    name: str
    data: bytes = b""
    type: bytes = tarfile.REGTYPE
    mode: int = 0o644
    linkname: str = ""
    size: int | None = None  # header size when it must lie about the data
    pax: dict[str, str] | None = None  # pax records written verbatim (a hostile 'size', 'path', ...)


def manifest_document(files: Mapping[str, bytes | tuple[int, str]]) -> dict[str, Any]:
    entries = []
    for path in sorted(files):
        value = files[path]
        size, sha = (len(value), hashlib.sha256(value).hexdigest()) if isinstance(value, bytes) else value
        entries.append({"path": path, "size": size, "sha256": sha, "class": class_for(path)})
    return {
        "format": "atlas-backup/1",
        "backup_id": "20260101T000000Z-0123456789ab",
        "created_at": "2026-01-01T00:00:00Z",
        "source": {"host": "test", "store_root": "/s", "ops_root": "/o", "config": "/c"},
        "release": {
            "release_id": "ops_run-x",
            "git_sha": "abc",
            "governance_version": "main@abc",
            "identity_path": IDENTITY_PATH,
        },
        "files": entries,
        "excluded": [],
        "tool": {"name": "atlas-drills", "version": "0.1.0"},
    }


def manifest_bytes(files: Mapping[str, bytes | tuple[int, str]]) -> bytes:
    return json.dumps(manifest_document(files), indent=2, sort_keys=True).encode()


def base_files() -> dict[str, bytes]:
    """The smallest set a valid manifest may list: the release identity, plus one store file."""
    return {IDENTITY_PATH: IDENTITY_BYTES, "store/catalog.json": b'{"datasets":[],"model_version":"v1"}'}


def members_for(files: dict[str, bytes]) -> list[Member]:
    return [Member(path, data) for path, data in sorted(files.items())]


def tar_bytes(members: Iterable[Member], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as archive:
        for member in members:
            info = tarfile.TarInfo(member.name)
            info.type = member.type
            info.mode = member.mode
            info.linkname = member.linkname
            info.mtime = 1_700_000_000
            info.pax_headers = dict(member.pax or {})
            if member.type in (tarfile.REGTYPE, tarfile.AREGTYPE):
                info.size = len(member.data) if member.size is None else member.size
                payload = member.data + bytes(max(0, info.size - len(member.data)))
                archive.addfile(info, io.BytesIO(payload[: info.size]))
            else:
                archive.addfile(info)
    return buffer.getvalue()


def write_archive(
    path: Path,
    members: Iterable[Member],
    *,
    listed: Mapping[str, bytes | tuple[int, str]] | None = None,
    manifest: bytes | None = None,
    manifest_first: bool = True,
) -> Path:
    """Write a tar (compressed by `path`'s suffix) whose first member is a manifest listing `listed`."""
    body = list(members)
    head = Member(MANIFEST_NAME, manifest if manifest is not None else manifest_bytes(listed or {}))
    ordered = [head, *body] if manifest_first else [*body, head]
    data = tar_bytes(ordered)
    if path.name.endswith(".tar.gz"):
        data = gzip.compress(data, mtime=0)
    elif path.name.endswith(".tar.zst"):
        import zstandard

        data = zstandard.ZstdCompressor().compress(data)
    path.write_bytes(data)
    return path


def compress_for(path: Path, data: bytes) -> bytes:
    """`data` compressed as `path`'s suffix asks (.tar.gz, .tar.zst) or as is."""
    if path.name.endswith(".tar.gz"):
        return gzip.compress(data, mtime=0)
    if path.name.endswith(".tar.zst"):
        import zstandard

        return zstandard.ZstdCompressor().compress(data)
    return data


def raw_header(name: str, size: bytes | int, typeflag: bytes = b"0") -> bytes:
    """One ustar header block with `size` written into its field verbatim (bytes) or as octal, and a correct
    checksum: for header fields `tarfile` will not write (a negative or non-octal size)."""
    block = bytearray(512)
    block[0 : len(name.encode())] = name.encode()
    block[100:108] = b"0000644\0"
    block[108:116] = block[116:124] = b"0000000\0"
    field = size if isinstance(size, bytes) else f"{size:011o}\0".encode()
    block[124:136] = field.ljust(12, b"\0")[:12]
    block[136:148] = b"00000000000\0"
    block[156:157] = typeflag
    block[257:265] = b"ustar\x0000"
    block[148:156] = b" " * 8
    block[148:156] = f"{sum(block):06o}\0 ".encode()
    return bytes(block)
