"""The drill plan: schema validation, defaults, option overrides, backup picking."""

from __future__ import annotations

import io
import json
import os
import shutil
import tarfile
from pathlib import Path

import pytest
import zstandard

from atlas_drills.plan import (
    DEFAULT_PLAN,
    PlanError,
    PlanOverrides,
    expand,
    load_plan,
    parse_seed,
    pick_backups,
    planned_set,
    uri_path,
)
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


def _manifest(created_at: str) -> bytes:
    return json.dumps({"format": "atlas-backup/1", "created_at": created_at}).encode()


def _write_backup(path: Path, created_at: str, mtime: int) -> Path:
    """A backup with only its manifest, first member as `create` writes it: all that planning reads."""
    data = _manifest(created_at)
    if path.name.endswith((".tar", ".tar.gz")):
        with tarfile.open(path, "w:gz" if path.name.endswith(".gz") else "w") as archive:
            info = tarfile.TarInfo("backup-manifest.json")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    elif path.name.endswith(".tar.zst"):
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            info = tarfile.TarInfo("backup-manifest.json")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        path.write_bytes(zstandard.ZstdCompressor().compress(buffer.getvalue()))
    else:
        path.mkdir()
        (path / "backup-manifest.json").write_bytes(data)
    os.utime(path, (mtime, mtime))
    return path


def _backups(folder: Path) -> list[Path]:
    """Four backups whose manifests' creation order (c newest) is the reverse of their file times (a newest)."""
    folder.mkdir()
    created = {"a.tar.zst": "2026-11-18", "b.tar": "2026-11-19", "c.tar.gz": "2026-11-21", "d": "2026-11-20"}
    paths = [
        _write_backup(folder / name, f"{day}T03:00:00Z", 5000 - index)
        for index, (name, day) in enumerate(created.items())
    ]
    (folder / "notes.txt").write_text("not a backup")
    return paths


def test_pick_latest_all_random(tmp_path: Path) -> None:
    a, b, c, d = (p.resolve() for p in _backups(tmp_path / "backups"))
    folder = tmp_path / "backups"
    assert pick_backups(folder, "all", 0).picked == tuple(p.as_uri() for p in (a, b, c, d))
    # Newest by the manifest's created_at; the file times say the opposite (a copy changes them, not the backup).
    assert pick_backups(folder, "latest", 0).picked == (c.as_uri(),)
    first = pick_backups(folder, "random", 42)
    assert first.picked == pick_backups(folder, "random", 42).picked
    assert {pick_backups(folder, "random", seed).picked for seed in range(40)} == {(p.as_uri(),) for p in (a, b, c, d)}


def test_latest_follows_created_at_after_a_copy(tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    _, _, c, _ = _backups(folder)
    copy = folder / "a-copy.tar"
    shutil.copy(folder / "b.tar", copy)  # the newest file on disk, an older backup inside
    assert pick_backups(folder, "latest", 0).picked == (c.resolve().as_uri(),)


def test_latest_refuses_when_a_manifest_cannot_be_read(tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    _backups(folder)
    (folder / "e.tar").write_bytes(b"x" * 1024)
    with pytest.raises(PlanError, match=r"cannot tell the latest backup.*e\.tar"):
        pick_backups(folder, "latest", 0)
    # all still drills it, and the broken one's drill will say why it cannot be restored
    assert len(pick_backups(folder, "all", 0).picked) == 5


def test_a_random_pick_records_its_candidates_and_a_changed_folder_refuses_the_replay(tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    _backups(folder)
    pick = pick_backups(folder, "random", 7)
    recorded = pick.as_dict()
    assert [c["id"] for c in recorded["candidates"]] == sorted(c["id"] for c in recorded["candidates"])
    assert all(len(c["manifest_sha256"]) == 64 for c in recorded["candidates"])
    seed, digest = parse_seed(recorded["replay"].removeprefix("--drill-seed="))
    assert (seed, digest) == (7, pick.candidates_digest)
    assert pick_backups(folder, "random", seed, digest).picked == pick.picked
    _write_backup(folder / "f.tar", "2026-11-22T03:00:00Z", 1)
    with pytest.raises(PlanError, match=r"backups were added, removed or changed.*f\.tar"):
        pick_backups(folder, "random", seed, digest)
    (folder / "f.tar").unlink()
    (folder / "d" / "backup-manifest.json").write_bytes(_manifest("2026-11-20T04:00:00Z"))  # rewritten in place
    with pytest.raises(PlanError, match="backups were added, removed or changed"):
        pick_backups(folder, "random", seed, digest)


def test_seed_forms() -> None:
    assert parse_seed("12") == (12, None)
    assert parse_seed("12:0123456789abcdef") == (12, "0123456789abcdef")
    for bad in ("x", "-1", "12:", "12:xyz", "12:0123"):
        with pytest.raises(PlanError, match="--drill-seed"):
            parse_seed(bad)


def test_empty_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="no backups here"):
        pick_backups(tmp_path, "all", 0)


def test_drill_ids_are_canonical_file_uris(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "real backups"
    _backups(folder)
    link = tmp_path / "link"
    link.symlink_to(folder)
    release = tmp_path / "release"
    (release / "ops").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    plan = load_plan(DEFAULT_PLAN)

    def ids(backup: str) -> list[str]:
        return [d.id for d in expand(plan, PlanOverrides(backup=backup, expect="release", pick="all"))]

    real = ids(str(folder))
    assert real == ids("real backups") == ids(str(link)) == ids("link/") == ids("./link/../link")
    assert all(i.startswith(f"file://{tmp_path.resolve()}/real%20backups/") for i in real)
    [single] = ids("link/b.tar")
    assert single == (folder / "b.tar").resolve().as_uri()
    assert uri_path(single) == (folder / "b.tar").resolve()
    assert expand(plan, PlanOverrides(backup="link/b.tar", expect="release"))[0].expect == release.resolve().as_uri()


def test_plan_entries_are_canonical_relative_to_the_plan(tmp_path: Path) -> None:
    _backups(tmp_path / "backups")
    path = _plan(
        tmp_path,
        "schema_version = 1\n[[drills]]\nbackup = 'file://backups/b.tar'\nexpect = 'sample://current'\n",
    )
    [drill] = expand(load_plan(path), PlanOverrides())
    assert drill.id == drill.backup == (tmp_path / "backups" / "b.tar").resolve().as_uri()
    assert len(drill.manifest_sha256) == 64


def test_the_planned_set_has_every_drill_and_its_manifest_digest(tmp_path: Path) -> None:
    _backups(tmp_path / "backups")
    release = tmp_path / "release"
    (release / "ops").mkdir(parents=True)
    plan = load_plan(DEFAULT_PLAN)
    drills = expand(plan, PlanOverrides(backup=str(tmp_path / "backups"), expect=str(release), pick="all"))
    planned = planned_set(drills)
    assert [d["id"] for d in planned["drills"]] == [d.id for d in drills]
    digest = planned["digest"]
    (tmp_path / "backups" / "d" / "backup-manifest.json").write_bytes(_manifest("2026-11-20T05:00:00Z"))
    again = expand(plan, PlanOverrides(backup=str(tmp_path / "backups"), expect=str(release), pick="all"))
    assert planned_set(again)["digest"] != digest


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
