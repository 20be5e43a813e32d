"""The embedded sample's release is built once per code version and reused; the backup is still taken every run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from atlas_drills.drill import prepare
from atlas_drills.drill.prepare import cached_sample_release, sample_cache
from atlas_drills.plan import PROJECT_ROOT


def _builder(calls: list[Path]) -> Callable[[Path], None]:
    def build(into: Path) -> None:
        calls.append(into)
        (into / "store").mkdir(parents=True)
        (into / "store" / "catalog.json").write_text("{}")

    return build


def test_a_release_is_built_once_per_code_version_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Path] = []
    monkeypatch.setattr(prepare, "code_version", lambda: "v1")
    first = cached_sample_release(tmp_path, _builder(calls))
    second = cached_sample_release(tmp_path, _builder(calls))
    assert first == second == tmp_path / "v1"
    assert len(calls) == 1, "the second run must reuse the built release"
    assert (first / "store" / "catalog.json").read_text() == "{}"
    monkeypatch.setattr(prepare, "code_version", lambda: "v2")
    assert cached_sample_release(tmp_path, _builder(calls)) == tmp_path / "v2"
    assert len(calls) == 2, "changed code builds again"


def test_only_the_newest_releases_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Path] = []
    for version in ("v1", "v2", "v3", "v4", "v5"):
        monkeypatch.setattr(prepare, "code_version", lambda version=version: version)
        cached_sample_release(tmp_path, _builder(calls))
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["v3", "v4", "v5"]


def test_a_failed_build_leaves_nothing_to_reuse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prepare, "code_version", lambda: "v1")

    def broken(into: Path) -> None:
        into.mkdir(parents=True)
        (into / "half").write_text("x")
        raise RuntimeError("the build failed")

    with pytest.raises(RuntimeError, match="the build failed"):
        cached_sample_release(tmp_path, broken)
    assert [p.name for p in tmp_path.iterdir() if p.is_dir()] == []
    calls: list[Path] = []
    cached_sample_release(tmp_path, _builder(calls))
    assert len(calls) == 1


def test_the_code_version_follows_the_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for folder in ("atlas_drills", "ops"):
        (tmp_path / folder).mkdir()
    (tmp_path / "atlas_drills" / "a.py").write_text("x = 1\n")
    monkeypatch.setattr(prepare, "PROJECT_ROOT", tmp_path)
    before = prepare.code_version()
    assert prepare.code_version() == before
    (tmp_path / "ops" / "schema.json").write_text("{}")
    assert prepare.code_version() != before


@pytest.mark.parametrize(("value", "expected"), [("off", None), ("", "default"), ("/somewhere", "/somewhere")])
def test_the_cache_folder_is_a_setting(value: str, expected: str | None) -> None:
    found = sample_cache({"ATLAS_DRILLS_SAMPLE_CACHE": value})
    if expected is None:
        assert found is None
    elif expected == "default":
        assert found == PROJECT_ROOT / ".work" / "sample-cache"
    else:
        assert found == Path(expected)


def test_the_sample_backup_lands_in_a_folder_that_does_not_exist_yet(tmp_path: Path) -> None:
    """As `atlas-drills conformance` asks: a new folder, a release from the cache, a fresh backup beside it."""
    folder = tmp_path / "new" / "sample"
    prepare.build_sample_backup(folder)
    assert (folder / prepare.SAMPLE_BACKUP_NAME).is_file()
    assert (folder / "release" / "store" / "catalog.json").is_file()
