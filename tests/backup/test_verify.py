"""`backup verify`: every planted problem found at once, exit codes through the CLI, nothing written, nothing
changed."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import tarfile
from pathlib import Path

import pytest

from atlas_drills.backup.errors import Rule
from atlas_drills.backup.manifest import MANIFEST_NAME
from atlas_drills.backup.verify import verify_backup
from atlas_drills.cli import main
from atlas_drills.store.layout import sqlite_path
from tests.backup.conftest import TINY_DATASET, backup_digest, tree_listing
from tests.backup.craft import Member, base_files, members_for, write_archive

SQLITE_MEMBER = f"store/{sqlite_path(Path(), TINY_DATASET).as_posix()}"


@pytest.mark.parametrize("kind", ["tar", "tar.gz", "tar.zst", "directory"])
def test_intact_backup_exits_zero_and_changes_nothing(
    tiny_backups: dict[str, Path], kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    backup = tiny_backups[kind]
    before, listing, mtime = backup_digest(backup), tree_listing(backup.parent), backup.stat().st_mtime_ns
    assert main(["backup", "verify", str(backup)]) == 0
    assert "intact" in capsys.readouterr().out
    assert (backup_digest(backup), tree_listing(backup.parent), backup.stat().st_mtime_ns) == (before, listing, mtime)


def test_two_planted_problems_give_two_findings(
    tiny_backups: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    backup = tmp_path / "planted"
    shutil.copytree(tiny_backups["directory"], backup)
    catalog = backup / "store" / "catalog.json"
    catalog.write_bytes(catalog.read_bytes().replace(b"TINY1", b"TINY2"))  # same size, other digest
    (backup / "ops" / "stray.json").write_text("{}")

    report = verify_backup(backup)
    assert sorted((f.rule, f.member) for f in report.findings) == [
        (Rule.DIGEST_MISMATCH, "store/catalog.json"),
        (Rule.UNLISTED_MEMBER, "ops/stray.json"),
    ]
    assert main(["backup", "verify", str(backup)]) == 1
    out = capsys.readouterr().out
    assert "2 finding(s)" in out
    assert "store/catalog.json: digest-mismatch: expected " in out
    assert "ops/stray.json: unlisted-member" in out


def test_archive_problems_are_all_reported(tmp_path: Path) -> None:
    files = base_files()
    listed: dict[str, bytes | tuple[int, str]] = {**files, "config/atlas.env": b"A=1\n", "ops/x.json": b"{}"}
    archive = write_archive(
        tmp_path / "b.tar",
        [
            *members_for(files),
            Member("ops/x.json", b"[]"),  # digest
            Member("store/catalog.json", files["store/catalog.json"]),  # duplicate
            Member("store/link", type=tarfile.SYMTYPE, linkname="/etc/passwd"),  # link escape
        ],  # config/atlas.env missing
        listed=listed,
    )
    findings = {(f.rule, f.member) for f in verify_backup(archive).findings}
    assert findings == {
        (Rule.DIGEST_MISMATCH, "ops/x.json"),
        (Rule.DUPLICATE_MEMBER, "store/catalog.json"),
        (Rule.LINK_ESCAPE, "store/link"),
        (Rule.MISSING_MEMBER, "config/atlas.env"),
    }


def test_manifest_out_of_order_is_reported_and_members_still_checked(tmp_path: Path) -> None:
    files = base_files()
    archive = write_archive(tmp_path / "b.tar", members_for(files), listed=files, manifest_first=False)
    findings = verify_backup(archive).findings
    assert [(f.rule, f.member) for f in findings] == [(Rule.MANIFEST_NOT_FIRST, MANIFEST_NAME)]


def test_schema_violations_are_each_named(tmp_path: Path) -> None:
    document = b'{"format": "atlas-backup/2", "files": []}'
    archive = write_archive(tmp_path / "b.tar", members_for(base_files()), manifest=document)
    findings = verify_backup(archive).findings
    members = {f.member for f in findings if f.rule == Rule.MANIFEST_INVALID}
    assert f"{MANIFEST_NAME}:format" in members
    assert {f"{MANIFEST_NAME}:release", f"{MANIFEST_NAME}:created_at"} <= members  # each missing key, by name


def test_corrupt_sqlite_with_a_matching_digest_fails_integrity_check(tiny_source_sqlite: bytes, tmp_path: Path) -> None:
    corrupt = bytearray(tiny_source_sqlite)
    page_size = int.from_bytes(corrupt[16:18], "big")
    for page in range(1, len(corrupt) // page_size):
        corrupt[page * page_size] = 0x55  # not a valid b-tree page type
    files = {**base_files(), SQLITE_MEMBER: bytes(corrupt)}
    archive = write_archive(tmp_path / "b.tar.zst", members_for(files), listed=files)
    findings = verify_backup(archive).findings
    assert [(f.rule, f.member) for f in findings] == [(Rule.SQLITE_INTEGRITY, SQLITE_MEMBER)]
    assert tree_listing(tmp_path) == ["b.tar.zst"]


def test_integrity_messages_with_broken_utf8_are_a_finding_not_a_crash(
    tiny_backups: dict[str, Path], tmp_path: Path
) -> None:
    """A flip found by the fuzz test: one bit of a table name in the SQLite schema, so integrity_check's own
    message carries a byte that is not UTF-8."""
    damaged = bytearray(tiny_backups["tar"].read_bytes())
    damaged[int(0.15625 * len(damaged))] ^= 128
    archive = tmp_path / "damaged.tar"
    archive.write_bytes(damaged)
    integrity = [f for f in verify_backup(archive).findings if f.rule == Rule.SQLITE_INTEGRITY]
    assert [f.member for f in integrity] == [SQLITE_MEMBER]
    assert "\\x" in str(integrity[0].observed), integrity[0].observed  # the broken byte, shown escaped


def test_not_null_false_positive_of_sqlite_340_is_not_a_finding(tmp_path: Path) -> None:
    database = tmp_path / "source.sqlite"
    connection = sqlite3.connect(database)
    connection.execute(
        "CREATE TABLE m (a TEXT NOT NULL, b TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (a, n)) WITHOUT ROWID"
    )
    connection.execute("INSERT INTO m VALUES ('t', 'e', 1)")
    connection.commit()
    connection.close()
    files = {**base_files(), "store/x.sqlite": database.read_bytes()}
    archive = write_archive(tmp_path / "b.tar", members_for(files), listed=files)
    assert verify_backup(archive).findings == []


def test_missing_path_exits_two_with_advice(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backup", "verify", str(tmp_path / "nope.tar")]) == 2
    err = capsys.readouterr().err
    assert "no such file" in err
    assert ".tar.zst" in err


def test_unknown_extension_exits_two(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    odd = tmp_path / "backup.zip"
    odd.write_bytes(b"PK")
    assert main(["backup", "verify", str(odd)]) == 2
    assert "unknown backup extension .zip" in capsys.readouterr().err


def test_json_output_lists_findings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = base_files()
    archive = write_archive(tmp_path / "b.tar", members_for(files), listed={**files, "ops/gone": b"x"})
    assert main(["backup", "verify", "--json", str(archive)]) == 1
    out = capsys.readouterr().out
    assert '"rule": "missing-member"' in out
    assert hashlib.sha256(b"x").hexdigest() in out


@pytest.mark.parametrize(
    ("files", "observed"),
    [
        ({}, "no store/ at all"),
        (
            {"store/release=1/species=s/assembly=A/derived/manifest.json": b"{}"},
            "but no catalog.json: a build root or a cache",
        ),
    ],
    ids=["no-store", "build-root-only"],
)
def test_a_backup_without_the_serving_store_is_not_intact(
    tmp_path: Path, files: dict[str, bytes], observed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    listed = {k: v for k, v in base_files().items() if not k.startswith("store/")} | files
    backup = write_archive(tmp_path / "no-store.tar", members_for(listed), listed=listed)
    report = verify_backup(backup)
    assert [(f.member, f.rule) for f in report.findings] == [("store/catalog.json", Rule.NOT_A_SERVING_STORE)]
    assert observed in str(report.findings[0].observed)
    assert main(["backup", "verify", str(backup)]) == 1
    assert "not-a-serving-store" in capsys.readouterr().out


def test_the_smallest_serving_store_is_intact(tmp_path: Path) -> None:
    listed = base_files()
    backup = write_archive(tmp_path / "store.tar", members_for(listed), listed=listed)
    assert verify_backup(backup).findings == []
