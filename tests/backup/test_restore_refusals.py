"""Every refusal rule, each with one crafted hostile archive: refused with the named rule and member, staging
removed, nothing written anywhere else, the backup itself untouched."""

from __future__ import annotations

import hashlib
import tarfile
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from atlas_drills.backup.errors import RestoreRefused, Rule
from atlas_drills.backup.manifest import IDENTITY_PATH, MANIFEST_NAME
from atlas_drills.backup.restore import RestoreLimits, restore_backup
from tests.backup.conftest import backup_digest, tree_listing
from tests.backup.craft import Member, base_files, manifest_bytes, members_for, tar_bytes, write_archive

OUTSIDE = f"atlas-drills-escape-{uuid.uuid4().hex}"  # a name that must never appear anywhere
OUTSIDE_ABSOLUTE = f"{tempfile.gettempdir()}/{OUTSIDE}"


def _refused(archive: Path, limits: RestoreLimits | None = None) -> RestoreRefused:
    """Restore `archive` into a fresh staging folder beside it; assert the refusal left no trace."""
    parent = archive.parent
    before = tree_listing(parent)
    stat_before = archive.stat()
    digest_before = backup_digest(archive)
    with pytest.raises(RestoreRefused) as caught:
        restore_backup(archive, parent / "staging", limits)
    assert tree_listing(parent) == before, "refused restore left files behind"
    assert not (parent / "staging").exists()
    assert not list(Path(tempfile.gettempdir()).glob(f"{OUTSIDE}*"))
    assert not (parent.parent / OUTSIDE).exists()
    assert archive.stat().st_mtime_ns == stat_before.st_mtime_ns
    assert backup_digest(archive) == digest_before
    return caught.value


def _hostile(tmp_path: Path, extra: list[Member], listed_extra: dict[str, bytes] | None = None) -> Path:
    files = base_files()
    folder = tmp_path / "in"
    folder.mkdir()
    listed: dict[str, bytes | tuple[int, str]] = {**files, **(listed_extra or {})}
    return write_archive(folder / "hostile.tar", [*members_for(files), *extra], listed=listed)


HOSTILE: dict[str, tuple[Callable[[], list[Member]], str]] = {
    Rule.ABSOLUTE_PATH: (lambda: [Member(OUTSIDE_ABSOLUTE, b"x")], OUTSIDE_ABSOLUTE),
    Rule.PARENT_TRAVERSAL: (lambda: [Member(f"store/../../{OUTSIDE}", b"x")], f"store/../../{OUTSIDE}"),
    Rule.LINK_ESCAPE: (
        lambda: [Member("store/escape", type=tarfile.SYMTYPE, linkname=f"../../{OUTSIDE}")],
        "store/escape",
    ),
    Rule.SYMBOLIC_LINK: (
        lambda: [Member("store/alias.json", type=tarfile.SYMTYPE, linkname="catalog.json")],
        "store/alias.json",
    ),
    Rule.HARD_LINK: (
        lambda: [Member("store/hard.json", type=tarfile.LNKTYPE, linkname="store/catalog.json")],
        "store/hard.json",
    ),
    Rule.SPECIAL_FILE: (lambda: [Member("store/null", type=tarfile.CHRTYPE)], "store/null"),
    Rule.NON_CANONICAL_PATH: (lambda: [Member("store/./sneaky.json", b"x")], "store/./sneaky.json"),
    Rule.UNLISTED_MEMBER: (lambda: [Member("store/extra.json", b"{}")], "store/extra.json"),
}


@pytest.mark.parametrize("rule", sorted(HOSTILE))
def test_hostile_member_is_refused_by_rule(tmp_path: Path, rule: str) -> None:
    make, member = HOSTILE[rule]
    refused = _refused(_hostile(tmp_path, make()))
    assert (refused.rule, refused.member) == (rule, member)


