"""Applying a fault: restore the good backup, break it one way, write the known-bad backup.

Tree faults change the restored tree and repack it, so the bad backup is well-formed and its manifest lists what is
inside: the drill has to find the problem. Archive faults rewrite the archive itself (cut it short, add or drop a
member), so the restore has to refuse it.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO, cast

from atlas_drills.backup.archive import DIRECTORY_KIND, TAR, TAR_GZ, compressed_frame, kind_for_output
from atlas_drills.backup.errors import BackupError
from atlas_drills.backup.repack import repack_backup
from atlas_drills.backup.restore import restore_backup
from atlas_drills.faults.catalog import Fault, fault_named

STALE_AGE = timedelta(days=40)
ESCAPE_MEMBER = "../atlas-drills-escaped.txt"
UNLISTED_MEMBER = "store/unlisted-by-the-manifest.txt"
DROPPED_MEMBER = "ops/release/provenance.json"


class FaultError(RuntimeError):
    """A fault that cannot be applied as asked (bad output path, a good backup that does not restore)."""


def apply_fault(name: str, backup: Path, out: Path) -> Fault:
    """Write `backup` broken by fault `name` to `out` (.tar, .tar.gz, .tar.zst, or a folder for tree faults)."""
    fault = fault_named(name)
    if out.exists():
        raise FaultError(f"{out}: already exists; choose a new path")
    kind = kind_for_output(out)
    if fault.is_archive_fault and kind == DIRECTORY_KIND:
        raise FaultError(f"{name} breaks the archive itself: give --out a .tar, .tar.gz or .tar.zst path")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".fault-", dir=out.parent) as work:
        try:
            restored = restore_backup(backup, Path(work) / "tree")
        except BackupError as exc:
            raise FaultError(
                f"{backup}: the good backup does not restore, so it cannot be broken on purpose: {exc}"
            ) from exc
        if fault.change_tree is not None:
            fault.change_tree(restored.staging)
        if fault.change_with_source is not None:
            fault.change_with_source(restored.staging, dict(restored.manifest.source))
        created_at = restored.manifest.created_at
        if fault.created_at == "STALE":
            moment = datetime.fromisoformat(created_at.replace("Z", "+00:00")) - STALE_AGE
            created_at = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        # A new, well-formed id (same creation stamp), derived from the good backup's id and the fault's name.
        stamp = restored.manifest.backup_id.split("-", 1)[0]
        backup_id = f"{stamp}-{hashlib.sha256(f'{restored.manifest.backup_id}:{name}'.encode()).hexdigest()[:12]}"
        if not fault.is_archive_fault:
            repack_backup(restored.staging, restored.manifest, out, backup_id=backup_id, created_at=created_at)
            return fault
        plain = Path(work) / "good.tar"
        repack_backup(restored.staging, restored.manifest, plain, backup_id=backup_id, created_at=created_at)
        _break_archive(fault, plain, out, kind)
    return fault


def _break_archive(fault: Fault, plain: Path, out: Path, kind: str) -> None:
    if fault.refused_rule == "truncated-archive":
        _rewrite(plain, out, kind, drop=None, extra=None)
        out.write_bytes(out.read_bytes()[: out.stat().st_size * 3 // 5])
    elif fault.refused_rule == "parent-traversal":
        _rewrite(plain, out, kind, drop=None, extra=ESCAPE_MEMBER)
    elif fault.refused_rule == "unlisted-member":
        _rewrite(plain, out, kind, drop=None, extra=UNLISTED_MEMBER)
    elif fault.refused_rule == "missing-member":
        _rewrite(plain, out, kind, drop=DROPPED_MEMBER, extra=None)
    else:  # pragma: no cover - the catalog and this dispatch are kept in step by the catalog test
        raise FaultError(f"no archive change for rule {fault.refused_rule}")


def _rewrite(plain: Path, out: Path, kind: str, *, drop: str | None, extra: str | None) -> None:
    """Copy the members of `plain` into a new archive of `kind`, dropping one or appending one after the rest."""
    with out.open("xb") as sink:
        if kind == TAR:
            _copy_members(plain, sink, drop, extra)
            return
        if kind == TAR_GZ:
            import gzip

            with gzip.GzipFile(fileobj=sink, mode="wb", mtime=0) as frame:
                _copy_members(plain, cast(BinaryIO, frame), drop, extra)
            return
        with compressed_frame(kind, sink) as frame:
            _copy_members(plain, frame, drop, extra)


def _copy_members(plain: Path, sink: BinaryIO, drop: str | None, extra: str | None) -> None:
    with (
        tarfile.open(plain, mode="r:") as source,
        tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT) as target,
    ):
        for member in source:
            if member.name == drop:
                continue
            target.addfile(member, source.extractfile(member) if member.isfile() else None)
        if extra is not None:
            data = b"not part of the backup\n"
            info = tarfile.TarInfo(extra)
            info.size, info.mode = len(data), 0o644
            target.addfile(info, io.BytesIO(data))
