"""Restore hashes and writes on two worker threads while the main thread reads the next chunk: the result must be
the same as one thread doing everything. These tests use members many buffers long and slow down or break the
workers on purpose: a buffer reused before the writer is done would corrupt the restored file, a write error on the
writer thread must surface as the same environment error naming the file, a digest mismatch found by the hash thread
is refused by rule, and every way out leaves no staging and no worker thread behind."""

from __future__ import annotations

import errno
import hashlib
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from atlas_drills.backup import pipeline
from atlas_drills.backup.errors import BackupEnvironmentError, RestoreRefused, Rule
from atlas_drills.backup.manifest import MANIFEST_NAME
from atlas_drills.backup.restore import RestoreLimits, restore_backup
from atlas_drills.backup.verify import verify_backup
from tests.backup.craft import base_files, manifest_bytes, members_for, write_archive

# The reader's smallest buffer is 128 KiB; a 3 MiB member spans about 24 of them, so the ring of four turns over.
SMALL_BUFFERS = RestoreLimits(buffer_size=1 << 17)
BIG = "store/release=1/big.bin"
KINDS = ["tar", "tar.zst", "tar.gz"]


def _big_archive(folder: Path, kind: str, content: bytes, listed: bytes | None = None) -> Path:
    files = {**base_files(), BIG: content}
    listing: dict[str, bytes | tuple[int, str]] = {**files, BIG: content if listed is None else listed}
    return write_archive(folder / f"big.{kind}", members_for(files), listed=listing)


def _workers_alive() -> list[str]:
    return [thread.name for thread in threading.enumerate() if thread.name.startswith("restore-")]


