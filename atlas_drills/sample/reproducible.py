"""Byte-reproducible gzip and tar: the same content always gives the same bytes.

gzip stores a modification time and, when it knows one, a file name in its header; tar stores times, owners and
the order members were added. All of them are pinned here, so a sample's digests depend on its content only.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

GZIP_LEVEL = 1  # inputs are big and written once; speed matters more than size


@contextmanager
def deterministic_gzip(path: Path, level: int = GZIP_LEVEL) -> Iterator[BinaryIO]:
    """A binary stream gzip-compressed into `path`: mtime 0 and no file name in the header."""
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=level, mtime=0) as gz:
        yield gz  # type: ignore[misc]


def tar_bytes(members: dict[str, bytes]) -> bytes:
    """An uncompressed ustar archive of `members` (name -> bytes): sorted, mtime 0, uid/gid 0, mode 0644."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name in sorted(members):
            data = members[name]
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def gzip_bytes(data: bytes, level: int = 9) -> bytes:
    """gzip of `data` with mtime 0 and no file name: the same bytes on every run."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=level, mtime=0) as gz:
        gz.write(data)
    return buffer.getvalue()
