"""`backup create`: layout, member order and modes, exclusions, refusals, consistent SQLite snapshots."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
import tarfile
from pathlib import Path

import pytest

from atlas_drills.backup.create import create_backup
from atlas_drills.backup.errors import BackupCreateError, BackupUnusable
from atlas_drills.backup.manifest import MANIFEST_NAME, parse_backup_manifest, schema_findings
from atlas_drills.backup.restore import restore_backup
from atlas_drills.backup.verify import verify_backup
from atlas_drills.cli import main
from atlas_drills.store.layout import sqlite_path
from tests.backup.conftest import TINY_DATASET, TinySource, build_tiny_source


@pytest.fixture
def source(tmp_path: Path) -> TinySource:
    """A private tiny source the test may change."""
    return build_tiny_source(tmp_path / "source")


def test_members_are_sorted_manifest_first_with_fixed_modes(tiny_backups: dict[str, Path]) -> None:
    with tarfile.open(tiny_backups["tar"]) as archive:
        members = archive.getmembers()
    names = [m.name for m in members]
    assert names[0] == MANIFEST_NAME
    assert names[1:] == sorted(names[1:])
    assert {(m.mode, m.uid, m.gid, m.uname, m.gname, m.type) for m in members} == {
        (0o644, 0, 0, "", "", tarfile.REGTYPE)
    }


@pytest.mark.parametrize("kind", ["tar", "tar.gz", "tar.zst"])
def test_archives_are_standard_tar(tiny_backups: dict[str, Path], tmp_path: Path, kind: str) -> None:
    flags = {"tar": [], "tar.gz": ["--gzip"], "tar.zst": ["--zstd"]}[kind]
    if kind == "tar.zst" and shutil.which("zstd") is None:
        pytest.skip("GNU tar needs the zstd program for .tar.zst (apt-get install -y zstd)")
    tar = shutil.which("tar")
    assert tar is not None
    listing = subprocess.run(
        [tar, *flags, "-tf", str(tiny_backups[kind])], capture_output=True, text=True, check=True, timeout=30
    ).stdout.split()
    assert listing[0] == MANIFEST_NAME
    manifest = json.loads((tiny_backups["directory"] / MANIFEST_NAME).read_bytes())
    assert sorted(listing[1:]) == [f["path"] for f in manifest["files"]]


def test_manifest_is_schema_valid_and_bound_to_the_release(tiny_backups: dict[str, Path], source: TinySource) -> None:
    raw = json.loads((tiny_backups["directory"] / MANIFEST_NAME).read_bytes())
    assert schema_findings(raw, "backup-manifest.schema.json", MANIFEST_NAME) == []
    manifest = parse_backup_manifest((tiny_backups["directory"] / MANIFEST_NAME).read_bytes())
    identity = json.loads((source.ops / "release" / "evidence" / "identity.json").read_bytes())
    assert manifest.release.release_id == identity["release_id"]
    assert manifest.release.git_sha == identity["git_sha"]
    assert manifest.release.governance_version == identity["governance_version"]
    assert manifest.created_at.endswith("Z")
    assert manifest.tool_name == "atlas-drills"
    assert {f.file_class for f in manifest.files} == {"durable"}


def test_disposable_files_are_excluded_and_recorded(source: TinySource, tmp_path: Path) -> None:
    derived = sqlite_path(source.store, TINY_DATASET).parent
    (derived / "scratch.db-wal").write_bytes(b"wal")
    (derived / "scratch.db-journal").write_bytes(b"journal")
    (source.store / ".tmp-atlas-download").mkdir()
    (source.store / ".tmp-atlas-download" / "partial.sqlite").write_bytes(b"partial")
    (source.store / "cache").mkdir()  # ATLAS_CACHE_ROOT of the tiny config
    (source.store / "cache" / "warm.sqlite").write_bytes(b"cached")
    (source.ops / "notes.txt~").write_text("editor backup")
    (source.ops / ".catalog.json.x1.tmp").write_text("partial write")

    manifest = create_backup(source.store, source.ops, source.config, tmp_path / "b.tar").manifest
    paths = {f.path for f in manifest.files}
    assert not any(part in p for p in paths for part in ("-wal", "-journal", ".tmp", "cache/", "~"))
    matched = {e.pattern: e.matched for e in manifest.excluded}
    assert matched["*-wal"] == 1
    assert matched["*-journal"] == 1
    assert matched[".tmp-atlas-download/"] == 1
    assert matched["store/cache/"] == 1
    assert matched["*~"] == 1
    assert matched["*.tmp"] == 1
    assert all(e.reason for e in manifest.excluded)


def test_symlinks_in_the_source_are_refused_with_every_path(source: TinySource, tmp_path: Path) -> None:
    (source.store / "alias.json").symlink_to(source.store / "catalog.json")
    (source.ops / "linked").symlink_to(tmp_path)
    with pytest.raises(BackupCreateError) as caught:
        create_backup(source.store, source.ops, source.config, tmp_path / "b.tar")
    message = str(caught.value)
    assert "alias.json" in message
    assert "linked" in message
    assert "symbolic link" in message
    assert not (tmp_path / "b.tar").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".b.tar")] == []


def test_missing_identity_is_refused(source: TinySource, tmp_path: Path) -> None:
    (source.ops / "release" / "evidence" / "identity.json").unlink()
    with pytest.raises(BackupCreateError, match=r"identity\.json: missing"):
        create_backup(source.store, source.ops, source.config, tmp_path / "b.tar")


def test_build_root_is_refused_as_store(source: TinySource, tmp_path: Path) -> None:
    with pytest.raises(BackupCreateError, match=r"catalog\.json: missing.*not a build root"):
        create_backup(source.ops, source.ops, source.config, tmp_path / "b.tar")


def test_output_is_never_overwritten(tiny_backups: dict[str, Path], source: TinySource) -> None:
    with pytest.raises(BackupUnusable, match="already exists"):
        create_backup(source.store, source.ops, source.config, tiny_backups["tar"])
    with pytest.raises(BackupUnusable, match="not empty"):
        create_backup(source.store, source.ops, source.config, tiny_backups["directory"])


def test_snapshot_is_consistent_while_a_writer_holds_the_database(source: TinySource, tmp_path: Path) -> None:
    database = sqlite_path(source.store, TINY_DATASET)
    writer = sqlite3.connect(database, isolation_level=None)
    try:
        writer.execute("PRAGMA journal_mode=WAL")
        writer.execute("INSERT INTO atlas_meta VALUES ('committed', 'yes')")  # lives in the WAL, not checkpointed
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO atlas_meta VALUES ('uncommitted', 'no')")
        backup = create_backup(source.store, source.ops, source.config, tmp_path / "b.tar").path
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert verify_backup(backup).findings == []
    restored = restore_backup(backup, tmp_path / "staging")
    copy = sqlite3.connect(sqlite_path(restored.staging / "store", TINY_DATASET))
    try:
        meta = dict(copy.execute("SELECT k, v FROM atlas_meta").fetchall())
    finally:
        copy.close()
    assert meta.get("committed") == "yes"
    assert "uncommitted" not in meta


def test_snapshot_of_a_quiet_database_is_byte_identical(tiny_backups: dict[str, Path], tiny_source: TinySource) -> None:
    manifest = parse_backup_manifest((tiny_backups["directory"] / MANIFEST_NAME).read_bytes())
    member = f"store/{sqlite_path(Path(), TINY_DATASET).as_posix()}"
    source_digest = hashlib.sha256(sqlite_path(tiny_source.store, TINY_DATASET).read_bytes()).hexdigest()
    assert manifest.by_path()[member].sha256 == source_digest


def _create_args(source: TinySource) -> list[str]:
    return ["backup", "create", "--store", str(source.store), "--ops", str(source.ops), "--config", str(source.config)]


def test_cli_create_reports_and_exits_zero(
    source: TinySource, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cli.tar.zst"
    code = main([*_create_args(source), "--out", str(out), "--quiet"])
    assert code == 0
    assert "backup_id" in capsys.readouterr().out
    assert verify_backup(out).findings == []


def test_cli_create_refusal_exits_one_with_the_reason(
    source: TinySource, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (source.store / "alias").symlink_to(source.store / "catalog.json")
    code = main([*_create_args(source), "--out", str(tmp_path / "x.tar")])
    assert code == 1
    assert "alias" in capsys.readouterr().err
