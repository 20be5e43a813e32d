"""A drill's catalog recovery: restored, or rebuilt in the restored tree, and its epoch proven against the expected
release's (or the datasets that differ named)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from atlas_drills.backup.restore import RestoreResult, restore_backup
from atlas_drills.drill import catalog_recovery
from atlas_drills.drill.catalog_recovery import recover_catalog
from atlas_drills.sample import SampleRelease
from atlas_drills.store.catalog import Catalog, read_catalog
from atlas_drills.store.dataset_id import DatasetId
from atlas_drills.store.layout import IMMUTABLE_MARKER_FILE, derived_dir
from atlas_drills.store.rebuild import CatalogRebuild, rebuild_catalog
from atlas_drills.store.recorded import RecordedDigests


@pytest.fixture
def restored(sample_backup: Path, tmp_path: Path) -> RestoreResult:
    return restore_backup(sample_backup, tmp_path / "staging")


def _store(restored: RestoreResult) -> Path:
    return restored.staging / "store"


def test_a_sound_catalog_is_restored_and_its_epoch_proven(
    restored: RestoreResult, sample_release: SampleRelease
) -> None:
    recovery = recover_catalog("restore", _store(restored), sample_release.root, restored.manifest)
    assert (recovery.action, recovery.problem, recovery.matched) == ("restored", None, True)
    assert recovery.ok


def test_a_lost_catalog_fails_in_restore_mode(restored: RestoreResult, sample_release: SampleRelease) -> None:
    (_store(restored) / "catalog.json").unlink()
    recovery = recover_catalog("restore", _store(restored), sample_release.root, restored.manifest)
    assert recovery.action == "restored"
    assert recovery.problem == "store/catalog.json is missing (lost)"
    assert not recovery.ok


def test_a_lost_catalog_is_rebuilt_to_the_expected_epoch(
    restored: RestoreResult, sample_release: SampleRelease
) -> None:
    expected = read_catalog(sample_release.store_root)
    (_store(restored) / "catalog.json").unlink()
    recovery = recover_catalog("rebuild-if-lost", _store(restored), sample_release.root, restored.manifest)
    assert (recovery.action, recovery.matched, recovery.epoch) == ("rebuilt", True, expected.epoch)
    assert recovery.ok
    assert read_catalog(_store(restored)).epoch == expected.epoch


def test_a_rebuild_that_cannot_match_names_the_dataset(restored: RestoreResult, sample_release: SampleRelease) -> None:
    oldest = read_catalog(sample_release.store_root).dataset_ids()[0]
    marker = derived_dir(_store(restored), oldest) / IMMUTABLE_MARKER_FILE
    marker.write_text(json.dumps(json.loads(marker.read_bytes()) | {"sqlite_sha256": "0" * 64}))
    recovery = recover_catalog("rebuild", _store(restored), sample_release.root, restored.manifest)
    assert recovery.matched is False
    assert not recovery.ok
    assert recovery.differing[0].startswith(f"{oldest.canonical} expected, not in the catalog (quarantined:")


def test_without_an_expected_store_the_backup_manifest_vouches(restored: RestoreResult, tmp_path: Path) -> None:
    expect = tmp_path / "expect-without-store"
    expect.mkdir()
    recovery = recover_catalog("rebuild", _store(restored), expect, restored.manifest)
    assert recovery.expected_source == "backup manifest: store/catalog.sha256 (verified at restore)"
    assert recovery.matched is True


def test_a_rebuilt_catalog_that_lets_an_unsealed_dataset_in_fails_the_read_back(
    restored: RestoreResult, sample_release: SampleRelease, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(restored)
    good = read_catalog(store)
    staged = DatasetId("113", "homo_sapiens", "GRCh38")
    shutil.copytree(derived_dir(store, good.dataset_ids()[0]), derived_dir(store, staged))
    (derived_dir(store, staged) / IMMUTABLE_MARKER_FILE).unlink()
    real = rebuild_catalog

    def letting_it_in(root: Path, recorded: RecordedDigests | None = None) -> CatalogRebuild:
        rebuild = real(root, recorded)
        return CatalogRebuild(Catalog.of([*rebuild.sealed, staged]), rebuild.folders)

    monkeypatch.setattr(catalog_recovery, "rebuild_catalog", letting_it_in)
    recovery = recover_catalog("rebuild", store, sample_release.root, restored.manifest)
    [read_back] = [c for c in recovery.checks if c.name.startswith("the rebuilt catalog, read back")]
    assert not read_back.ok
    assert read_back.observed == ["113/homo_sapiens/GRCh38 (staged)"]
