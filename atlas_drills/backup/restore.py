"""Safe restore: verify and extract in one pass into a fresh staging folder, or refuse and leave nothing behind.

The manifest comes first, so every later member is checked against it *before* a byte is written: where it lands,
what it is, whether it is listed, whether its size is right. Data is hashed as it is written; a digest mismatch,
a missing member or any other broken rule raises `RestoreRefused(member, rule, expected, observed)` and removes the
staging folder. Files are created with O_EXCL|O_NOFOLLOW relative to directory descriptors opened (O_NOFOLLOW)
from the resolved staging root, so no path in the archive, and no link planted in staging meanwhile, can make the
restore write elsewhere. The backup is opened read-only and never modified. Hashing and writing run on two worker
threads (`pipeline`) while the main thread reads the next chunk and keeps every check and every decision.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from atlas_drills.backup.archive import MemberStream, kind_of_existing, open_member_stream
from atlas_drills.backup.errors import (
    PATH_SHOWN,
    WHOLE_ARCHIVE,
    BackupEnvironmentError,
    BackupError,
    BackupUnusable,
    RestoreRefused,
    Rule,
    printable,
)
from atlas_drills.backup.interrupts import interruptible, signals_held
from atlas_drills.backup.manifest import MANIFEST_NAME, BackupManifest, ManifestInvalid, parse_backup_manifest
from atlas_drills.backup.pipeline import RING_BUFFERS, HashWritePipeline, MemberWork
from atlas_drills.backup.rules import MemberLedger, header_finding, normalized_name
from atlas_drills.backup.tarstream import DEFAULT_BUFFER, DIRECTORY, FILE, Limits, MemberHeader

_DIRECTORY_FLAGS: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_CREATE_FLAGS: Final = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True)
class RestoreLimits:
    """Bounds a restore enforces while it reads, so a hostile archive cannot fill the disk or the memory."""

    max_total_bytes: int = 1 << 40
    # Real backups (SQLite pages, JSON) compress 2-20x; past 1000x after the first 64 MiB is a bomb.
    max_compression_ratio: float = 1000.0
    ratio_grace_bytes: int = 64 << 20
    max_manifest_bytes: int = 64 << 20
    buffer_size: int = DEFAULT_BUFFER

    def stream_limits(self) -> Limits:
        return Limits(self.max_total_bytes, self.max_compression_ratio, self.ratio_grace_bytes)


@dataclass(frozen=True)
class RestoreResult:
    backup: Path
    kind: str
    staging: Path
    manifest: BackupManifest
    files: int
    restored_bytes: int
    archive_bytes_read: int
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase: open, verify_extract
    # The sha256 of every file the restore wrote, as hashed while writing it (each equal to the manifest's, or the
    # restore was refused), by path relative to staging: checks reuse it instead of reading the tree again.
    digests: dict[str, str] = field(default_factory=dict)


@contextlib.contextmanager
def environment_errors(path: Path, action: str) -> Iterator[None]:
    """An `OSError` (permission, full disk, I/O error) becomes `BackupEnvironmentError` naming its path: the
    backup is not at fault, and the user gets one line instead of a traceback."""
    try:
        yield
    except BackupError:
        raise
    except OSError as exc:
        where = exc.filename if exc.filename is not None else path
        raise BackupEnvironmentError(where, action, exc) from exc


def refuse(finding_member: str, rule: str, expected: object, observed: object, hint: str = "") -> RestoreRefused:
    return RestoreRefused(finding_member, rule, expected, observed, hint)


def read_manifest(stream: MemberStream, limits: RestoreLimits) -> BackupManifest:
    """The first member, which must be a valid `backup-manifest.json`."""
    header = stream.next_member()
    if header is None:
        raise refuse(WHOLE_ARCHIVE, Rule.MANIFEST_NOT_FIRST, f"{MANIFEST_NAME} as first member", "empty archive")
    name = normalized_name(header)
    if name != MANIFEST_NAME or header.kind != FILE:
        raise refuse(name, Rule.MANIFEST_NOT_FIRST, f"{MANIFEST_NAME} as first member", f"{header.kind} {name}")
    problem = header_finding(header)
    if problem is not None:
        raise refuse(problem.member, problem.rule, problem.expected, problem.observed)
    if header.size > limits.max_manifest_bytes:
        raise refuse(name, Rule.TOTAL_SIZE_LIMIT, f"manifest <= {limits.max_manifest_bytes} bytes", header.size)
    data = b"".join(bytes(chunk) for chunk in stream.data())
    try:
        manifest = parse_backup_manifest(data)
    except ManifestInvalid as exc:
        first, *others = exc.findings
        also = "Also: " + "; ".join(str(other) for other in others) if others else ""
        raise refuse(first.member, first.rule, first.expected, first.observed, also) from exc
    if manifest.total_size > limits.max_total_bytes:
        raise refuse(
            MANIFEST_NAME,
            Rule.TOTAL_SIZE_LIMIT,
            f"at most {limits.max_total_bytes} bytes",
            f"{manifest.total_size} bytes listed",
            "Raise RestoreLimits.max_total_bytes if this backup is genuinely that large.",
        )
    return manifest


class StagingWriter:
    """Creates folders and files strictly below one resolved root, through directory descriptors."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._folders: dict[str, int] = {"": os.open(root, _DIRECTORY_FLAGS)}

    def folder(self, relative: str) -> int:
        known = self._folders.get(relative)
        if known is not None:
            return known
        parent, _, name = relative.rpartition("/")
        parent_fd = self.folder(parent)
        with environment_errors(self.root / relative, "create a folder"):
            # Made earlier for a sibling, or listed as a directory member: either way opened with O_NOFOLLOW below.
            with contextlib.suppress(FileExistsError):
                os.mkdir(name, 0o755, dir_fd=parent_fd)
            fd = os.open(name, _DIRECTORY_FLAGS, dir_fd=parent_fd)
        self._folders[relative] = fd
        return fd

    def create(self, relative: str, executable: bool) -> int:
        parent, _, name = relative.rpartition("/")
        folder = self.folder(parent)
        with environment_errors(self.root / relative, "create a file"):
            fd = os.open(name, _CREATE_FLAGS, 0o600, dir_fd=folder)
            os.fchmod(fd, 0o755 if executable else 0o644)
        return fd

    def close(self) -> None:
        for fd in self._folders.values():
            os.close(fd)
        self._folders.clear()


