"""Both sandbox kinds serve the same restored backup, capture the target's log, and leave nothing behind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from atlas_drills.backup.restore import restore_backup
from atlas_drills.sandbox.base import Sandbox, SandboxError, SandboxRequest
from atlas_drills.sandbox.docker import DockerSandbox
from atlas_drills.sandbox.local import LocalSandbox
from atlas_drills.sandbox.select import SandboxUnavailable, ensure_target_image
from atlas_drills.sandbox.sweep import RUN_LABEL
from atlas_drills.sandbox.target import load_target


def _request(staging: Path, work_dir: Path, run_id: str, **extra: Any) -> SandboxRequest:
    return SandboxRequest(
        load_target("standin"), staging=staging, work_dir=work_dir, labels={"run": run_id}, ready_timeout_s=20, **extra
    )


def _sandbox(kind: str, request: SandboxRequest, fixtures: pytest.FixtureRequest) -> Sandbox:
    if kind == "docker":
        return DockerSandbox(request, fixtures.getfixturevalue("standin_image"))
    return LocalSandbox(request)


def _containers(fixtures: pytest.FixtureRequest, run_id: str) -> list[Any]:
    client = fixtures.getfixturevalue("docker_client")
    return list(client.containers.list(all=True, filters={"label": f"{RUN_LABEL}={run_id}"}))


@pytest.mark.parametrize("kind", ["docker", "local"])
def test_restored_sample_is_served_and_removed(
    kind: str, sample_backup: Path, tmp_path: Path, run_label: str, request: pytest.FixtureRequest
) -> None:
    restored = restore_backup(sample_backup, tmp_path / "staging")
    sandbox = _sandbox(kind, _request(restored.staging, tmp_path / "work", run_label), request)
    with sandbox:
        assert requests.get(sandbox.base_url + "/readyz", timeout=5).text.strip() == "ready"
        version = requests.get(sandbox.base_url + "/v1/version", timeout=5).json()
        assert version["server"]["artifact_schema_versions"] == {
            "manifest_schema_version": "1",
            "sqlite_schema_version": "4",
        }
        build = requests.get(sandbox.base_url + "/debug/build-metadata", timeout=5).json()
        # The restored runtime configuration reached the target: it serves the backed-up release's identity.
        assert build["release_id"] == restored.manifest.release.release_id
        assert sandbox.base_url.startswith("http://127.0.0.1:")
        timings = sandbox.timings.as_dict()
        assert timings["start"] > 0
        assert timings["ready"] > 0
        if kind == "docker":
            assert len(_containers(request, run_label)) == 1
    log = sandbox.logs()
    assert '"event_id":"startup"' in log.replace(" ", "")
    assert restored.manifest.release.release_id in log
    assert not sandbox.is_running()
    if kind == "docker":
        assert _containers(request, run_label) == []


@pytest.mark.parametrize("kind", ["docker", "local"])
def test_a_target_that_fails_to_start_reports_its_log_and_leaves_nothing(
    kind: str, sample_backup: Path, tmp_path: Path, run_label: str, request: pytest.FixtureRequest
) -> None:
    restored = restore_backup(sample_backup, tmp_path / "staging")
    config = restored.staging / "config" / "atlas.env"
    config.write_text(config.read_text() + "ATLAS_NOT_A_SETTING=1\n")
    sandbox = _sandbox(kind, _request(restored.staging, tmp_path / "work", run_label), request)
    with pytest.raises(SandboxError) as caught, sandbox:
        pytest.fail("a target with an unknown ATLAS_ setting must not start")
    assert "ATLAS_NOT_A_SETTING" in caught.value.log
    assert any("ATLAS_NOT_A_SETTING" in note for note in caught.value.__notes__)
    assert not sandbox.is_running()
    if kind == "docker":
        assert _containers(request, run_label) == []


def test_a_missing_target_image_is_said_plainly(docker_client: Any) -> None:
    with pytest.raises(SandboxUnavailable, match="not in the engine"):
        ensure_target_image("atlas-drills/does-not-exist:0")


def test_the_cache_root_must_start_empty(sample_backup: Path, tmp_path: Path) -> None:
    restored = restore_backup(sample_backup, tmp_path / "staging")
    (tmp_path / "work" / "cache").mkdir(parents=True)
    (tmp_path / "work" / "cache" / "stale").write_text("x")
    with (
        pytest.raises(SandboxError, match="must start empty"),
        LocalSandbox(_request(restored.staging, tmp_path / "work", "x")),
    ):
        pass
