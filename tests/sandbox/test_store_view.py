"""The verified tree is served in place and never modified: read-only for the shared sandbox, a copy-on-write view
for checks that change state, whose record of changes is exact (every changed, added or removed path, nothing else).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from atlas_drills.backup.restore import RestoreResult, restore_backup
from atlas_drills.plan import DrillSpec
from atlas_drills.plan_preview import EngineView, setup_problems
from atlas_drills.sandbox.base import Sandbox, SandboxRequest
from atlas_drills.sandbox.docker import DockerSandbox
from atlas_drills.sandbox.local import LocalSandbox
from atlas_drills.sandbox.store_view import (
    COPY,
    MOUNT,
    OverlayLayers,
    StoreSettingError,
    digest_changes,
    store_plan,
)
from atlas_drills.sandbox.target import load_target

STORE_PATH = "/srv/atlas/store"  # the stand-in target file's store path


def _tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _verified(restored: RestoreResult) -> dict[str, str]:
    return {k.removeprefix("store/"): v for k, v in restored.digests.items() if k.startswith("store/")}


def _request(staging: Path, work_dir: Path, run_id: str, *, writable: bool) -> SandboxRequest:
    return SandboxRequest(
        load_target("standin"),
        staging=staging,
        work_dir=work_dir,
        labels={"run": run_id},
        ready_timeout_s=20,
        writable=writable,
    )


def _an_artifact(restored: RestoreResult) -> str:
    """The store-relative path of one dataset's SQLite file: an artifact no check may change."""
    return next(p for p in sorted(restored.digests) if p.endswith(".sqlite")).removeprefix("store/")


@pytest.mark.parametrize(
    ("setting", "docker_host", "expected"),
    [
        (None, None, MOUNT),
        ("", "unix:///var/run/docker.sock", MOUNT),
        ("auto", "tcp://127.0.0.1:2375", MOUNT),
        ("auto", "tcp://docker:2375", COPY),
        ("copy", None, COPY),
        ("MOUNT", "tcp://docker:2375", MOUNT),
    ],
)
def test_the_store_is_mounted_where_the_engine_sees_this_machine(
    setting: str | None, docker_host: str | None, expected: str
) -> None:
    plan = store_plan(setting, docker_host)
    assert plan.mode == expected
    assert plan.reason


def test_an_unknown_store_setting_is_refused_naming_the_choices() -> None:
    with pytest.raises(StoreSettingError, match=r"ATLAS_DRILLS_SANDBOX_STORE='bind': expected one of auto, mount"):
        store_plan("bind", None)