def test_fifo_is_a_special_file(tmp_path: Path) -> None:
    refused = _refused(_hostile(tmp_path, [Member("ops/pipe", type=tarfile.FIFOTYPE)]))
    assert (refused.rule, refused.member, refused.observed) == (Rule.SPECIAL_FILE, "ops/pipe", "fifo")


def test_setuid_bit_is_refused_even_when_listed(tmp_path: Path) -> None:
    script = b"#!/bin/sh\n"
    refused = _refused(_hostile(tmp_path, [Member("ops/run.sh", script, mode=0o4755)], {"ops/run.sh": script}))
    assert (refused.rule, refused.member) == (Rule.SETUID_BIT, "ops/run.sh")


def test_setgid_bit_is_refused(tmp_path: Path) -> None:
    data = b"x"
    refused = _refused(_hostile(tmp_path, [Member("ops/g", data, mode=0o2644)], {"ops/g": data}))
    assert (refused.rule, refused.member) == (Rule.SETUID_BIT, "ops/g")


def test_duplicate_member_is_refused_before_it_overwrites(tmp_path: Path) -> None:
    refused = _refused(_hostile(tmp_path, [Member("store/catalog.json", b"{}")]))
    assert (refused.rule, refused.member) == (Rule.DUPLICATE_MEMBER, "store/catalog.json")


def test_second_manifest_is_a_duplicate(tmp_path: Path) -> None:
    refused = _refused(_hostile(tmp_path, [Member(MANIFEST_NAME, b"{}")]))
    assert (refused.rule, refused.member) == (Rule.DUPLICATE_MEMBER, MANIFEST_NAME)


def test_size_mismatch_is_refused_from_the_header(tmp_path: Path) -> None:
    files = base_files()
    (tmp_path / "in").mkdir()
    archive = write_archive(
        tmp_path / "in" / "b.tar",
        [*members_for(files), Member("store/data.bin", b"12345")],
        listed={**files, "store/data.bin": (4, hashlib.sha256(b"1234").hexdigest())},
    )
    refused = _refused(archive)
    assert (refused.rule, refused.member) == (Rule.SIZE_MISMATCH, "store/data.bin")
    assert (refused.expected, refused.observed) == ("4 bytes", "5 bytes")


def test_digest_mismatch_is_refused_and_partial_file_removed(tmp_path: Path) -> None:
    files = base_files()
    (tmp_path / "in").mkdir()
    archive = write_archive(
        tmp_path / "in" / "b.tar",
        [*members_for(files), Member("store/data.bin", b"evil")],
        listed={**files, "store/data.bin": b"good"},
    )
    refused = _refused(archive)
    assert (refused.rule, refused.member) == (Rule.DIGEST_MISMATCH, "store/data.bin")
    assert refused.expected == hashlib.sha256(b"good").hexdigest()


def test_missing_member_is_refused(tmp_path: Path) -> None:
    files = base_files()
    (tmp_path / "in").mkdir()
    archive = write_archive(tmp_path / "in" / "b.tar", members_for(files), listed={**files, "config/atlas.env": b"X"})
    refused = _refused(archive)
    assert (refused.rule, refused.member) == (Rule.MISSING_MEMBER, "config/atlas.env")


def test_total_size_limit_is_checked_against_the_manifest_first(tmp_path: Path) -> None:
    files = {**base_files(), "store/big.bin": bytes(10_000)}
    (tmp_path / "in").mkdir()
    archive = write_archive(tmp_path / "in" / "b.tar", members_for(files), listed=files)
    refused = _refused(archive, RestoreLimits(max_total_bytes=5_000))
    assert (refused.rule, refused.member) == (Rule.TOTAL_SIZE_LIMIT, MANIFEST_NAME)


def test_total_size_limit_is_checked_as_bytes_arrive(tmp_path: Path) -> None:
    # The manifest claims little; the stream brings more (padding past the end marker).
    files = base_files()
    (tmp_path / "in").mkdir()
    archive = write_archive(tmp_path / "in" / "b.tar", members_for(files), listed=files)
    archive.write_bytes(archive.read_bytes() + bytes(200_000))
    refused = _refused(archive, RestoreLimits(max_total_bytes=100_000, buffer_size=1 << 17))
    assert refused.rule == Rule.TOTAL_SIZE_LIMIT


