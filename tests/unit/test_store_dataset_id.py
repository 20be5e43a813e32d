"""Dataset id rules and spellings (Atlas `domain/dataset/keys.rs`)."""

from __future__ import annotations

import pytest

from atlas_drills.store.dataset_id import DatasetId, DatasetIdError, dataset_hash, normalize_species


def test_known_dataset_hash_vector() -> None:
    assert dataset_hash("110/homo_sapiens/GRCh38") == "83a33721da8a0716b89da20def771aa9afa9a009423ac609d9fde82e7014752e"


def test_three_spellings() -> None:
    dataset = DatasetId.parse("110/homo_sapiens/GRCh38")
    assert dataset.canonical == "110/homo_sapiens/GRCh38"
    assert dataset.key == "release=110&species=homo_sapiens&assembly=GRCh38"
    assert dataset.directory == "release=110/species=homo_sapiens/assembly=GRCh38"
    assert dataset.to_json() == {"release": "110", "species": "homo_sapiens", "assembly": "GRCh38"}
    assert list(dataset.to_json()) == ["release", "species", "assembly"]


@pytest.mark.parametrize(
    "canonical",
    [
        "1/a/b",
        "1234567890123456/homo_sapiens/GRCh38",
        "110/mus_musculus/GRCm39.p6",
        "110/a1/x_y.z",
        f"110/{'s' * 64}/{'A' * 64}",
    ],
)
def test_valid_ids(canonical: str) -> None:
    assert DatasetId.parse(canonical).canonical == canonical


@pytest.mark.parametrize(
    ("canonical", "part"),
    [
        ("/homo_sapiens/GRCh38", "release"),
        ("11a/homo_sapiens/GRCh38", "release"),
        ("12345678901234567/homo_sapiens/GRCh38", "release"),
        ("110/Homo_sapiens/GRCh38", "species"),
        ("110/_homo/GRCh38", "species"),
        ("110/homo_/GRCh38", "species"),
        ("110/homo__sapiens/GRCh38", "species"),
        ("110/homo-sapiens/GRCh38", "species"),
        (f"110/{'s' * 65}/GRCh38", "species"),
        ("110/homo_sapiens/GRC-h38", "assembly"),
        ("110/homo_sapiens/", "assembly"),
        (f"110/homo_sapiens/{'A' * 65}", "assembly"),
        ("110/homo_sapiens", "release/species/assembly"),
        ("110/homo_sapiens/GRCh38/x", "release/species/assembly"),
    ],
)
def test_invalid_ids_name_the_broken_part(canonical: str, part: str) -> None:
    with pytest.raises(DatasetIdError, match=part):
        DatasetId.parse(canonical)


def test_from_json_rejects_extra_and_missing_keys() -> None:
    with pytest.raises(DatasetIdError):
        DatasetId.from_json({"release": "110", "species": "homo_sapiens"})
    with pytest.raises(DatasetIdError):
        DatasetId.from_json({"release": "110", "species": "homo_sapiens", "assembly": "GRCh38", "x": "1"})
    with pytest.raises(DatasetIdError):
        DatasetId.from_json({"release": 110, "species": "homo_sapiens", "assembly": "GRCh38"})


def test_normalized_species() -> None:
    assert normalize_species("Homo-Sapiens") == "homo_sapiens"


def test_order_is_release_species_assembly_as_strings() -> None:
    ids = [DatasetId.parse(s) for s in ["9/a/b", "110/b/a", "110/a/z", "110/a/b"]]
    assert [d.canonical for d in sorted(ids)] == ["110/a/b", "110/a/z", "110/b/a", "9/a/b"]
