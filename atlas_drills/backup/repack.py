"""Repacking a restored backup tree as a new backup: same release binding and history, fresh digests.

This is how a known-bad backup is made from a good one (see `atlas_drills.faults`): restore, change the tree the
way a broken source or a broken backup process would have, and repack. The result is a well-formed `atlas-backup/1`
whose manifest faithfully lists what is inside, so the drill, not the restore, has to find what is wrong.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from atlas_drills.backup.archive import kind_for_output
from atlas_drills.backup.create import CreateResult, _tree_size, write_backup
from atlas_drills.backup.errors import BackupCreateError
from atlas_drills.backup.manifest import PLACEHOLDER_SHA256, BackupFile, BackupManifest, class_for
from atlas_drills.backup.progress import Progress
from atlas_drills.backup.sources import PlannedFile, read_release_identity


def repack_backup(
    tree: Path, original: BackupManifest, out: Path, *, backup_id: str | None = None, created_at: str | None = None
) -> CreateResult:
    """Write every file under `tree` as a backup at `out`. The release is read from the tree's identity.json (as
    `backup create` would), falling back to the original's when the tree has none."""
    kind = kind_for_output(out)
    entries = []
    for path in sorted(p for p in tree.rglob("*") if p.is_file() or p.is_symlink()):
        if path.is_symlink():
            raise BackupCreateError(f"{path}: a symbolic link; backups never hold links")
        member = path.relative_to(tree).as_posix()
        entries.append(PlannedFile(member, path, path.stat().st_size, False))
    try:
        release, _ = read_release_identity(tree / "ops")
    except BackupCreateError:
        release = original.release
    stamp = created_at or original.created_at
    template = replace(
        original,
        backup_id=backup_id or original.backup_id,
        created_at=stamp,
        release=release,
        files=tuple(BackupFile(e.member, e.size, PLACEHOLDER_SHA256, class_for(e.member)) for e in entries),
    )
    mtime = int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())
    started = datetime.now()
    with tempfile.TemporaryDirectory(prefix=f".{out.name}.work-", dir=out.parent) as work:
        quiet = Progress("", 0, enabled=False)
        manifest = write_backup(
            out, kind, template=template, entries=entries, mtime=mtime, progress=quiet, work=Path(work)
        )
    size = out.stat().st_size if out.is_file() else _tree_size(out)
    return CreateResult(out, kind, manifest, size, (datetime.now() - started).total_seconds())
