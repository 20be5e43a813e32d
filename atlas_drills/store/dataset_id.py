"""Dataset identity naming, as in Atlas's `domain/dataset/keys.rs`.

A dataset is named by release (digits), species and assembly. It has three spellings: canonical `R/S/A`
(`110/homo_sapiens/GRCh38`), key `release=R&species=S&assembly=A`, and directory `release=R/species=S/assembly=A`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from atlas_drills.store.canonical import sha256_hex

_RELEASE = re.compile(r"[0-9]{1,16}")
_SPECIES = re.compile(r"[a-z0-9_]{1,64}")
_ASSEMBLY = re.compile(r"[A-Za-z0-9._]{1,64}")


class DatasetIdError(ValueError):
    """A dataset id part that breaks Atlas's naming rules."""


def _check_release(release: str) -> None:
    if not _RELEASE.fullmatch(release):
        raise DatasetIdError(f"release {release!r}: expected 1-16 digits")


def _check_species(species: str) -> None:
    if not _SPECIES.fullmatch(species):
        raise DatasetIdError(f"species {species!r}: expected 1-64 characters of [a-z0-9_]")
    if species.startswith("_") or species.endswith("_") or "__" in species:
        raise DatasetIdError(f"species {species!r}: no leading or trailing '_' and no '__' allowed")


def _check_assembly(assembly: str) -> None:
    if not _ASSEMBLY.fullmatch(assembly):
        raise DatasetIdError(f"assembly {assembly!r}: expected 1-64 characters of [A-Za-z0-9._]")


def normalize_species(species: str) -> str:
    """Atlas's `from_normalized`: lowercase, `-` becomes `_`."""
    return species.lower().replace("-", "_")


@dataclass(frozen=True, order=True)
class DatasetId:
    """A dataset's identity. Ordering is Atlas's: release, species, assembly, compared as strings."""

    release: str
    species: str
    assembly: str

    def __post_init__(self) -> None:
        _check_release(self.release)
        _check_species(self.species)
        _check_assembly(self.assembly)

    @classmethod
    def parse(cls, canonical: str) -> DatasetId:
        """Parse `R/S/A`."""
        parts = canonical.split("/")
        if len(parts) != 3:
            raise DatasetIdError(f"dataset id {canonical!r}: expected release/species/assembly")
        return cls(*parts)

    @classmethod
    def from_json(cls, value: Any) -> DatasetId:
        """Parse the `{release, species, assembly}` object used in catalogs and manifests."""
        if not isinstance(value, dict) or set(value) != {"release", "species", "assembly"}:
            raise DatasetIdError(f"dataset {value!r}: expected an object with release, species, assembly")
        parts = [value["release"], value["species"], value["assembly"]]
        if not all(isinstance(part, str) for part in parts):
            raise DatasetIdError(f"dataset {value!r}: release, species and assembly must be strings")
        return cls(*parts)

    @property
    def canonical(self) -> str:
        return f"{self.release}/{self.species}/{self.assembly}"

    @property
    def key(self) -> str:
        return f"release={self.release}&species={self.species}&assembly={self.assembly}"

    @property
    def directory(self) -> str:
        return f"release={self.release}/species={self.species}/assembly={self.assembly}"

    def to_json(self) -> dict[str, str]:
        """Struct field order, as serde writes `DatasetId`."""
        return {"release": self.release, "species": self.species, "assembly": self.assembly}

    def __str__(self) -> str:
        return self.canonical


def dataset_hash(canonical: str) -> str:
    """sha256 of the canonical `R/S/A` string: Atlas's `dataset_hash` and the `x-atlas-dataset-hash` header."""
    return sha256_hex(canonical.encode("utf-8"))
