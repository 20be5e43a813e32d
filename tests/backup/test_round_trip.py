"""sample -> create -> verify -> restore, for every kind: the durable files come back byte-identical, the SQLite
artifacts still match the digests Atlas pins in each dataset manifest, and the backup itself is never touched."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

from atlas_drills.backup.create import create_backup
from atlas_drills.backup.manifest import DURABLE, MANIFEST_NAME
from atlas_drills.backup.progress import Progress
from atlas_drills.backup.restore import restore_backup
from atlas_drills.backup.verify import verify_backup
from atlas_drills.cli import main
from atlas_drills.sample import SampleRelease
from atlas_drills.store.layout import manifest_path, sqlite_path
from atlas_drills.store.manifest import load_manifest_strict
from tests.backup.conftest import backup_digest, tree_listing

KINDS = {"tar": "backup.tar", "tar.gz": "backup.tar.gz", "tar.zst": "backup.tar.zst", "directory": "backup"}


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_round_trip_gives_byte_identical_durable_files(
    sample_release: SampleRelease, tmp_path: Path, kind: str
) -> None:
    ops = sample_release.root / "ops"
    created = create_backup(sample_release.store_root, ops, sample_release.config_file, tmp_path / KINDS[kind])
    assert created.kind == kind
    backup = created.path
    stat_before, digest_before = backup.stat(), backup_digest(backup)

    report = verify_backup(backup)
    assert report.findings == []
    assert report.manifest == created.manifest

    restored = restore_backup(backup, tmp_path / "staging")
    staging = restored.staging
    assert restored.manifest == created.manifest
    assert set(restored.timings) >= {"open", "verify_extract"}

    # Every durable source file, byte for byte, at its place in the layout; nothing else.
    expected = {f"store/{k}": v for k, v in _files(sample_release.store_root).items()}
    expected |= {f"ops/{k}": v for k, v in _files(ops).items()}
    expected["config/atlas.env"] = sample_release.config_file.read_bytes()
    assert _files(staging) == expected
    assert {f.path for f in created.manifest.files if f.file_class == DURABLE} == set(expected)
    assert not (staging / MANIFEST_NAME).exists(), "the manifest describes the restore; it is not part of it"
    # The restore's own record of what it wrote: the digest of every restored file, hashed as it was written.
    assert restored.digests == {rel: hashlib.sha256(data).hexdigest() for rel, data in _files(staging).items()}

    # The snapshots kept the exact bytes Atlas pins, so the restored store can serve.
    for dataset in sample_release.datasets:
        manifest = load_manifest_strict(manifest_path(staging / "store", dataset).read_bytes())
        restored_sqlite = sqlite_path(staging / "store", dataset).read_bytes()
        assert hashlib.sha256(restored_sqlite).hexdigest() == manifest.checksums.sqlite_sha256

    assert created.manifest.release.release_id == sample_release.release_id
    assert created.manifest.release.git_sha == sample_release.git_sha
    assert backup.stat().st_mtime_ns == stat_before.st_mtime_ns
    assert backup_digest(backup) == digest_before


def test_restored_files_have_regular_modes(tiny_backups: dict[str, Path], tmp_path: Path) -> None:
    restored = restore_backup(tiny_backups["tar.zst"], tmp_path / "staging")
    for folder, dirs, files in os.walk(restored.staging):
        for name in files:
            assert os.stat(os.path.join(folder, name)).st_mode & 0o7777 == 0o644
        for name in dirs:
            assert os.stat(os.path.join(folder, name)).st_mode & 0o7777 == 0o755


def test_restore_into_existing_empty_folder(tiny_backups: dict[str, Path], tmp_path: Path) -> None:
    staging = tmp_path / "empty"
    staging.mkdir()
    restored = restore_backup(tiny_backups["tar"], staging)
    assert restored.staging == staging.resolve()
    assert "store/catalog.json" in tree_listing(staging)


def test_cli_restore_exit_codes(
    tiny_backups: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "restored"
    assert main(["backup", "restore", str(tiny_backups["tar.gz"]), "--to", str(target)]) == 0
    assert "restored" in capsys.readouterr().out
    assert (target / "store" / "catalog.json").is_file()

    assert main(["backup", "restore", str(tiny_backups["tar.gz"]), "--to", str(target)]) == 2
    assert "not an empty folder" in capsys.readouterr().err

    damaged = tmp_path / "damaged.tar"
    damaged.write_bytes(tiny_backups["tar"].read_bytes()[:-12_000])
    assert main(["backup", "restore", str(damaged), "--to", str(tmp_path / "other")]) == 1
    assert "truncated-archive" in capsys.readouterr().err
    assert not (tmp_path / "other").exists()


def test_progress_is_drawn_only_when_asked() -> None:
    stream = io.StringIO()
    progress = Progress("backup x", 4 << 20, stream, enabled=True)
    progress.advance(2 << 20)
    progress.close()
    assert "2.0 / 4.0 MiB" in stream.getvalue()
    assert "MiB/s" in stream.getvalue()
    quiet = io.StringIO()
    silent = Progress("backup x", 1, quiet)  # a StringIO is not a terminal
    silent.advance(1)
    silent.close()
    assert quiet.getvalue() == ""
