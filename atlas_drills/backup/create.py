"""`backup create`: snapshot, hash and write a store, its config and its release metadata as `atlas-backup/1`.

The manifest must be the first member (restore streams in one pass), yet it holds digests only known once every
file has been read, and each file is read exactly once. The manifest's rendering has the same length whatever the
digests are, so:
- `.tar`: reserve the manifest's blocks first, stream the files while hashing, then overwrite the reserved bytes;
- `.tar.gz`/`.tar.zst`: compress the files as one frame into a work file while hashing, then write the manifest as
  its own frame followed by the body frame's bytes (concatenated frames decompress as one stream);
- directory: write the files, then the manifest.
Output appears atomically: a hidden partial name in the same folder, renamed into place when complete.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from atlas_drills import TOOL_NAME, __version__
from atlas_drills.backup.archive import DIRECTORY_KIND, TAR, compressed_frame, kind_for_output
from atlas_drills.backup.errors import BackupCreateError
from atlas_drills.backup.manifest import (
    MANIFEST_NAME,
    PLACEHOLDER_SHA256,
    BackupFile,
    BackupManifest,
    class_for,
)
from atlas_drills.backup.progress import Progress
from atlas_drills.backup.snapshot import snapshot_sqlite
from atlas_drills.backup.sources import PlannedFile, SourcePlan, plan_sources
from atlas_drills.backup.tarstream import TarWriter

_CHUNK = 1 << 20
DEFAULT_BASELINE_SAMPLE = 5


@dataclass(frozen=True)
class CreateResult:
    path: Path
    kind: str
    manifest: BackupManifest
    archive_bytes: int
    seconds: float


def _timestamp(now: datetime) -> tuple[str, str]:
    moment = now.astimezone(UTC).replace(microsecond=0)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ"), moment.strftime("%Y%m%dT%H%M%SZ")


def _snapshot_all(plan: SourcePlan, work: Path) -> list[PlannedFile]:
    """Replace every SQLite artifact by a consistent snapshot in `work`; the snapshot is what gets hashed."""
    entries = []
    for index, planned in enumerate(plan.files):
        if not planned.is_sqlite or planned.content is not None:
            entries.append(planned)
            continue
        snapshot = work / f"snapshot-{index}.sqlite"
        snapshot_sqlite(planned.source, snapshot)
        entries.append(replace(planned, source=snapshot, size=snapshot.stat().st_size))
    return entries


def _stream_file(planned: PlannedFile, write: Callable[[memoryview], object], progress: Progress) -> str:
    """Read `planned` once, feeding each chunk to the digest and to `write`; return the sha256."""
    digest = hashlib.sha256()
    if planned.content is not None:
        view = memoryview(planned.content)
        digest.update(view)
        write(view)
        progress.advance(len(view))
        return digest.hexdigest()
    buffer = bytearray(_CHUNK)
    view = memoryview(buffer)
    done = 0
    fd = os.open(planned.source, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
        while count := os.readv(fd, [view]):
            done += count
            if done > planned.size:
                break  # grew since it was planned; reported below
            chunk = view[:count]
            digest.update(chunk)
            write(chunk)
            progress.advance(count)
    finally:
        os.close(fd)
    if done != planned.size:
        raise BackupCreateError(
            f"{planned.source}: changed while backing up (planned {planned.size} bytes, read {done}). Store "
            "artifacts are immutable: stop whatever is writing there, then run backup create again."
        )
    return digest.hexdigest()


def _write_tar_body(writer: TarWriter, entries: list[PlannedFile], progress: Progress) -> list[BackupFile]:
    files = []
    for planned in entries:
        writer.header(planned.member, planned.size, executable=planned.executable)
        sha256 = _stream_file(planned, writer.data, progress)
        writer.end_member()
        files.append(BackupFile(planned.member, planned.size, sha256, class_for(planned.member)))
    writer.close()
    return files


def _manifest_member_length(manifest_bytes: bytes) -> int:
    return 512 + len(manifest_bytes) + (-len(manifest_bytes) % 512)


def _write_plain_tar(
    partial: Path, template: BackupManifest, entries: list[PlannedFile], mtime: int, progress: Progress
) -> BackupManifest:
    placeholder = template.render()
    with partial.open("xb") as sink:
        writer = TarWriter(sink, mtime)
        writer.header(MANIFEST_NAME, len(placeholder))
        manifest_offset = writer.position
        writer.data(placeholder)
        writer.end_member()
        manifest = replace(template, files=tuple(_write_tar_body(writer, entries, progress)))
        final = manifest.render()
        if len(final) != len(placeholder):  # the reservation trick depends on this; never ship a broken header
            raise AssertionError("manifest length depends on digests")
        sink.seek(manifest_offset)
        sink.write(final)
        sink.flush()
        os.fsync(sink.fileno())
    return manifest


def _write_compressed_tar(
    *,
    kind: str,
    partial: Path,
    work: Path,
    template: BackupManifest,
    entries: list[PlannedFile],
    mtime: int,
    progress: Progress,
) -> BackupManifest:
    body = work / "body.frame"
    with body.open("xb") as raw, compressed_frame(kind, raw) as frame:
        # The body continues the tar stream after the manifest member, so record padding stays aligned.
        writer = TarWriter(frame, mtime)
        writer.position = _manifest_member_length(template.render())
        manifest = replace(template, files=tuple(_write_tar_body(writer, entries, progress)))
    final = manifest.render()
    with partial.open("xb") as sink:
        with compressed_frame(kind, sink) as frame:
            head = TarWriter(frame, mtime)
            head.header(MANIFEST_NAME, len(final))
            head.data(final)
            head.end_member()
        with body.open("rb") as frames:
            shutil.copyfileobj(frames, sink, _CHUNK)
        sink.flush()
        os.fsync(sink.fileno())
    return manifest


def _write_directory(
    partial: Path, template: BackupManifest, entries: list[PlannedFile], progress: Progress
) -> BackupManifest:
    files = []
    for planned in entries:
        target = partial / planned.member
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as sink:
            sha256 = _stream_file(planned, sink.write, progress)
            os.fchmod(sink.fileno(), 0o755 if planned.executable else 0o644)
        files.append(BackupFile(planned.member, planned.size, sha256, class_for(planned.member)))
    manifest = replace(template, files=tuple(files))
    (partial / MANIFEST_NAME).write_bytes(manifest.render())
    (partial / MANIFEST_NAME).chmod(0o644)
    for folder, _, _ in os.walk(partial):
        os.chmod(folder, 0o755)  # noqa: S103 - backup folders are meant to be listable, like tar's 0755
    return manifest


def write_backup(
    out: Path,
    kind: str,
    *,
    template: BackupManifest,
    entries: list[PlannedFile],
    mtime: int,
    progress: Progress,
    work: Path,
) -> BackupManifest:
    """Write `entries` (sorted by member) as a backup of `kind` at `out`, atomically; return the final manifest."""
    partial = _partial_name(out)
    try:
        if kind == DIRECTORY_KIND:
            partial.mkdir(mode=0o755)
            manifest = _write_directory(partial, template, entries, progress)
        elif kind == TAR:
            manifest = _write_plain_tar(partial, template, entries, mtime, progress)
        else:
            manifest = _write_compressed_tar(
                kind=kind,
                partial=partial,
                work=work,
                template=template,
                entries=entries,
                mtime=mtime,
                progress=progress,
            )
        os.replace(partial, out)
    except BaseException:
        _remove(partial)
        raise
    return manifest


def _partial_name(out: Path) -> Path:
    return out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"


def create_backup(
    store_root: Path,
    ops_root: Path,
    config: Path,
    out: Path,
    *,
    baseline_from: str | None = None,
    baseline_sample: int = DEFAULT_BASELINE_SAMPLE,
    show_progress: bool | None = None,
    now: datetime | None = None,
) -> CreateResult:
    """Write a backup of the serving store, runtime config and release metadata to `out`."""
    started = time.monotonic()
    kind = kind_for_output(out)
    plan = plan_sources(store_root, ops_root, config)
    created_at, compact = _timestamp(now or datetime.now(UTC))
    mtime = int(datetime.strptime(created_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())
    # Work files (snapshots, compressed body) sit beside the output: that filesystem has room for the backup.
    with tempfile.TemporaryDirectory(prefix=f".{out.name}.work-", dir=out.parent) as work_dir:
        work = Path(work_dir)
        entries = _snapshot_all(plan, work)
        if baseline_from is not None:
            from atlas_drills.backup.baseline import BASELINE_MEMBER, record_baseline

            data = record_baseline(baseline_from, entries, baseline_sample, now=created_at)
            entries.append(PlannedFile(BASELINE_MEMBER, work / "queries.json", len(data), False, data))
            entries.sort(key=lambda planned: planned.member)
        template = BackupManifest(
            backup_id=f"{compact}-{uuid.uuid4().hex[:12]}",
            created_at=created_at,
            source={
                "host": socket.gethostname(),
                "store_root": str(plan.store_root),
                "ops_root": str(plan.ops_root),
                "config": str(plan.config),
            },
            release=plan.release,
            files=tuple(BackupFile(p.member, p.size, PLACEHOLDER_SHA256, class_for(p.member)) for p in entries),
            excluded=plan.exclusions,
            tool_name=TOOL_NAME,
            tool_version=__version__,
        )
        progress = Progress(f"backup {out.name}", sum(p.size for p in entries), enabled=show_progress)
        try:
            manifest = write_backup(
                out, kind, template=template, entries=entries, mtime=mtime, progress=progress, work=work
            )
        finally:
            progress.close()
    size = out.stat().st_size if kind != DIRECTORY_KIND else _tree_size(out)
    return CreateResult(out, kind, manifest, size, time.monotonic() - started)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _tree_size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
