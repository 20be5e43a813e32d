"""Relative paths mean the working directory, for every command and for the library under it."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from atlas_drills.backup.create import create_backup
from atlas_drills.cli import absolute_paths, main
from atlas_drills.sample import SampleRelease
from atlas_drills.sandbox.base import SandboxRequest
from atlas_drills.sandbox.local import LocalSandbox
from atlas_drills.sandbox.target import load_target


@pytest.fixture
def live_url(sample_release: SampleRelease, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A stand-in serving the small sample on 127.0.0.1, for --baseline-from."""
    request = SandboxRequest(
        load_target("standin"), staging=sample_release.root, work_dir=tmp_path_factory.mktemp("live")
    )
    with LocalSandbox(request) as live:
        yield live.base_url


def _relative_to_cwd(path: Path) -> str:
    return os.path.relpath(path, Path.cwd())


def test_backup_with_baseline_to_a_relative_out(
    sample_release: SampleRelease, live_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The library: the SQLite snapshots of a relative --out sit in a relative work folder; reading them for the
    baseline must not need an absolute path (it used to crash: 'relative path can't be expressed as a file URI')."""
    monkeypatch.chdir(tmp_path)
    result = create_backup(
        sample_release.store_root,
        sample_release.root / "ops",
        sample_release.config_file,
        Path("b.tar.zst"),
        baseline_from=live_url,
        show_progress=False,
    )
    assert (tmp_path / "b.tar.zst").is_file()
    assert any(f.path == "baseline/queries.json" for f in result.manifest.files)


def test_every_command_takes_paths_relative_to_the_working_directory(
    sample_release: SampleRelease,
    live_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    release = _relative_to_cwd(sample_release.root)
    assert not Path(release).is_absolute()
    create = ["backup", "create", "--store", f"{release}/store", "--ops", f"{release}/ops"]
    create += [
        "--config",
        f"{release}/config/atlas.env",
        "--baseline-from",
        live_url,
        "--out",
        "out.tar.zst",
        "--quiet",
    ]
    assert main(create) == 0
    assert main(["backup", "verify", "out.tar.zst"]) == 0
    assert main(["backup", "restore", "out.tar.zst", "--to", "restored"]) == 0
    assert (work / "restored" / "store" / "catalog.json").is_file()
    assert main(["evidence", "check", "restored"]) in (0, 1)  # the verdict is not the point: it ran on that folder
    assert main(["faults", "apply", "catalog-checksum-mismatch", "out.tar.zst", "--out", "bad.tar.zst"]) == 0
    assert (work / "bad.tar.zst").is_file()
    output = capsys.readouterr()
    assert "Traceback" not in output.err
    assert str(work / "out.tar.zst") in output.out  # what was written is named in full


def test_absolute_paths_resolves_every_path_argument_against_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args = absolute_paths(
        argparse.Namespace(out=Path("a/b"), reports=[Path("x.json"), Path("/abs/y.json")], name="a/b", count=3)
    )
    assert args.out == tmp_path / "a/b"
    assert args.reports == [tmp_path / "x.json", Path("/abs/y.json")]
    assert args.name == "a/b"  # strings are not paths: left as typed
    assert args.count == 3