def test_decompression_bomb_is_refused_early(tmp_path: Path) -> None:
    bomb = 32 << 20
    files: dict[str, bytes | tuple[int, str]] = {**base_files()}
    files["store/zeros.bin"] = (bomb, hashlib.sha256(bytes(bomb)).hexdigest())
    (tmp_path / "in").mkdir()
    archive = write_archive(
        tmp_path / "in" / "bomb.tar.gz",
        [*members_for(base_files()), Member("store/zeros.bin", b"", size=bomb)],
        listed=files,
    )
    limits = RestoreLimits(max_compression_ratio=100, ratio_grace_bytes=1 << 20, buffer_size=1 << 18)
    refused = _refused(archive, limits)
    assert (refused.rule, refused.member) == (Rule.COMPRESSION_RATIO_LIMIT, "store/zeros.bin")
    produced = int(str(refused.observed).split("(")[1].split()[0])
    assert produced < bomb // 4, "refused only after producing most of the bomb"


def test_truncated_archive_is_refused(tmp_path: Path) -> None:
    files = {**base_files(), "store/data.bin": bytes(range(256)) * 40}
    (tmp_path / "in").mkdir()
    archive = write_archive(tmp_path / "in" / "b.tar", members_for(files), listed=files)
    data = archive.read_bytes()
    archive.write_bytes(data[: data.index(bytes(range(256))) + 1000])
    refused = _refused(archive)
    assert (refused.rule, refused.member) == (Rule.TRUNCATED_ARCHIVE, "store/data.bin")


def test_missing_end_of_archive_is_truncation(tmp_path: Path) -> None:
    files = base_files()
    (tmp_path / "in").mkdir()
    archive = write_archive(tmp_path / "in" / "b.tar", members_for(files), listed=files)
    data = archive.read_bytes().rstrip(b"\0")
    archive.write_bytes(data + bytes(-len(data) % 512))
    assert _refused(archive).rule == Rule.TRUNCATED_ARCHIVE


def test_invalid_manifest_is_refused_naming_the_field(tmp_path: Path) -> None:
    files = base_files()
    document = manifest_bytes(files).replace(b'"atlas-backup/1"', b'"atlas-backup/9"')
    (tmp_path / "in").mkdir()
    archive = write_archive(tmp_path / "in" / "b.tar", members_for(files), manifest=document)
    refused = _refused(archive)
    assert (refused.rule, refused.member) == (Rule.MANIFEST_INVALID, f"{MANIFEST_NAME}:format")


def test_manifest_without_identity_is_invalid(tmp_path: Path) -> None:
    files = {"store/catalog.json": b"{}"}
    (tmp_path / "in").mkdir()
    archive = write_archive(tmp_path / "in" / "b.tar", members_for(files), listed=files)
    refused = _refused(archive)
    assert refused.rule == Rule.MANIFEST_INVALID
    assert IDENTITY_PATH in str(refused.expected)


def test_manifest_listing_a_traversal_path_is_invalid(tmp_path: Path) -> None:
    files = base_files()
    (tmp_path / "in").mkdir()
    archive = write_archive(
        tmp_path / "in" / "b.tar", members_for(files), listed={**files, f"store/../{OUTSIDE}": b"x"}
    )
    refused = _refused(archive)
    # Sorted: identity (0), the traversal (1), the catalog (2).
    assert (refused.rule, refused.member) == (Rule.MANIFEST_INVALID, f"{MANIFEST_NAME}:files[1].path")


def test_manifest_must_come_first(tmp_path: Path) -> None:
    files = base_files()
    (tmp_path / "in").mkdir()
    archive = write_archive(tmp_path / "in" / "b.tar", members_for(files), listed=files, manifest_first=False)
    refused = _refused(archive)
    assert (refused.rule, refused.member) == (Rule.MANIFEST_NOT_FIRST, IDENTITY_PATH)


