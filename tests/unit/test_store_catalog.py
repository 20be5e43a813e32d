"""catalog.json: strict parsing, Atlas's sort rules, canonical form, and the struct-order epoch."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from atlas_drills.store.catalog import (
    Catalog,
    CatalogEntry,
    check_catalog_checksum,
    parse_catalog,
    read_catalog,
    read_catalog_checksum,
    write_catalog,
)
from atlas_drills.store.dataset_id import DatasetId
from atlas_drills.store.errors import StoreError

HUMAN_110 = DatasetId.parse("110/homo_sapiens/GRCh38")
HUMAN_111 = DatasetId.parse("111/homo_sapiens/GRCh38")
MOUSE_111 = DatasetId.parse("111/mus_musculus/GRCm39")


def test_contract_example_epoch_is_struct_order_sha256() -> None:
    catalog = Catalog.of([HUMAN_110])
    struct = (
        '{"model_version":"v1","datasets":[{"dataset":{"release":"110","species":"homo_sapiens",'
        '"assembly":"GRCh38"},"manifest_path":"release=110/species=homo_sapiens/assembly=GRCh38/derived/'
        'manifest.json","sqlite_path":"release=110/species=homo_sapiens/assembly=GRCh38/derived/'
        'gene_summary.sqlite"}]}'
    )
    assert catalog.struct_bytes().decode() == struct
    assert catalog.epoch == hashlib.sha256(struct.encode()).hexdigest()
    # The file Atlas's CLI writes has sorted keys, so its bytes hash differently from the epoch.
    file_bytes = catalog.canonical_file_bytes()
    assert file_bytes.startswith(b'{"datasets":[{"dataset":{"assembly":"GRCh38","release":"110"')
    assert hashlib.sha256(file_bytes).hexdigest() != catalog.epoch


def test_of_sorts_and_deduplicates() -> None:
    catalog = Catalog.of([MOUSE_111, HUMAN_111, HUMAN_110, HUMAN_110])
    assert catalog.dataset_ids() == [HUMAN_110, HUMAN_111, MOUSE_111]
    assert catalog.validate_sorted() == []


def test_unsorted_and_duplicate_entries_are_named() -> None:
    unsorted = Catalog((CatalogEntry.for_dataset(HUMAN_111), CatalogEntry.for_dataset(HUMAN_110)))
    [violation] = unsorted.validate_sorted()
    assert violation.rule == "strictly sorted"
    assert violation.field == "datasets[1]"
    duplicate = Catalog((CatalogEntry.for_dataset(HUMAN_110), CatalogEntry.for_dataset(HUMAN_110)))
    assert [v.rule for v in duplicate.validate_sorted()] == ["unique entries"]


def test_empty_paths_are_violations() -> None:
    catalog = Catalog((CatalogEntry(HUMAN_110, "", ""),))
    assert {v.field for v in catalog.validate_sorted()} == {"datasets[0].manifest_path", "datasets[0].sqlite_path"}


def test_parse_round_trip_and_strictness() -> None:
    catalog = Catalog.of([HUMAN_110, MOUSE_111])
    assert parse_catalog(catalog.canonical_file_bytes()) == catalog
    assert parse_catalog(catalog.struct_bytes()) == catalog
    raw = json.loads(catalog.canonical_file_bytes())
    raw["extra"] = 1
    raw["datasets"][0]["surprise"] = True
    raw["datasets"][1]["dataset"]["release"] = "x1"
    with pytest.raises(StoreError) as caught:
        parse_catalog(json.dumps(raw).encode(), "store/catalog.json")
    fields = {v.field for v in caught.value.violations}
    assert fields == {"extra", "datasets[0].surprise", "datasets[1].dataset"}
    assert "store/catalog.json" in str(caught.value)


@pytest.mark.parametrize("data", [b"", b"not json", b"[]", b'{"datasets": {}}'])
def test_unparsable_catalogs_raise(data: bytes) -> None:
    with pytest.raises(StoreError):
        parse_catalog(data)


def test_missing_model_version_defaults_to_v1() -> None:
    assert parse_catalog(b'{"datasets":[]}').model_version == "v1"


def test_write_read_and_checksum(tmp_path: Path) -> None:
    catalog = Catalog.of([HUMAN_110, HUMAN_111])
    write_catalog(tmp_path, catalog)
    assert read_catalog(tmp_path) == catalog
    assert read_catalog_checksum(tmp_path) == catalog.epoch
    assert check_catalog_checksum(tmp_path, catalog) is None
    (tmp_path / "catalog.sha256").write_text("  ABCDEF  trailing words\n")
    assert read_catalog_checksum(tmp_path) == "abcdef"
    mismatch = check_catalog_checksum(tmp_path, catalog)
    assert mismatch is not None
    assert mismatch.expected == catalog.epoch
    (tmp_path / "catalog.sha256").unlink()
    assert check_catalog_checksum(tmp_path, catalog) is None


def test_write_refuses_an_unsorted_catalog(tmp_path: Path) -> None:
    unsorted = Catalog((CatalogEntry.for_dataset(HUMAN_111), CatalogEntry.for_dataset(HUMAN_110)))
    with pytest.raises(StoreError, match="strictly sorted"):
        write_catalog(tmp_path, unsorted)
    assert not (tmp_path / "catalog.json").exists()


def test_rollback_and_promote_change_the_epoch() -> None:
    catalog = Catalog.of([HUMAN_110, HUMAN_111])
    rolled_back = catalog.without(HUMAN_111)
    assert rolled_back.dataset_ids() == [HUMAN_110]
    assert rolled_back.epoch != catalog.epoch
    assert rolled_back.with_dataset(HUMAN_111) == catalog


def test_empty_diff_artifacts_is_the_absent_default() -> None:
    """Atlas skips an empty `diff_artifacts` when serializing, so `[]` and absent give one epoch."""
    absent = json.loads(Catalog.of([HUMAN_110]).canonical_file_bytes())
    empty = json.loads(Catalog.of([HUMAN_110]).canonical_file_bytes())
    empty["datasets"][0]["diff_artifacts"] = []
    from_absent = parse_catalog(json.dumps(absent).encode())
    from_empty = parse_catalog(json.dumps(empty).encode())
    assert from_absent == from_empty
    assert from_empty.epoch == from_absent.epoch
    assert b"diff_artifacts" not in from_empty.struct_bytes()


def test_non_empty_diff_artifacts_are_hashed_and_ordered() -> None:
    entry = CatalogEntry.for_dataset(HUMAN_110)
    with_diff = CatalogEntry(HUMAN_110, entry.manifest_path, entry.sqlite_path, ("diff/a.json",))
    assert Catalog((with_diff,)).epoch != Catalog((entry,)).epoch
    assert b'"diff_artifacts":["diff/a.json"]}' in Catalog((with_diff,)).struct_bytes()
    # Vec ordering: the empty list sorts before any non-empty one, so this pair is strictly sorted.
    assert Catalog((entry, with_diff)).validate_sorted() == []
    assert [v.rule for v in Catalog((with_diff, entry)).validate_sorted()] == ["strictly sorted"]


@pytest.mark.parametrize("version", ["v2", "V1", 1, None])
def test_model_version_is_the_one_variant_enum(version: object) -> None:
    raw = json.loads(Catalog.of([HUMAN_110]).canonical_file_bytes())
    raw["model_version"] = version
    with pytest.raises(StoreError) as caught:
        parse_catalog(json.dumps(raw).encode())
    assert [v.field for v in caught.value.violations] == ["model_version"]


@pytest.mark.parametrize("blank", [" ", "\t", "\u3000"])
def test_whitespace_only_paths_are_blank(blank: str) -> None:
    catalog = Catalog((CatalogEntry(HUMAN_110, blank, "x.sqlite"),))
    assert [v.field for v in catalog.validate_sorted()] == ["datasets[0].manifest_path"]


@pytest.mark.parametrize("missing", ["dataset", "manifest_path", "sqlite_path"])
def test_entry_fields_are_required(missing: str) -> None:
    raw = json.loads(Catalog.of([HUMAN_110]).canonical_file_bytes())
    del raw["datasets"][0][missing]
    with pytest.raises(StoreError) as caught:
        parse_catalog(json.dumps(raw).encode())
    assert [v.field for v in caught.value.violations] == [f"datasets[0].{missing}"]
