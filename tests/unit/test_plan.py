"""The drill plan: schema validation, defaults, option overrides, backup picking."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from atlas_drills.plan import DEFAULT_PLAN, PlanError, PlanOverrides, expand, load_plan, pick_backups
from atlas_drills.sandbox.target import TargetError, load_target


def test_the_shipped_plan_drills_the_embedded_default() -> None:
    plan = load_plan(DEFAULT_PLAN)
    [spec] = expand(plan, PlanOverrides())
    assert spec.id == spec.backup == spec.expect == "sample://current"
    assert spec.target == "standin"
    assert spec.sandbox == "auto"
    assert plan.budgets.ready > 0
    assert plan.max_backup_age_hours > 0


def _plan(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.toml"
    path.write_text(text)
    return path


def test_schema_violations_name_the_field(tmp_path: Path) -> None:
    path = _plan(tmp_path, 'schema_version = 1\n[[drills]]\nbackup = "ftp://x"\nexpect = "sample://current"\nx = 1\n')
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    message = str(caught.value)
    assert str(path) in message
    assert "drills[0].backup" in message
    assert "ftp://x" in message
    assert "'x' was unexpected" in message


def test_missing_and_broken_plans(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="no such drill plan"):
        load_plan(tmp_path / "absent.toml")
    with pytest.raises(PlanError, match="not valid TOML"):
        load_plan(_plan(tmp_path, "schema_version = \n"))


def _backups(folder: Path) -> list[Path]:
    folder.mkdir()
    paths = []
    for index, name in enumerate(["a.tar.zst", "b.tar", "c.tar.gz"]):
        path = folder / name
        path.write_bytes(b"x")
        os.utime(path, (1000 + index, 1000 + index))
        paths.append(path)
    directory = folder / "d"
    directory.mkdir()
    (directory / "backup-manifest.json").write_text("{}")
    os.utime(directory, (999, 999))
    (folder / "notes.txt").write_text("not a backup")
    return [*paths, directory]


def test_pick_latest_all_random(tmp_path: Path) -> None:
    a, b, c, d = _backups(tmp_path / "backups")
    assert pick_backups(tmp_path / "backups", "all", 0) == [a, b, c, d]
    assert pick_backups(tmp_path / "backups", "latest", 0) == [c]
    first = pick_backups(tmp_path / "backups", "random", 42)
    assert first == pick_backups(tmp_path / "backups", "random", 42)
    assert {tuple(pick_backups(tmp_path / "backups", "random", seed)) for seed in range(40)} == {(a,), (b,), (c,), (d,)}


def test_empty_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="no backups here"):
        pick_backups(tmp_path, "all", 0)


def test_backup_option_replaces_the_plan(tmp_path: Path) -> None:
    _backups(tmp_path / "backups")
    release = tmp_path / "release"
    (release / "ops").mkdir(parents=True)
    plan = load_plan(DEFAULT_PLAN)
    drills = expand(
        plan,
        PlanOverrides(backup=str(tmp_path / "backups"), expect=str(release), pick="all", target_image="img:1"),
    )
    assert [d.id for d in drills] == sorted(d.id for d in drills)
    assert len(drills) == 4
    assert all(d.id.startswith("file://") and d.expect == f"file://{release}" for d in drills)
    assert {d.target_image for d in drills} == {"img:1"}


def test_real_backup_needs_an_expectation(tmp_path: Path) -> None:
    [a, *_] = _backups(tmp_path / "backups")
    with pytest.raises(PlanError, match="--drill-expect"):
        expand(load_plan(DEFAULT_PLAN), PlanOverrides(backup=str(a)))
    with pytest.raises(PlanError, match="holding ops/"):
        expand(load_plan(DEFAULT_PLAN), PlanOverrides(backup=str(a), expect=str(tmp_path)))
    with pytest.raises(PlanError, match="no such file"):
        expand(load_plan(DEFAULT_PLAN), PlanOverrides(backup=str(tmp_path / "nope.tar")))


def test_targets_load_and_fail_clearly(tmp_path: Path) -> None:
    standin = load_target("standin")
    assert standin.image == ""
    assert standin.local_argv()[1:] == ["-m", "atlas_drills.standin"]
    assert standin.env["ATLAS_ENABLE_ADMIN_ENDPOINTS"] == "true"
    atlas = load_target("atlas")
    assert atlas.entrypoint == ("/app/bijux-atlas-server",)
    with pytest.raises(TargetError, match="only run in Docker"):
        atlas.local_argv()
    with pytest.raises(TargetError, match="known targets: atlas, standin"):
        load_target("nothing")
    broken = tmp_path / "t.toml"
    broken.write_text('[target]\nname = "x"\ncommand = "not a list"\n')
    with pytest.raises(TargetError, match="store_path"):
        load_target(broken)