def test_flipped_header_byte_is_a_malformed_header(tmp_path: Path) -> None:
    files = base_files()
    (tmp_path / "in").mkdir()
    archive = write_archive(tmp_path / "in" / "b.tar", members_for(files), listed=files)
    data = bytearray(archive.read_bytes())
    second_header = data.index(IDENTITY_PATH.encode() + b"\0")
    data[second_header + 3] ^= 0x01
    archive.write_bytes(bytes(data))
    assert _refused(archive).rule == Rule.MALFORMED_HEADER


def test_global_pax_header_is_unsupported(tmp_path: Path) -> None:
    files = base_files()
    (tmp_path / "in").mkdir()
    archive = write_archive(tmp_path / "in" / "b.tar", members_for(files), listed=files)
    data = archive.read_bytes()
    # Splice a pax global header (which this format never writes) right after the manifest member.
    head_end = data.index(IDENTITY_PATH.encode() + b"\0")
    global_header = tar_bytes([Member("pax_global_header", b"", type=tarfile.XGLTYPE)])[:512]
    archive.write_bytes(data[:head_end] + global_header + data[head_end:])
    refused = _refused(archive)
    assert refused.rule == Rule.UNSUPPORTED_MEMBER


def test_trailing_data_after_end_of_archive_is_refused(tmp_path: Path) -> None:
    files = base_files()
    (tmp_path / "in").mkdir()
    archive = write_archive(tmp_path / "in" / "b.tar", members_for(files), listed=files)
    archive.write_bytes(archive.read_bytes() + b"appended by someone")
    assert _refused(archive).rule == Rule.TRAILING_DATA


def test_corrupt_zstd_stream_is_refused(tmp_path: Path) -> None:
    files = {**base_files(), "store/data.bin": bytes(range(256)) * 64}
    (tmp_path / "in").mkdir()
    archive = write_archive(tmp_path / "in" / "b.tar.zst", members_for(files), listed=files)
    data = bytearray(archive.read_bytes())
    data[-30] ^= 0xFF  # past the manifest, inside the compressed file data
    archive.write_bytes(bytes(data))
    assert _refused(archive).rule in (Rule.CORRUPT_COMPRESSION, Rule.DIGEST_MISMATCH)


def test_corrupt_gzip_stream_is_refused(tmp_path: Path) -> None:
    files = base_files()
    (tmp_path / "in").mkdir()
    archive = write_archive(tmp_path / "in" / "b.tar.gz", members_for(files), listed=files)
    data = bytearray(archive.read_bytes())
    data[-6] ^= 0xFF  # inside the CRC32 trailer
    archive.write_bytes(bytes(data))
    assert _refused(archive).rule == Rule.CORRUPT_COMPRESSION


def test_refusal_in_a_preexisting_empty_staging_keeps_the_folder_but_empties_it(tmp_path: Path) -> None:
    files = base_files()
    (tmp_path / "in").mkdir()
    archive = write_archive(tmp_path / "in" / "b.tar", [*members_for(files), Member("store/extra", b"x")], listed=files)
    staging = tmp_path / "staging"
    staging.mkdir()
    with pytest.raises(RestoreRefused):
        restore_backup(archive, staging)
    assert staging.is_dir()
    assert list(staging.iterdir()) == []


def test_directory_backup_with_a_symlink_is_refused(tiny_backups: dict[str, Path], tmp_path: Path) -> None:
    import shutil

    backup = tmp_path / "in" / "copy"
    shutil.copytree(tiny_backups["directory"], backup)
    (backup / "store" / "sneaky").symlink_to(OUTSIDE_ABSOLUTE)
    refused = _refused(backup)
    assert (refused.rule, refused.member) == (Rule.LINK_ESCAPE, "store/sneaky")
