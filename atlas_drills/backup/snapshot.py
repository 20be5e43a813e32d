"""Consistent, byte-faithful snapshots of SQLite artifacts.

SQLite's online backup API gives a consistent copy even while a writer has the database open, but it rewrites four
bookkeeping fields of the 100-byte database header in the copy (change counter, schema cookie, version-valid-for,
library version). Atlas pins `sha256(gene_summary.sqlite)` in the dataset manifest and refuses to serve on a
mismatch, so a copy that differs only there would restore into a store that never serves. The snapshot therefore
reads the source header inside the same read transaction as the backup and puts those fields back whenever they
are the *only* difference: the result is then byte-identical to a quiescent source, and still consistent when the
source was being written (its header is then left exactly as SQLite wrote it).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Final

HEADER_SIZE: Final = 100
# https://www.sqlite.org/fileformat2.html#the_database_header: change counter, schema cookie, version-valid-for
# and SQLITE_VERSION_NUMBER, the fields sqlite3_backup_step rewrites in the destination.
BOOKKEEPING_FIELDS: Final = ((24, 28), (40, 44), (92, 96), (96, 100))


def _restore_bookkeeping(source_header: bytes, snapshot: Path) -> bool:
    fd = os.open(snapshot, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        copied = bytearray(os.pread(fd, HEADER_SIZE, 0))
        if len(copied) < HEADER_SIZE or len(source_header) < HEADER_SIZE:
            return False
        patched = bytearray(copied)
        for start, end in BOOKKEEPING_FIELDS:
            patched[start:end] = source_header[start:end]
        if bytes(patched) != source_header:
            return False  # differs elsewhere too: the source changed under us (e.g. a WAL); keep SQLite's header
        if patched != copied:
            os.pwrite(fd, bytes(patched), 0)
        return True
    finally:
        os.close(fd)


def snapshot_sqlite(source: Path, destination: Path) -> bool:
    """Snapshot `source` into the new file `destination` with the online backup API. Returns True when the
    snapshot header matches the source header byte for byte (always, for a database nobody is writing)."""
    reader = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    try:
        # One read transaction around both the header read and the copy, so they see the same database state.
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM sqlite_master").fetchone()
        with source.open("rb") as handle:
            source_header = handle.read(HEADER_SIZE)
        target = sqlite3.connect(destination, isolation_level=None)
        try:
            reader.backup(target)
        finally:
            target.close()
        reader.execute("COMMIT")
    finally:
        reader.close()
    return _restore_bookkeeping(source_header, destination)
