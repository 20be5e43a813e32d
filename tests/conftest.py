"""Fixtures shared by the suite's own tests.

Docker tests skip with a plain reason when no engine answers, unless ATLAS_DRILLS_REQUIRE_DOCKER=1 (set by CI),
where a missing engine is a failure: CI must prove the container path, not skip it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from atlas_drills.backup.create import create_backup
from atlas_drills.sample import SampleConfig, SampleRelease, build_sample
from atlas_drills.sandbox.base import SandboxRequest
from atlas_drills.sandbox.local import LocalSandbox
from atlas_drills.sandbox.target import load_target

# Small enough to build in well under a second, big enough for several contigs, every biotype and release churn.
SMALL_SAMPLE = SampleConfig(seed=7, genes=300)


@pytest.fixture(scope="session")
def sample_release(tmp_path_factory: pytest.TempPathFactory) -> SampleRelease:
    """A small synthetic Atlas release (`SMALL_SAMPLE`: seed 7, 300 genes, releases 110-112 of homo_sapiens/GRCh38
    plus 112/mus_musculus/GRCm39), built once per test session (once per xdist worker).

    Treat it as read-only: it is shared by every test. A test that changes files must copy it first
    (`shutil.copytree(sample_release.root, tmp_path / "sample")`) and `load_sample` the copy.
    """
    return build_sample(tmp_path_factory.mktemp("sample") / "release", SMALL_SAMPLE)


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
        # A generous read timeout: on a busy engine (a store being copied into a container) listing containers can
        # take longer than the few seconds a ping is given.
        return connect(timeout=60)
    except EngineUnavailable as exc:
        if os.environ.get("ATLAS_DRILLS_REQUIRE_DOCKER") == "1":
            pytest.fail(f"ATLAS_DRILLS_REQUIRE_DOCKER=1 but {exc}")
        pytest.skip(f"no Docker engine: {exc}")


@pytest.fixture(scope="session")
def standin_image(docker_client: Any) -> str:
    """The stand-in image for the current sources (built when missing; about 20 s the first time)."""
    from atlas_drills.sandbox.select import ensure_target_image

    return ensure_target_image("")
