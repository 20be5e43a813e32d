"""`backup create` reads a serving store without changing it, and needs no write access to it (Atlas's compose file
mounts the store read-only): WAL and rollback-journal artifacts are snapshotted byte for byte, and nothing beside
them appears or changes, not even an mtime."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from atlas_drills.backup.create import create_backup
from atlas_drills.backup.errors import BackupCreateError
from atlas_drills.backup.manifest import MANIFEST_NAME, parse_backup_manifest
from atlas_drills.backup.restore import restore_backup
from atlas_drills.backup.snapshot import snapshot_sqlite
from atlas_drills.backup.verify import verify_backup
from atlas_drills.store.artifact import file_format
from atlas_drills.store.layout import sqlite_path
from tests.backup.conftest import TINY_DATASET, TinySource, build_tiny_source

ROLLBACK_MEMBER = "store/legacy/gene_summary.sqlite"
CRASHED_MEMBER = "store/crashed/gene_summary.sqlite"


def _state(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every path below root (and root itself) with its size, mtime and mode: what must not change."""
    found = {}
    for path in [root, *root.rglob("*")]:
        info = os.lstat(path)
        found[str(path.relative_to(root))] = (info.st_size if path.is_file() else 0, info.st_mtime_ns, info.st_mode)
    return found


def _add_rollback_artifact(source: TinySource) -> Path:
    """A rollback-journal SQLite file (the format older builds left) next to the WAL one."""
    path = source.store / "legacy" / "gene_summary.sqlite"
    path.parent.mkdir()
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT)")
        db.executemany("INSERT INTO t VALUES (?, ?)", [(f"k{i}", "v" * 50) for i in range(200)])
        db.commit()
    assert file_format(path) == 1
    return path


def _add_crashed_wal_artifact(source: TinySource) -> Path:
    """A WAL artifact whose last committed rows are still in its -wal file (a writer stopped before checkpoint)."""
    live = source.root / "live.sqlite"
    shutil.copyfile(sqlite_path(source.store, TINY_DATASET), live)
    writer = sqlite3.connect(live, isolation_level=None)
    try:
        writer.execute("PRAGMA wal_autocheckpoint=0")
        writer.execute("INSERT INTO atlas_meta VALUES ('committed_in_wal', 'yes')")
        target = source.store / "crashed" / "gene_summary.sqlite"
        target.parent.mkdir()
        shutil.copyfile(live, target)
        shutil.copyfile(live.with_name("live.sqlite-wal"), target.with_name(target.name + "-wal"))
    finally:
        writer.close()
    for leftover in live.parent.glob("live.sqlite*"):
        leftover.unlink()
    assert target.with_name(target.name + "-wal").stat().st_size > 0
    return target


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _members(backup: Path) -> dict[str, str]:
    manifest = parse_backup_manifest((backup / MANIFEST_NAME).read_bytes())
    return {entry.path: entry.sha256 for entry in manifest.files}


def _check_backup(source: TinySource, backup: Path, tmp_path: Path) -> None:
    members = _members(backup)
    wal_artifact = sqlite_path(source.store, TINY_DATASET)
    assert file_format(wal_artifact) == 2
    assert members[f"store/{sqlite_path(Path(), TINY_DATASET).as_posix()}"] == _digest(wal_artifact)
    assert members[ROLLBACK_MEMBER] == _digest(source.store / "legacy" / "gene_summary.sqlite")
    assert verify_backup(backup).findings == []
    restored = restore_backup(backup, tmp_path / "staging")
    replayed = restored.staging / CRASHED_MEMBER
    with contextlib.closing(sqlite3.connect(f"{replayed.as_uri()}?mode=ro&immutable=1", uri=True)) as db:
        meta = dict(db.execute("SELECT k, v FROM atlas_meta").fetchall())
    assert meta.get("committed_in_wal") == "yes"  # replayed from the -wal into the snapshot
    assert not list(restored.staging.rglob("*-wal"))
    assert not list(restored.staging.rglob("*-shm"))


