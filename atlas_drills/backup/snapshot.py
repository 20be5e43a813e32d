"""Consistent, byte-faithful snapshots of SQLite artifacts that never write to, or need write access to, the store.

Atlas pins `sha256(gene_summary.sqlite)` in the dataset manifest and refuses to serve on a mismatch, so the snapshot
of a quiet artifact must be its exact bytes. Atlas's own compose file mounts the store read-only, and a backup must
neither change the serving store nor need to: no `-wal`/`-shm`/`-journal` file may appear beside an artifact and no
mtime may change. So the source is never opened for writing, and a WAL-format artifact is never opened by SQLite at
all (even a read-only open of a WAL database creates `-wal`/`-shm` files, or fails where it cannot).

- Rollback-journal file (header byte 18 = 1): opened `mode=ro` (creates nothing) in a read transaction, whose shared
  lock keeps any writer from committing while the file's bytes are copied. Byte-identical.
- WAL file (header byte 18 = 2, as ingest writes it) with no `-wal` file, or an empty one: every committed page is in
  the file; its bytes are copied. Byte-identical.
- WAL file with a non-empty `-wal` (a writer is, or was, at work): the file and its `-wal` are copied into a private
  folder of the backup's own work folder, where SQLite replays the committed frames (uncommitted ones are ignored) and
  checkpoints them into the copy. The snapshot then holds every committed row; it cannot be byte-identical to the
  source file, which alone does not hold them.

Each copy is checked against the source's identity (size, mtime, inode) before and after: a file that changed while
being copied is copied again, a few times, then refused with the reason.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path
from typing import Final

from atlas_drills.backup.errors import BackupCreateError

HEADER_SIZE: Final = 100
WAL_FORMAT: Final = 2
ATTEMPTS: Final = 5

FileState = tuple[int, int, int] | None  # (size, mtime_ns, inode), None when absent


def _state(path: Path) -> FileState:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    return (info.st_size, info.st_mtime_ns, info.st_ino)


def _is_wal_format(source: Path) -> bool:
    with source.open("rb") as handle:
        header = handle.read(HEADER_SIZE)
    return len(header) == HEADER_SIZE and header[18] == WAL_FORMAT


def _wal(source: Path) -> Path:
    return source.with_name(source.name + "-wal")


def snapshot_sqlite(source: Path, destination: Path) -> bool:
    """Snapshot `source` into the new file `destination` (its folder is the caller's private work folder).

    Returns True when the snapshot is byte-identical to the source file (always, unless committed pages were still
    in a `-wal` file beside it). Raises `BackupCreateError` when the source keeps changing or cannot be read."""
    for _attempt in range(ATTEMPTS):
        try:
            result = _snapshot_once(source, destination)
        except (sqlite3.Error, OSError) as exc:
            destination.unlink(missing_ok=True)
            raise BackupCreateError(
                f"{source}: cannot take a consistent snapshot ({exc}). The backup never writes to the store; if a "
                "hot journal or a damaged file is reported, let the writer finish or restore the artifact first."
            ) from exc
        if result is not None:
            return result
        destination.unlink(missing_ok=True)
    raise BackupCreateError(
        f"{source}: changed while being copied, {ATTEMPTS} times in a row. Atlas artifacts are immutable once "
        "published; stop whatever is writing it, then back up again."
    )


def _snapshot_once(source: Path, destination: Path) -> bool | None:
    """One attempt: True/False as `snapshot_sqlite`, None when the source changed during the copy."""
    if _is_wal_format(source):
        return _snapshot_wal(source, destination)
    return _snapshot_rollback(source, destination)


def _snapshot_rollback(source: Path, destination: Path) -> bool | None:
    reader = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM sqlite_master").fetchone()  # takes the shared lock
        before = _state(source)
        shutil.copyfile(source, destination)
        after = _state(source)
        reader.execute("COMMIT")
    finally:
        reader.close()
    if _is_wal_format(source):
        return None  # switched to WAL under us: take the WAL path next time
    return True if before == after else None


def _snapshot_wal(source: Path, destination: Path) -> bool | None:
    wal = _wal(source)
    before = (_state(source), _state(wal))
    if before[1] is None or before[1][0] == 0:
        shutil.copyfile(source, destination)
        return True if (_state(source), _state(wal)) == before else None
    replay = destination.with_name(destination.name + ".replay")
    replay.mkdir()
    try:
        copy = replay / source.name
        shutil.copyfile(source, copy)
        shutil.copyfile(wal, _wal(copy))
        if (_state(source), _state(wal)) != before:
            return None
        _checkpoint(copy)
        os.replace(copy, destination)
    finally:
        shutil.rmtree(replay, ignore_errors=True)
    return False


def _checkpoint(copy: Path) -> None:
    """Replay the copied WAL into the copied file (private folder: SQLite may create its side files there)."""
    connection = sqlite3.connect(copy, isolation_level=None)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        connection.close()  # the last connection to close deletes the -wal and -shm files
