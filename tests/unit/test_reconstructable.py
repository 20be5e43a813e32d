"""Reconstructable outputs regenerate from the surviving evidence, and a stale copy is caught."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from atlas_drills.drill.reconstructable import reconstruct
from atlas_drills.expectation import DATASET_INDEX, DATASETS_LOCK
from atlas_drills.plan import PROJECT_ROOT
from atlas_drills.sample import SampleRelease

REAL_RELEASE = PROJECT_ROOT.parent / "shared" / "atlas-real" / "release-09b857200c15"


@pytest.fixture
def release(sample_release: SampleRelease, tmp_path: Path) -> Path:
    shutil.copytree(sample_release.root / "ops", tmp_path / "ops")
    return tmp_path


def test_the_sample_dataset_index_regenerates_exactly(release: Path) -> None:
    [index] = reconstruct(release)
    assert index.path == DATASET_INDEX
    assert index.matches, (index.regenerated, index.restored)


def test_atlas_real_dataset_index_regenerates_exactly() -> None:
    if not (REAL_RELEASE / "ops").is_dir():
        pytest.skip(f"{REAL_RELEASE}: Atlas's real release files are not here")
    [index] = reconstruct(REAL_RELEASE)
    assert index.restored["generated_by"] == "bijux dev atlas ops generate"  # free text, not compared
    assert index.matches, (index.regenerated, index.restored)


def test_a_stale_copy_fails_naming_the_field(release: Path) -> None:
    path = release / DATASET_INDEX
    document = json.loads(path.read_text())
    document["dataset_ids"] = document["dataset_ids"][:-1]
    path.write_text(json.dumps(document))
    [index] = reconstruct(release)
    assert not index.matches
    assert index.differing == ["dataset_ids"]


def test_a_lost_source_says_it_cannot_regenerate(release: Path) -> None:
    (release / DATASETS_LOCK).unlink()
    [index] = reconstruct(release)
    assert index.regenerated is None
    assert index.problem == f"cannot regenerate: {DATASETS_LOCK} is missing"


def test_a_missing_copy_is_regenerated(release: Path) -> None:
    (release / DATASET_INDEX).unlink()
    [index] = reconstruct(release)
    assert index.restored is None
    assert index.problem is None
    assert index.regenerated is not None
