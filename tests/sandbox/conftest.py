"""Fixtures for sandbox tests: a real backup of the small sample, and a Docker engine with the stand-in image.

Docker tests skip with a plain reason when no engine answers, unless ATLAS_DRILLS_REQUIRE_DOCKER=1 (set by CI),
where a missing engine is a failure: CI must prove the container path, not skip it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from atlas_drills.backup.create import create_backup
from atlas_drills.sample import SampleRelease
from atlas_drills.sandbox.base import SandboxRequest
from atlas_drills.sandbox.local import LocalSandbox
from atlas_drills.sandbox.target import load_target


@pytest.fixture(scope="session")
def sample_backup(sample_release: SampleRelease, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A .tar.zst backup of the small sample, with baseline answers recorded from a live local stand-in."""
    folder = tmp_path_factory.mktemp("sample-backup")
    request = SandboxRequest(load_target("standin"), staging=sample_release.root, work_dir=folder / "live")
    with LocalSandbox(request) as live:
        result = create_backup(
            sample_release.store_root,
            sample_release.root / "ops",
            sample_release.config_file,
            folder / "backup.tar.zst",
            baseline_from=live.base_url,
            show_progress=False,
        )
    return result.path


@pytest.fixture(scope="session")
def docker_client() -> Any:
    """A Docker SDK client for the engine, or a skip (a failure under ATLAS_DRILLS_REQUIRE_DOCKER=1)."""
    from atlas_drills.sandbox.engine import EngineUnavailable, connect

    try:
        return connect()
    except EngineUnavailable as exc:
        if os.environ.get("ATLAS_DRILLS_REQUIRE_DOCKER") == "1":
            pytest.fail(f"ATLAS_DRILLS_REQUIRE_DOCKER=1 but {exc}")
        pytest.skip(f"no Docker engine: {exc}")


@pytest.fixture(scope="session")
def standin_image(docker_client: Any) -> str:
    """The stand-in image for the current sources (built when missing; about 20 s the first time)."""
    from atlas_drills.sandbox.select import ensure_target_image

    return ensure_target_image("")


@pytest.fixture
def run_label(request: pytest.FixtureRequest) -> Iterator[str]:
    """A run id unique to this test, to find (and in the end remove) the containers it started."""
    import secrets

    run_id = f"selftest-{secrets.token_hex(4)}"
    yield run_id
    client = request.getfixturevalue("docker_client") if "docker_client" in request.fixturenames else None
    if client is not None:
        from atlas_drills.sandbox.sweep import sweep

        sweep(client, run_id=run_id)