def test_a_bad_store_setting_is_a_setup_error_of_docker_drills(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATLAS_DRILLS_SANDBOX_STORE", "bind")
    engine = EngineView(client=object(), reason="a Docker engine answers")
    docker_drill = DrillSpec("sample://current", "sample://current", "sample://current", sandbox="docker")
    local_drill = DrillSpec("sample://current", "sample://current", "sample://current", sandbox="local")
    (problem,) = setup_problems([docker_drill], engine)
    assert "ATLAS_DRILLS_SANDBOX_STORE='bind'" in problem
    assert setup_problems([local_drill], engine) == []


def test_an_overlay_refuses_a_path_its_options_cannot_carry(tmp_path: Path) -> None:
    lower = tmp_path / "a:b" / "store"
    lower.mkdir(parents=True)
    layers = OverlayLayers.under(lower, tmp_path / "view")
    with pytest.raises(ValueError, match="a:b"):
        layers.mount_options()


def test_digest_changes_name_changed_added_and_removed_paths() -> None:
    verified = {"a": "1", "b": "2", "c": "3"}
    assert digest_changes({"a": "1", "b": "9", "d": "4"}, verified) == ["b", "c", "d"]
    assert digest_changes(dict(verified), verified) == []


def _sandbox(kind: str, request: SandboxRequest, fixtures: pytest.FixtureRequest) -> Sandbox:
    if kind.startswith("local"):
        return LocalSandbox(request)
    store = MOUNT if kind == "docker-mount" else COPY
    return DockerSandbox(request, fixtures.getfixturevalue("standin_image"), store=store)


def _change_in_place(sandbox: Sandbox, artifact: str, removed: str) -> None:
    """What a misbehaving target could do to the store it serves: append to an artifact, delete another file."""
    if isinstance(sandbox, DockerSandbox):
        wrapped: Any = sandbox.container.get_wrapped_container() if sandbox.container else None
        assert wrapped is not None
        result = wrapped.exec_run(
            ["sh", "-c", f"printf x >> {STORE_PATH}/{artifact} && rm {STORE_PATH}/{removed}"], user="0"
        )
        assert result.exit_code == 0, result.output
        return
    assert isinstance(sandbox, LocalSandbox)
    with (sandbox.store_dir / artifact).open("ab") as handle:
        handle.write(b"x")
    (sandbox.store_dir / removed).unlink()


@pytest.mark.parametrize("kind", ["docker-mount", "docker-copy", "local-overlay", "local-copy"])
def test_a_writable_view_records_every_change_and_the_verified_tree_stays_as_restored(  # noqa: PLR0917 - fixtures
    kind: str,
    sample_backup: Path,
    tmp_path: Path,
    run_label: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if kind == "local-overlay" and os.geteuid() != 0:
        pytest.skip("mounting an overlay needs root; without it the local sandbox copies (local-copy)")
    if kind == "local-copy":  # as for a user who may not mount: the mount fails, the store is copied
        monkeypatch.setattr("atlas_drills.sandbox.local._system", lambda tool, *args: False)
    restored = restore_backup(sample_backup, tmp_path / "staging")
    before = _tree(restored.staging)
    verified = _verified(restored)
    artifact = _an_artifact(restored)
    removed = next(p for p in sorted(verified) if p.endswith("manifest.lock"))
    sandbox = _sandbox(kind, _request(restored.staging, tmp_path / "work", run_label, writable=True), request)
    with sandbox:
        if kind.startswith("local"):
            assert isinstance(sandbox, LocalSandbox)
            assert (sandbox.overlay is not None) == (kind == "local-overlay")
            assert sandbox.store_dir != restored.staging / "store"
        assert sandbox.store_changes(verified) == [], "nothing changed yet"
        new_catalog = b'{"datasets": []}\n'
        sandbox.write_store_files({"catalog.json": new_catalog})
        assert sandbox.store_changes(verified) == ["catalog.json"]
        _change_in_place(sandbox, artifact, removed)
        assert sandbox.store_changes(verified) == sorted(["catalog.json", artifact, removed])
    # The verified tree: byte for byte as restored, whatever the view went through.
    assert _tree(restored.staging) == before
    assert {f"store/{k}": v for k, v in verified.items()}.items() <= before.items()


def test_a_mounted_view_copies_nothing_into_the_container(
    sample_backup: Path, tmp_path: Path, run_label: str, request: pytest.FixtureRequest
) -> None:
    """The overlay's upper layer starts empty and holds only what changed: the store was not copied anywhere."""
    restored = restore_backup(sample_backup, tmp_path / "staging")
    sandbox = DockerSandbox(
        _request(restored.staging, tmp_path / "work", run_label, writable=True),
        request.getfixturevalue("standin_image"),
        store=MOUNT,
    )
    with sandbox:
        assert sandbox.overlay is not None
        assert list(sandbox.overlay.upper.iterdir()) == []
        sandbox.write_store_files({"catalog.json": b"{}\n"})
        assert [p.name for p in sandbox.overlay.upper.iterdir()] == ["catalog.json"]


def test_the_shared_view_is_read_only_even_to_root_in_the_container(
    sample_backup: Path, tmp_path: Path, run_label: str, request: pytest.FixtureRequest
) -> None:
    restored = restore_backup(sample_backup, tmp_path / "staging")
    before = _tree(restored.staging)
    artifact = _an_artifact(restored)
    sandbox = DockerSandbox(
        _request(restored.staging, tmp_path / "work", run_label, writable=False),
        request.getfixturevalue("standin_image"),
        store=MOUNT,
    )
    with sandbox:
        wrapped = sandbox.container.get_wrapped_container() if sandbox.container else None
        assert wrapped is not None
        result = wrapped.exec_run(["sh", "-c", f"printf x >> {STORE_PATH}/{artifact}"], user="0")
        assert result.exit_code != 0
        assert b"Read-only file system" in result.output
    assert _tree(restored.staging) == before


def test_a_sandbox_removes_its_overlay_volume(
    sample_backup: Path, tmp_path: Path, run_label: str, request: pytest.FixtureRequest
) -> None:
    client = request.getfixturevalue("docker_client")
    restored = restore_backup(sample_backup, tmp_path / "staging")
    sandbox = DockerSandbox(
        _request(restored.staging, tmp_path / "work", run_label, writable=True),
        request.getfixturevalue("standin_image"),
        store=MOUNT,
    )

    def volumes() -> list[Any]:
        return list(client.volumes.list(filters={"label": f"org.atlas-drills.run={run_label}"}))

    with sandbox:
        assert len(volumes()) == 1
    assert volumes() == []
