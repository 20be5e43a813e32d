"""`atlas-drills catalog rebuild`: the catalog Atlas's own commands build, from sealed datasets only.

The comparison with Atlas runs the `bijux-atlas` CLI named by ATLAS_DRILLS_ATLAS_CLI and skips without it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from atlas_drills.cli import main
from atlas_drills.sample import SampleRelease
from atlas_drills.store.catalog import Catalog, read_catalog
from atlas_drills.store.dataset_id import DatasetId
from atlas_drills.store.layout import CATALOG_CHECKSUM_FILE, CATALOG_FILE, IMMUTABLE_MARKER_FILE, derived_dir
from atlas_drills.store.rebuild import QUARANTINED, SEALED, STAGED, rebuild_catalog

ATLAS_CLI_VARIABLE = "ATLAS_DRILLS_ATLAS_CLI"
STAGED_DATASET = DatasetId("113", "homo_sapiens", "GRCh38")


@pytest.fixture
def store(sample_release: SampleRelease, tmp_path: Path) -> Path:
    copy = tmp_path / "store"
    shutil.copytree(sample_release.store_root, copy)
    return copy


def _stage(store: Path, source: DatasetId, staged: DatasetId = STAGED_DATASET) -> None:
    """A publish interrupted before its immutability marker was renamed into place."""
    target = derived_dir(store, staged)
    shutil.copytree(derived_dir(store, source), target)
    marker = target / IMMUTABLE_MARKER_FILE
    marker.rename(target / f"{IMMUTABLE_MARKER_FILE}.tmp")


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


def test_rebuild_of_a_good_store_gives_its_catalog_byte_for_byte(sample_release: SampleRelease) -> None:
    rebuild = rebuild_catalog(sample_release.store_root)
    assert rebuild.catalog.canonical_file_bytes() == (sample_release.store_root / CATALOG_FILE).read_bytes()
    checksum = (sample_release.store_root / CATALOG_CHECKSUM_FILE).read_text().strip()
    assert rebuild.catalog.epoch == checksum
    assert [f.state for f in rebuild.folders] == [SEALED] * len(sample_release.datasets)


def test_staged_and_quarantined_datasets_are_left_out_with_the_reason(store: Path) -> None:
    good = read_catalog(store)
    oldest = good.dataset_ids()[0]
    _stage(store, good.dataset_ids()[-1])
    marker = derived_dir(store, oldest) / IMMUTABLE_MARKER_FILE
    document = json.loads(marker.read_bytes())
    document["sqlite_sha256"] = "0" * 64
    marker.write_text(json.dumps(document))
    rebuild = rebuild_catalog(store)
    states = {f.dataset: f for f in rebuild.folders}
    assert states[STAGED_DATASET].state == STAGED
    assert any("immutable.release.json.tmp" in r for r in states[STAGED_DATASET].reasons)
    assert states[oldest].state == QUARANTINED
    assert any("immutable.release.json.sqlite_sha256" in r for r in states[oldest].reasons)
    assert rebuild.catalog == Catalog.of([d for d in good.dataset_ids() if d != oldest])


def test_a_store_with_only_staged_datasets_rebuilds_an_empty_catalog(store: Path) -> None:
    for dataset in read_catalog(store).dataset_ids():
        (derived_dir(store, dataset) / "manifest.lock").unlink()
    rebuild = rebuild_catalog(store)
    assert rebuild.catalog.datasets == ()
    assert all("manifest.lock missing" in f.reasons for f in rebuild.folders)


def test_cli_writes_nothing_into_the_store_without_out(store: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    (store / CATALOG_FILE).unlink()
    (store / CATALOG_CHECKSUM_FILE).unlink()
    before = _tree(store)
    assert main(["catalog", "rebuild", str(store)]) == 0
    assert _tree(store) == before
    out = capsysbinary.readouterr()
    assert out.out == rebuild_catalog(store).catalog.canonical_file_bytes()
    assert b"catalog_epoch" in out.err


def test_cli_out_writes_the_catalog_and_its_checksum(store: Path, sample_release: SampleRelease) -> None:
    (store / CATALOG_FILE).unlink()
    (store / CATALOG_CHECKSUM_FILE).unlink()
    _stage(store, read_catalog(sample_release.store_root).dataset_ids()[0])
    assert main(["catalog", "rebuild", str(store), "--out", str(store / CATALOG_FILE)]) == 0
    assert (store / CATALOG_FILE).read_bytes() == (sample_release.store_root / CATALOG_FILE).read_bytes()
    assert (store / CATALOG_CHECKSUM_FILE).read_bytes() == (
        sample_release.store_root / CATALOG_CHECKSUM_FILE
    ).read_bytes()


def test_cli_names_a_missing_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "rebuild", str(tmp_path / "nowhere")]) == 2
    assert "nowhere: no such store folder" in capsys.readouterr().err


def test_rebuild_matches_atlas_catalog_promote_byte_for_byte(store: Path, tmp_path: Path) -> None:
    """Atlas's `catalog promote`, run for each sealed dataset newest first, writes the same catalog.json bytes."""
    value = os.environ.get(ATLAS_CLI_VARIABLE)
    if not value:
        pytest.skip(f"{ATLAS_CLI_VARIABLE} is not set: point it at a bijux-atlas CLI binary to compare with Atlas")
    _stage(store, read_catalog(store).dataset_ids()[0])
    ours = rebuild_catalog(store)
    (store / CATALOG_FILE).unlink()
    (store / CATALOG_CHECKSUM_FILE).unlink()
    for dataset in reversed(ours.sealed):  # out of order on purpose: Atlas sorts on every promote
        subprocess.run(
            [value, "catalog", "promote", "--store-root", str(store), "--release", dataset.release,
             "--species", dataset.species, "--assembly", dataset.assembly, "--json"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
    assert (store / CATALOG_FILE).read_bytes() == ours.catalog.canonical_file_bytes()
    validate = subprocess.run(
        [value, "catalog", "validate", str(store / CATALOG_FILE), "--json"],
        check=False,
        capture_output=True,
        timeout=60,
    )
    assert validate.returncode == 0, validate.stderr