@pytest.fixture
def slow_short_writes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The writer thread writes at most 10 000 bytes per call, pausing now and then: it falls far behind the
    reader, which must wait for it rather than read over a buffer the writer still holds."""
    real_write = os.write
    calls: list[int] = []

    def slow(fd: int, data: memoryview) -> int:
        calls.append(fd)
        if len(calls) % 50 == 0:
            time.sleep(0.001)
        return real_write(fd, data[:10_000])

    monkeypatch.setattr(pipeline, "write_some", slow)
    return calls


@pytest.mark.parametrize("kind", KINDS)
def test_a_slow_writer_still_restores_every_byte(tmp_path: Path, kind: str, slow_short_writes: list[int]) -> None:
    content = os.urandom(3 << 20)
    archive = _big_archive(tmp_path, kind, content)
    result = restore_backup(archive, tmp_path / "staging", SMALL_BUFFERS)
    assert (result.staging / BIG).read_bytes() == content
    assert result.digests[BIG] == hashlib.sha256(content).hexdigest()
    assert slow_short_writes, "the writer thread did not write"
    assert _workers_alive() == []


@pytest.mark.parametrize("kind", KINDS)
def test_a_digest_mismatch_found_by_the_hash_thread_is_refused_and_leaves_nothing(tmp_path: Path, kind: str) -> None:
    content = os.urandom(3 << 20)
    damaged = content[:-1] + bytes([content[-1] ^ 1])  # the last byte, hashed in the last chunk
    archive = _big_archive(tmp_path, kind, damaged, listed=content)
    with pytest.raises(RestoreRefused) as caught:
        restore_backup(archive, tmp_path / "staging", SMALL_BUFFERS)
    refused = caught.value
    assert (refused.member, refused.rule) == (BIG, Rule.DIGEST_MISMATCH)
    assert (refused.expected, refused.observed) == (
        hashlib.sha256(content).hexdigest(),
        hashlib.sha256(damaged).hexdigest(),
    )
    assert not (tmp_path / "staging").exists()
    assert _workers_alive() == []


def test_the_same_archive_undamaged_restores(tmp_path: Path) -> None:
    """The counterpart of the refusal above: the same shape of archive with the right digest is accepted."""
    content = os.urandom(3 << 20)
    result = restore_backup(_big_archive(tmp_path, "tar", content), tmp_path / "staging", SMALL_BUFFERS)
    assert (result.staging / BIG).read_bytes() == content


@pytest.mark.parametrize("kind", KINDS)
def test_a_write_error_on_the_writer_thread_names_the_file_and_stops_writing(
    tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write
    after_error: list[int] = []
    failed = threading.Event()

    def full_disk(fd: int, data: memoryview) -> int:
        if failed.is_set():
            after_error.append(fd)
        if os.fstat(fd).st_size >= 1 << 20:
            failed.set()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(pipeline, "write_some", full_disk)
    archive = _big_archive(tmp_path, kind, os.urandom(3 << 20))
    staging = tmp_path / "staging"
    with pytest.raises(BackupEnvironmentError) as caught:
        restore_backup(archive, staging, SMALL_BUFFERS)
    assert caught.value.path == str(staging.resolve() / BIG)
    assert "No space left on device" in str(caught.value)
    assert failed.is_set()
    assert after_error == [], "the writer went on writing after the error"
    assert not staging.exists()
    assert _workers_alive() == []


def test_a_restore_interrupted_while_the_workers_are_busy_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write
    writes: list[float] = []

    def interrupt_midway(fd: int, data: memoryview) -> int:
        writes.append(time.monotonic())
        if len(writes) == 5:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C, delivered to the main thread (workers block it)
        time.sleep(0.002)
        return real_write(fd, data)

    monkeypatch.setattr(pipeline, "write_some", interrupt_midway)
    archive = _big_archive(tmp_path, "tar", os.urandom(3 << 20))
    staging = tmp_path / "staging"
    with pytest.raises(KeyboardInterrupt):
        restore_backup(archive, staging, SMALL_BUFFERS)
    done = time.monotonic()
    assert not staging.exists()
    assert _workers_alive() == []
    time.sleep(0.05)
    assert all(at <= done for at in writes), "a worker wrote after the restore had returned"
    assert len(writes) < 24, "the interrupt did not stop the member"


def test_a_truncated_big_member_is_refused_with_writes_in_flight(tmp_path: Path, slow_short_writes: list[int]) -> None:
    archive = _big_archive(tmp_path, "tar", os.urandom(3 << 20))
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])
    with pytest.raises(RestoreRefused) as caught:
        restore_backup(archive, tmp_path / "staging", SMALL_BUFFERS)
    assert (caught.value.member, caught.value.rule) == (BIG, Rule.TRUNCATED_ARCHIVE)
    assert not (tmp_path / "staging").exists()
    assert _workers_alive() == []


def test_a_directory_backup_read_through_the_ring_restores(tmp_path: Path, slow_short_writes: list[int]) -> None:
    content = os.urandom(3 << 20)
    files = {**base_files(), BIG: content}
    folder = tmp_path / "backup"
    for path, data in {**files, MANIFEST_NAME: manifest_bytes(files)}.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)
    result = restore_backup(folder, tmp_path / "staging", SMALL_BUFFERS)
    assert (result.staging / BIG).read_bytes() == content
    assert _workers_alive() == []


# -- verify reads through the same pipeline (hash only, or hash and a private SQLite copy) ------------------------

SQLITE = "store/release=1/derived/big.sqlite"


@pytest.mark.parametrize("member", [BIG, SQLITE])
def test_verify_with_a_slow_writer_sees_every_byte(tmp_path: Path, member: str, slow_short_writes: list[int]) -> None:
    content = os.urandom(3 << 20)
    damaged = content[:-1] + bytes([content[-1] ^ 1])
    files = {**base_files(), member: content}
    archive = write_archive(tmp_path / "b.tar", members_for({**files, member: damaged}), listed=files)
    findings = {(f.rule, f.member): f for f in verify_backup(archive, SMALL_BUFFERS).findings}
    mismatch = findings[(Rule.DIGEST_MISMATCH, member)]
    assert (mismatch.expected, mismatch.observed) == (
        hashlib.sha256(content).hexdigest(),
        hashlib.sha256(damaged).hexdigest(),
    )
    assert bool(slow_short_writes) == (member == SQLITE), "only a SQLite member is copied"
    assert _workers_alive() == []
    intact = write_archive(tmp_path / "ok.tar", members_for(files), listed=files)
    assert (Rule.DIGEST_MISMATCH, member) not in {(f.rule, f.member) for f in verify_backup(intact).findings}


def test_verify_names_its_private_copy_when_the_disk_is_full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full_disk(fd: int, data: memoryview) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pipeline, "write_some", full_disk)
    files = {**base_files(), SQLITE: os.urandom(1 << 20)}
    archive = write_archive(tmp_path / "b.tar", members_for(files), listed=files)
    with pytest.raises(BackupEnvironmentError) as caught:
        verify_backup(archive, SMALL_BUFFERS)
    assert caught.value.path.endswith("member.sqlite")
    assert "write a private copy for integrity_check" in str(caught.value)
    assert not Path(caught.value.path).exists()
    assert _workers_alive() == []