@pytest.fixture
def source(tmp_path: Path) -> TinySource:
    built = build_tiny_source(tmp_path / "src")
    _add_rollback_artifact(built)
    _add_crashed_wal_artifact(built)
    return built


def test_a_writable_store_is_left_exactly_as_it_was(source: TinySource, tmp_path: Path) -> None:
    before = _state(source.root)
    backup = create_backup(source.store, source.ops, source.config, tmp_path / "b.d").path
    assert _state(source.root) == before  # no -wal/-shm/-journal appeared, no mtime moved
    _check_backup(source, backup, tmp_path)


READ_ONLY = "Read-only file system"
MOUNT, UMOUNT = shutil.which("mount"), shutil.which("umount")


@contextlib.contextmanager
def _read_only_bind(source: Path, mountpoint: Path) -> Iterator[Path]:
    assert MOUNT is not None
    assert UMOUNT is not None
    mountpoint.mkdir()
    subprocess.run([MOUNT, "--bind", str(source), str(mountpoint)], check=True, capture_output=True)
    try:
        subprocess.run([MOUNT, "-o", "remount,bind,ro", str(mountpoint)], check=True, capture_output=True)
        yield mountpoint
    finally:
        subprocess.run([UMOUNT, str(mountpoint)], check=False, capture_output=True)


def _can_bind_mount(tmp_path: Path) -> str | None:
    """None when this process can make read-only bind mounts, else why not."""
    if os.geteuid() != 0:
        return "needs root to make a read-only bind mount (mount --bind -o ro)"
    if MOUNT is None or UMOUNT is None:
        return "no mount/umount command"
    probe = tmp_path / "probe"
    probe.mkdir()
    try:
        with _read_only_bind(probe, tmp_path / "probe-ro") as mounted, pytest.raises(OSError, match=READ_ONLY):
            (mounted / "x").write_bytes(b"")
    except (subprocess.CalledProcessError, pytest.fail.Exception) as exc:
        return f"read-only bind mounts are not allowed here ({exc})"
    return None


def test_a_read_only_mounted_store_backs_up_byte_for_byte(source: TinySource, tmp_path: Path) -> None:
    reason = _can_bind_mount(tmp_path)
    if reason:
        pytest.skip(reason)
    before = _state(source.root)
    with _read_only_bind(source.root, tmp_path / "ro") as mounted:
        ro = TinySource(mounted, mounted / "store", mounted / "ops", mounted / "config" / "atlas.env")
        with pytest.raises(OSError, match=READ_ONLY):
            (ro.store / "probe").write_bytes(b"")  # really read-only
        backup = create_backup(ro.store, ro.ops, ro.config, tmp_path / "b.d").path
        assert _state(mounted) == before
        _check_backup(ro, backup, tmp_path)
    assert _state(source.root) == before


def test_a_file_that_keeps_changing_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "a.sqlite"
    with contextlib.closing(sqlite3.connect(source)) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE t (k)")
    ticks = iter(range(1000))
    monkeypatch.setattr(
        "atlas_drills.backup.snapshot._state", lambda path: (next(ticks), 0, 0) if path == source else None
    )
    with pytest.raises(BackupCreateError, match="changed while being copied, 5 times"):
        snapshot_sqlite(source, tmp_path / "snap.sqlite")
    assert not (tmp_path / "snap.sqlite").exists()


def test_an_unreadable_artifact_is_refused_with_the_path(tmp_path: Path) -> None:
    source = tmp_path / "a.sqlite"
    source.write_bytes(b"SQLite format 3\x00" + b"\x10\x00\x01\x01" + b"\x00" * 200)
    with pytest.raises(BackupCreateError, match=r"a\.sqlite: cannot take a consistent snapshot"):
        snapshot_sqlite(source, tmp_path / "snap.sqlite")
