"""The Atlas store model: one source of truth for dataset ids, catalog, manifests, identity, sidecars, artifacts.

Standard library only: the stand-in imports it inside target images that have nothing but `python3`.
"""

from atlas_drills.store.canonical import canonical_bytes, canonical_sha256, sha256_file, sha256_hex
from atlas_drills.store.catalog import Catalog, CatalogEntry, parse_catalog, read_catalog, write_catalog
from atlas_drills.store.dataset_id import DatasetId, DatasetIdError, dataset_hash
from atlas_drills.store.errors import StoreError, Violation
from atlas_drills.store.identity import Identity, compute_identity
from atlas_drills.store.manifest import ArtifactManifest, parse_manifest, validate_strict

__all__ = [
    "ArtifactManifest",
    "Catalog",
    "CatalogEntry",
    "DatasetId",
    "DatasetIdError",
    "Identity",
    "StoreError",
    "Violation",
    "canonical_bytes",
    "canonical_sha256",
    "compute_identity",
    "dataset_hash",
    "parse_catalog",
    "parse_manifest",
    "read_catalog",
    "sha256_file",
    "sha256_hex",
    "validate_strict",
    "write_catalog",
]
