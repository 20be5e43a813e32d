"""What recovery is not: a cache root or a build root in place of the serving store is named as such."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from atlas_drills.faults import fault_named
from atlas_drills.sample import SampleRelease
from atlas_drills.store.not_a_store import not_a_serving_store


@pytest.fixture
def tree(sample_release: SampleRelease, tmp_path: Path) -> Path:
    """A restored-backup-shaped tree: `store/` holding a copy of the sample's serving store."""
    shutil.copytree(sample_release.store_root, tmp_path / "tree" / "store")
    return tmp_path / "tree"


def test_a_serving_store_is_one(tree: Path) -> None:
    assert not_a_serving_store(tree / "store") is None


@pytest.mark.parametrize(
    ("fault", "named"),
    [
        ("cache-instead-of-store", "holds an Atlas cache root instead of the serving store (.dataset-index/"),
        ("build-root-instead-of-store", "holds an Atlas build root instead of the serving store (ingest outputs"),
    ],
)
def test_a_cache_or_build_root_is_named(tree: Path, fault: str, named: str) -> None:
    change = fault_named(fault).change_tree
    assert change is not None
    change(tree)
    reason = not_a_serving_store(tree / "store")
    assert reason is not None
    assert reason.startswith(named), reason


def test_a_store_with_its_catalog_lost_is_still_a_serving_store(tree: Path) -> None:
    (tree / "store" / "catalog.json").unlink()
    assert not_a_serving_store(tree / "store") is None