def extract_member(
    stream: MemberStream,
    staging: StagingWriter,
    name: str,
    header: MemberHeader,
    sha256: str,
    *,
    pipeline: HashWritePipeline,
) -> int:
    """Write the current member to staging while hashing it (both on the pipeline's workers, while the next chunk
    is read); refuse on a digest or length mismatch. Returns the number of bytes written."""
    fd = staging.create(name, bool(header.mode & 0o111))
    work = MemberWork(fd)
    written = 0
    try:
        for chunk in stream.data():
            pipeline.submit(work, chunk)
            written += len(chunk)
            work.check(staging.root / name, "write")
        pipeline.settle(work)
        work.check(staging.root / name, "write")
    except BaseException:
        pipeline.cancel()  # nothing may still be writing when the file is closed and staging discarded
        raise
    finally:
        os.close(fd)
    if written != header.size:
        raise refuse(name, Rule.SIZE_MISMATCH, f"{header.size} bytes", f"{written} bytes")
    observed = work.digest.hexdigest()
    if observed != sha256:
        raise refuse(name, Rule.DIGEST_MISMATCH, sha256, observed)
    return written


def _prepare_staging(staging: Path) -> tuple[Path, bool]:
    """Resolve staging; create it (True) or accept an existing empty folder (False)."""
    shown = printable(staging, PATH_SHOWN)
    if os.path.lexists(staging):
        if staging.is_symlink() or not staging.is_dir():
            raise BackupUnusable(f"{shown}: exists and is not a folder; restore needs a new or empty folder")
        if any(staging.iterdir()):
            raise BackupUnusable(f"{shown}: folder is not empty; restore needs a new or empty folder")
        return staging.resolve(strict=True), False
    staging.mkdir(parents=True, mode=0o755)
    return staging.resolve(strict=True), True


def _discard(root: Path, created: bool) -> None:
    with signals_held():
        _remove_contents(root, created)


def _remove_contents(root: Path, created: bool) -> None:
    if created:
        shutil.rmtree(root, ignore_errors=True)
        return
    for child in root.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def restore_backup(backup: Path, staging: Path, limits: RestoreLimits | None = None) -> RestoreResult:
    """Verify and extract `backup` into `staging` in one pass. Raises `RestoreRefused` (staging removed) or
    `BackupUnusable` (bad arguments; nothing created)."""
    limits = limits or RestoreLimits()
    started = time.monotonic()
    kind = kind_of_existing(backup)
    with interruptible():
        with environment_errors(staging, "create the restore folder"):
            root, created = _prepare_staging(staging)
        try:
            with (
                environment_errors(backup, "read the backup"),
                open_member_stream(backup, limits.stream_limits(), limits.buffer_size) as stream,
            ):
                manifest = read_manifest(stream, limits)
                opened = time.monotonic()
                digests: dict[str, str] = {}
                files, restored = _extract_all(stream, manifest, root, digests)
                archive_bytes = stream.compressed_bytes
        except BaseException:
            _discard(root, created)
            raise
    finished = time.monotonic()
    return RestoreResult(
        backup=backup,
        kind=kind,
        staging=root,
        manifest=manifest,
        files=files,
        restored_bytes=restored,
        archive_bytes_read=archive_bytes,
        timings={"open": opened - started, "verify_extract": finished - opened, "total": finished - started},
        digests=digests,
    )


def _extract_all(
    stream: MemberStream, manifest: BackupManifest, root: Path, digests: dict[str, str]
) -> tuple[int, int]:
    ledger = MemberLedger(manifest)
    listed = manifest.by_path()
    writer = StagingWriter(root)
    pipeline = HashWritePipeline()
    stream.lend(RING_BUFFERS, pipeline.before_reuse)
    files = restored = 0
    try:
        while (header := stream.next_member()) is not None:
            name = normalized_name(header)
            problem = header_finding(header) or ledger.admit(name, header)
            if problem is not None:
                raise refuse(problem.member, problem.rule, problem.expected, problem.observed)
            if header.kind == DIRECTORY:
                if name:
                    writer.folder(name)
                continue
            restored += extract_member(stream, writer, name, header, listed[name].sha256, pipeline=pipeline)
            digests[name] = listed[name].sha256  # verified equal by extract_member
            files += 1
        missing = ledger.missing()
        first = next(missing, None)
        if first is not None:
            count = 1 + sum(1 for _ in missing)
            raise refuse(first.member, first.rule, first.expected, f"absent ({count} listed file(s) missing)")
        stream.finish()
    finally:
        pipeline.close()
        writer.close()
    return files, restored
