"""Fixtures shared by the suite's own tests."""

from __future__ import annotations

import pytest

from atlas_drills.sample import SampleConfig, SampleRelease, build_sample

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
