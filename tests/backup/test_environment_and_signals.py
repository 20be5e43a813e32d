"""Faults of the environment and interruptions: one line naming the path and exit 3 for a permission or a full disk,
128+signal after removing whatever the run wrote for SIGTERM and Ctrl-C, and never a traceback.

Permission errors are real: `chmod 000`, with the CLI run without root's power to ignore it when the tests run as
root. A full disk is RLIMIT_FSIZE (EFBIG).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.backup.cli_run import Limits, run_backup_cli, start_backup_cli
from tests.backup.conftest import build_tiny_source
from tests.backup.craft import Member, base_files, members_for, write_archive

ENVIRONMENT_EXIT = 3
AS_USER = Limits(permissions_apply=True)


def _one_line_naming(result_output: str, path: Path) -> None:
    assert "Traceback" not in result_output, result_output
    lines = [line for line in result_output.splitlines() if line.strip()]
    assert any(str(path) in line for line in lines), result_output
    assert len(lines) <= 2, result_output  # the message, and for restore "Nothing was left in ..."


@pytest.fixture
def readable_backup(tmp_path: Path, tiny_backups: dict[str, Path]) -> Callable[[str], Path]:
    """A copy of a tiny backup of the given kind, free to damage."""

    def make(kind: str) -> Path:
        source = tiny_backups[kind]
        target = tmp_path / source.name
        if source.is_dir():
            for path in sorted(source.rglob("*")):
                destination = target / path.relative_to(source)
                if path.is_dir():
                    destination.mkdir(parents=True)
                else:
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    destination.write_bytes(path.read_bytes())
        else:
            target.write_bytes(source.read_bytes())
        return target

    return make


@pytest.mark.parametrize("action", ["verify", "restore"])
def test_an_unreadable_backup_is_an_environment_error_naming_it(
    readable_backup: Callable[[str], Path], tmp_path: Path, action: str
) -> None:
    backup = readable_backup("tar.zst")
    backup.chmod(0)
    args = ("verify", str(backup)) if action == "verify" else ("restore", str(backup), "--to", str(tmp_path / "to"))
    result = run_backup_cli(*args, limits=AS_USER)
    assert result.returncode == ENVIRONMENT_EXIT, result.output
    _one_line_naming(result.stderr, backup)
    assert "Permission denied" in result.stderr


def test_an_unreadable_member_of_a_folder_backup_is_named(
    readable_backup: Callable[[str], Path], tmp_path: Path
) -> None:
    backup = readable_backup("directory")
    member = backup / "config" / "atlas.env"
    member.chmod(0)
    for args in (("verify", str(backup)), ("restore", str(backup), "--to", str(tmp_path / "to"))):
        result = run_backup_cli(*args, limits=AS_USER)
        assert result.returncode == ENVIRONMENT_EXIT, result.output
        _one_line_naming(result.stderr, member)
    assert not (tmp_path / "to").exists()


def test_an_unreadable_subfolder_is_named_not_reported_as_missing_members(
    readable_backup: Callable[[str], Path], tmp_path: Path
) -> None:
    backup = readable_backup("directory")
    folder = backup / "ops" / "release"
    folder.chmod(0)
    result = run_backup_cli("verify", str(backup), limits=AS_USER)
    assert result.returncode == ENVIRONMENT_EXIT, result.output
    _one_line_naming(result.stderr, folder)
    assert "missing-member" not in result.output


def test_a_restore_folder_that_cannot_be_created_is_named(
    readable_backup: Callable[[str], Path], tmp_path: Path
) -> None:
    backup = readable_backup("tar")
    parent = tmp_path / "read-only"
    parent.mkdir(mode=0o555)
    result = run_backup_cli("restore", str(backup), "--to", str(parent / "to"), limits=AS_USER)
    assert result.returncode == ENVIRONMENT_EXIT, result.output
    _one_line_naming(result.stderr, parent / "to")


def test_create_with_an_unreadable_config_is_named(tmp_path: Path) -> None:
    source = build_tiny_source(tmp_path / "source")
    source.config.chmod(0)
    args = ("create", "--store", str(source.store), "--ops", str(source.ops), "--config", str(source.config))
    result = run_backup_cli(*args, "--out", str(tmp_path / "out.tar"), "--quiet", limits=AS_USER)
    assert result.returncode == ENVIRONMENT_EXIT, result.output
    _one_line_naming(result.stderr, source.config)


def test_a_full_disk_during_restore_is_named_and_cleaned_up(tmp_path: Path) -> None:
    files = {**base_files(), "store/big.bin": os.urandom(256 << 10)}
    archive = write_archive(tmp_path / "b.tar", members_for(files), listed=files)
    staging = tmp_path / "staging"
    result = run_backup_cli("restore", str(archive), "--to", str(staging), limits=Limits(file_size=64 << 10))
    assert result.returncode == ENVIRONMENT_EXIT, result.output
    _one_line_naming(result.stderr, staging / "store" / "big.bin")
    assert "File too large" in result.stderr
    assert not staging.exists()


# -- interruptions ------------------------------------------------------------------------------------------------


def _many_files_archive(folder: Path, count: int = 30_000) -> Path:
    files = {**base_files(), **{f"store/many/f{index:06d}.bin": b"x" * 512 for index in range(count)}}
    return write_archive(folder / "many.tar", members_for(files), listed=files)


def _wait_for(condition: Callable[[], bool], process: subprocess.Popen[str], what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert process.poll() is None, f"finished before {what}: {process.communicate()}"
        assert time.monotonic() < deadline, f"never saw {what}"
        time.sleep(0.002)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_an_interrupted_restore_leaves_nothing_and_says_so(tmp_path: Path, signum: int, code: int) -> None:
    archive = _many_files_archive(tmp_path)
    staging = tmp_path / "staging"
    process = start_backup_cli("restore", str(archive), "--to", str(staging))
    _wait_for((staging / "store" / "many").is_dir, process, "the first restored files")
    process.send_signal(signum)
    process.send_signal(signum)  # a second signal must not cut the cleanup short
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == code, stdout + stderr
    assert "Traceback" not in stderr, stderr
    assert "KeyboardInterrupt" not in stderr, stderr
    assert f"interrupted by {signal.Signals(signum).name}" in stderr
    assert not staging.exists()


def test_an_interrupted_verify_leaves_no_private_copy(tmp_path: Path) -> None:
    content = os.urandom(96 << 20)
    path = "store/release=1/species=s/assembly=a/derived/gene_summary.sqlite"
    files: dict[str, bytes | tuple[int, str]] = {
        **base_files(),
        path: (len(content), hashlib.sha256(content).hexdigest()),
    }
    archive = write_archive(tmp_path / "b.tar", [*members_for(base_files()), Member(path, content)], listed=files)
    private = tmp_path / "tmp"
    private.mkdir()
    process = start_backup_cli("verify", str(archive), TMPDIR=str(private))
    _wait_for(lambda: any(private.glob("*/member.sqlite")), process, "the private SQLite copy")
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stdout + stderr
    assert "Traceback" not in stderr
    assert list(private.iterdir()) == []


def test_an_environment_error_in_the_library_names_the_path(tmp_path: Path) -> None:
    """The library raises `BackupEnvironmentError` (a drill reports it as inconclusive, not as a broken backup)."""
    from atlas_drills.backup.errors import BackupEnvironmentError
    from atlas_drills.backup.restore import restore_backup

    files = base_files()
    archive = write_archive(tmp_path / "b.tar", members_for(files), listed=files)
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(BackupEnvironmentError) as caught:
        restore_backup(archive, blocker / "to")
    assert str(blocker / "to") in str(caught.value)
    assert caught.value.path == str(blocker / "to")
