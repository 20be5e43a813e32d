"""Hostile and broken input, each case from a real attack on `backup verify` and `backup restore`: it must end in
bounded time and memory with a named refusal (exit 1), never a hang, a traceback, or a flood of output.

Every case runs the real CLI in a subprocess under resource limits (`tests/backup/cli_run.py`), so a regression
shows as a timeout, a MemoryError, or a killed process, not as a stuck test run.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from atlas_drills.backup.errors import RestoreRefused, Rule
from atlas_drills.backup.manifest import MANIFEST_NAME, ManifestInvalid, parse_backup_manifest
from atlas_drills.backup.restore import RestoreLimits, restore_backup
from atlas_drills.backup.verify import verify_backup
from tests.backup.cli_run import Limits, run_backup_cli
from tests.backup.craft import (
    Member,
    base_files,
    compress_for,
    manifest_bytes,
    manifest_document,
    members_for,
    raw_header,
    tar_bytes,
    write_archive,
)

SMALL = Limits(memory=768 << 20, cpu_s=30)
MAX_OUTPUT = 16 << 10  # a refusal is a few lines; anything near this is a flood


def _both(archive: Path, tmp_path: Path, limits: Limits = SMALL, timeout: float = 30) -> list[str]:
    """verify and restore `archive` under `limits`; both must refuse (exit 1) with bounded output and no
    traceback, and restore must leave nothing. Returns their outputs."""
    outputs = []
    staging = tmp_path / "staging"
    for args in (("verify", str(archive)), ("restore", str(archive), "--to", str(staging))):
        result = run_backup_cli(*args, limits=limits, timeout=timeout)
        assert result.returncode == 1, f"{args[0]}: exit {result.returncode}\n{result.output[-3000:]}"
        assert "Traceback" not in result.output, result.output[-3000:]
        assert len(result.output) < MAX_OUTPUT, f"{args[0]} printed {len(result.output)} characters"
        outputs.append(result.output)
    assert not staging.exists()
    return outputs


# -- 1. a pax header with a negative size -------------------------------------------------------------------------


@pytest.mark.parametrize("size", ["-1", "-512", "+5", "1_0", " 5", "5 ", "0x10", "١٢"])
def test_a_pax_size_that_is_not_plain_digits_is_refused_and_never_loops(tmp_path: Path, size: str) -> None:
    files = base_files()
    members = [*members_for(files), Member("store/x.bin", b"", pax={"size": size})]
    archive = write_archive(tmp_path / "b.tar", members, listed=files)
    for output in _both(archive, tmp_path):
        assert Rule.MALFORMED_HEADER in output
        assert "store/x.bin" in output


@pytest.mark.parametrize("field", [b"-0000001\0", b"+000001\0", b"1_0\0", b"0x1\0"])
def test_a_header_size_field_that_is_not_octal_is_refused(tmp_path: Path, field: bytes) -> None:
    files = base_files()
    body = tar_bytes([Member(MANIFEST_NAME, manifest_bytes(files)), *members_for(files)])
    hostile = raw_header("store/x.bin", field) + bytes(1024)
    archive = tmp_path / "b.tar"
    archive.write_bytes(_without_end(body) + hostile)
    for output in _both(archive, tmp_path):
        assert Rule.MALFORMED_HEADER in output


def _without_end(tar: bytes) -> bytes:
    """A tar stream without its end-of-archive blocks (and record padding), ready for more members."""
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        members = archive.getmembers()
    last = members[-1]
    return tar[: last.offset_data + -(-last.size // 512) * 512]


# -- 2. a manifest of hundreds of thousands of entries ------------------------------------------------------------


def test_a_manifest_of_400000_empty_entries_is_refused_in_bounded_time_memory_and_output(tmp_path: Path) -> None:
    document = manifest_document({})
    document["files"] = [{}] * 400_000
    data = json.dumps(document, separators=(",", ":")).encode()
    archive = tmp_path / "b.tar"
    archive.write_bytes(tar_bytes([Member(MANIFEST_NAME, data)]))
    # Before: 76 s and 5.9 GB for verify, 101 s for restore, 185 MB printed by each.
    verify, restore = _both(archive, tmp_path, Limits(memory=768 << 20, cpu_s=20), timeout=30)
    for output in (verify, restore):
        assert Rule.MANIFEST_INVALID in output
        assert "more, not listed" in output
    assert restore.count("restore refused") == 1


def test_a_valid_manifest_listing_200000_absent_files_is_summarised_not_flooded(tmp_path: Path) -> None:
    files: dict[str, bytes | tuple[int, str]] = {**base_files()}
    empty = hashlib.sha256(b"").hexdigest()
    files.update({f"store/f{index:07d}": (0, empty) for index in range(200_000)})
    archive = write_archive(tmp_path / "b.tar.zst", members_for(base_files()), listed=files)
    verify, restore = _both(archive, tmp_path, timeout=60)
    assert ": 200000 finding(s)" in verify
    assert "and 199900 more finding(s), not listed" in verify
    assert "(200000 listed file(s) missing)" in restore


# -- 5. deep JSON and giant integers are refusals, not crashes -----------------------------------------------------


@pytest.mark.parametrize(
    ("manifest", "observed"),
    [
        (b"[" * 200_000 + b"]" * 200_000, "nested too deep"),
        (b'{"format": ' + b"9" * 5000 + b"}", "4300"),
    ],
    ids=["deep-nesting", "integer-over-4300-digits"],
)
def test_json_that_python_cannot_parse_is_a_named_manifest_refusal(
    tmp_path: Path, manifest: bytes, observed: str
) -> None:
    with pytest.raises(ManifestInvalid) as caught:
        parse_backup_manifest(manifest)
    assert observed in str(caught.value)
    archive = write_archive(tmp_path / "b.tar", members_for(base_files()), manifest=manifest)
    for output in _both(archive, tmp_path):
        assert f"{MANIFEST_NAME}: {Rule.MANIFEST_INVALID}" in output


# -- 7. control characters in member names ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["store/a\nstore/forged: intact", "store/\x1b[2J\x1b[31mred", "store/\u202eevil"])
def test_a_name_with_control_characters_is_refused_and_printed_escaped(tmp_path: Path, name: str) -> None:
    files = base_files()
    archive = write_archive(tmp_path / "b.tar", [*members_for(files), Member(name, b"x")], listed=files)
    for output in _both(archive, tmp_path):
        assert "\x1b" not in output
        assert "\u202e" not in output
        lines = [line for line in output.splitlines() if "store/" in line and "forged" in line]
        assert all("\\n" in line for line in lines), output
        if "\u202e" not in name:
            assert Rule.NON_CANONICAL_PATH in output


def test_a_refusal_prints_member_rule_expected_and_observed_once(tmp_path: Path) -> None:
    files = {**base_files(), "store/data.bin": b"right"}
    archive = write_archive(
        tmp_path / "b.tar", [*members_for(base_files()), Member("store/data.bin", b"wrong")], listed=files
    )
    result = run_backup_cli("restore", str(archive), "--to", str(tmp_path / "staging"), limits=SMALL)
    assert result.returncode == 1
    assert result.stderr.count("store/data.bin: digest-mismatch (expected ") == 1, result.stderr
    assert ", observed " in result.stderr


# -- 9. path patterns, the end-of-archive marker, folder backups --------------------------------------------------


@pytest.mark.parametrize("path", ["store/a\n/../../../etc/passwd", "store/ok\n", "store/a\x7f"])
def test_a_manifest_path_with_a_newline_or_control_character_is_invalid(path: str) -> None:
    files: dict[str, bytes | tuple[int, str]] = {**base_files(), path: b"x"}
    with pytest.raises(ManifestInvalid) as caught:
        parse_backup_manifest(manifest_bytes(files))
    assert any(finding.rule == Rule.MANIFEST_INVALID for finding in caught.value.findings)


def test_a_header_hidden_after_a_single_zero_block_is_refused(tmp_path: Path) -> None:
    files = base_files()
    body = _without_end(tar_bytes([Member(MANIFEST_NAME, manifest_bytes(files)), *members_for(files)]))
    # An empty member's header where the second zero block belongs, then zeros: readers that stop at the first
    # zero block never see it; readers that skip one zero block do.
    hidden = raw_header("store/hidden.bin", 0)
    archive = tmp_path / "b.tar"
    archive.write_bytes(body + bytes(512) + hidden + bytes(1024))
    for output in _both(archive, tmp_path):
        assert Rule.TRAILING_DATA in output


def test_a_folder_backup_with_a_hard_link_is_refused(tiny_backups: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "b.d"
    _copy_tree(tiny_backups["directory"], folder)
    secret = tmp_path / "outside-secret.txt"
    secret.write_text("not part of any backup")
    config = folder / "config" / "atlas.env"
    config.unlink()
    os.link(secret, config)
    report = verify_backup(folder)
    assert [(f.member, f.rule) for f in report.findings][:1] == [("config/atlas.env", Rule.HARD_LINK)]
    with pytest.raises(RestoreRefused) as caught:
        restore_backup(folder, tmp_path / "staging")
    assert (caught.value.member, caught.value.rule) == ("config/atlas.env", Rule.HARD_LINK)
    assert not (tmp_path / "staging").exists()


def _copy_tree(source: Path, target: Path) -> None:
    for path in sorted(source.rglob("*")):
        destination = target / path.relative_to(source)
        if path.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(path.read_bytes())
    target.mkdir(exist_ok=True)


# -- 8. decompression bombs hidden behind random data; unlisted SQLite members ------------------------------------


def test_a_bomb_after_random_padding_is_refused_early(tmp_path: Path) -> None:
    padding = os.urandom(2 << 20)  # incompressible: averaged over the stream it hides the bomb
    bomb = 96 << 20
    files: dict[str, bytes | tuple[int, str]] = {**base_files(), "store/a-padding.bin": padding}
    files["store/zeros.bin"] = (bomb, hashlib.sha256(bytes(bomb)).hexdigest())
    members = [*members_for({**base_files(), "store/a-padding.bin": padding})]
    archive = write_archive(
        tmp_path / "bomb.tar.gz", [*members, Member("store/zeros.bin", b"", size=bomb)], listed=files
    )
    assert bomb / archive.stat().st_size < 100, "the whole-stream ratio must look harmless for this test to bite"
    limits = RestoreLimits(max_compression_ratio=100, ratio_grace_bytes=1 << 20, buffer_size=1 << 18)
    with pytest.raises(RestoreRefused) as caught:
        restore_backup(archive, tmp_path / "staging", limits)
    assert (caught.value.rule, caught.value.member) == (Rule.COMPRESSION_RATIO_LIMIT, "store/zeros.bin")
    produced = int(str(caught.value.observed).split("(")[1].split()[0])
    assert produced < len(padding) + bomb // 4, "refused only after producing most of the bomb"
    assert not (tmp_path / "staging").exists()


def test_verify_never_copies_an_unlisted_sqlite_member(tmp_path: Path) -> None:
    files = base_files()
    corrupt = b"SQLite format 3\0" + os.urandom(8192)  # integrity_check would complain, were it run
    archive = write_archive(
        tmp_path / "b.tar", [*members_for(files), Member("store/unlisted.sqlite", corrupt)], listed=files
    )
    report = verify_backup(archive)
    assert [(f.member, f.rule) for f in report.findings] == [("store/unlisted.sqlite", Rule.UNLISTED_MEMBER)]


def test_compressed_kinds_refuse_the_same_way(tmp_path: Path) -> None:
    files = base_files()
    data = tar_bytes([Member(MANIFEST_NAME, manifest_bytes(files)), *members_for(files)])
    for name in ("b.tar.gz", "b.tar.zst"):
        archive = tmp_path / name
        hostile = _without_end(data) + tar_bytes([Member("store/x", b"", pax={"size": "-1"})])
        archive.write_bytes(compress_for(archive, hostile))
        for output in _both(archive, tmp_path):
            assert Rule.MALFORMED_HEADER in output


@pytest.mark.parametrize("name", ["steady.tar.gz", "steady.tar.zst"])
def test_a_steady_ratio_under_the_limit_is_restored(tmp_path: Path, name: str) -> None:
    """The other side of the per-stretch guard: 32 MiB compressing ~30:1 all along is fine under a 100:1 limit."""
    block = 1024
    noise = os.urandom((32 << 20) // block * 32)
    data = b"".join(noise[i * 32 : i * 32 + 32] + bytes(block - 32) for i in range((32 << 20) // block))
    files = {**base_files(), "store/steady.bin": data}
    archive = write_archive(tmp_path / name, members_for(files), listed=files)
    ratio = len(data) / archive.stat().st_size
    assert 10 < ratio < 100, f"the data should compress between 10:1 and 100:1, not {ratio:.0f}:1"
    limits = RestoreLimits(max_compression_ratio=100, ratio_grace_bytes=1 << 20, buffer_size=1 << 18)
    result = restore_backup(archive, tmp_path / "staging", limits)
    assert (tmp_path / "staging" / "store" / "steady.bin").stat().st_size == len(data)
    assert result.files == 3


def test_a_giant_value_in_the_manifest_is_quoted_briefly_even_in_json(tmp_path: Path) -> None:
    document = manifest_document({})
    document["files"] = [{"path": "store/" + "x" * 5_000_000}] * 3
    archive = tmp_path / "b.tar.zst"
    archive.write_bytes(compress_for(archive, tar_bytes([Member(MANIFEST_NAME, json.dumps(document).encode())])))
    result = run_backup_cli("verify", "--json", str(archive), limits=SMALL)
    assert result.returncode == 1, result.output[-2000:]
    assert len(result.output) < MAX_OUTPUT, f"printed {len(result.output)} characters"
    assert json.loads(result.stdout)["findings"][0]["rule"] == Rule.MANIFEST_INVALID
    _both(archive, tmp_path)


def test_a_member_whose_name_a_pax_record_empties_is_named_visibly(tmp_path: Path) -> None:
    """Found by the bounded-property test: `path=` in a pax header leaves a refusal naming nothing."""
    files = base_files()
    members = [*members_for(files), Member("store/x.bin", b"", pax={"path": ""})]
    archive = write_archive(tmp_path / "b.tar", members, listed=files)
    verify, restore = _both(archive, tmp_path)
    assert f"<empty name>: {Rule.NON_CANONICAL_PATH}" in verify
    assert f"restore refused: <empty name>: {Rule.NON_CANONICAL_PATH} (expected" in restore
