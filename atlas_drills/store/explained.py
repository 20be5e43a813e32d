"""Which files of a restored backup Atlas's layout explains (contract 2.1): the catalog files at the store root,
each dataset's files under its folder, the runtime configuration, the recorded baseline answers, and release
metadata under `ops/`. A file nothing here explains is a stray: the backup holds something Atlas does not."""

from __future__ import annotations

import re
from typing import Final

from atlas_drills.store.layout import (
    CATALOG_CHECKSUM_FILE,
    CATALOG_FILE,
    LATEST_ALIAS_FILE,
    MANIFEST_FILE,
    PUBLISH_SIDECARS,
    SQLITE_FILE,
)

STORE_PREFIX: Final = "store/"
_STORE_ROOT_FILES: Final = {CATALOG_FILE, CATALOG_CHECKSUM_FILE, LATEST_ALIAS_FILE}
_DERIVED_FILES: Final = {
    MANIFEST_FILE,
    SQLITE_FILE,
    "release_gene_index.json",
    "catalog_shards.json",
    *PUBLISH_SIDECARS,
}
_DATASET_FILE: Final = re.compile(
    r"release=[0-9]+/species=[a-z0-9_]+/assembly=[A-Za-z0-9._]+/"
    r"(derived/(?P<derived>[^/]+)|inputs/(genes\.gff3\.bgz|genome\.fa\.bgz|genome\.fa\.bgz\.fai))"
)
_OTHER_FILES: Final = {"config/atlas.env", "baseline/queries.json"}


def explained_by_layout(relpath: str) -> bool:
    """True when `relpath` (relative to the restored backup's root) is a file Atlas's layout has a place for."""
    if relpath in _OTHER_FILES or relpath.startswith("ops/"):
        return True
    if not relpath.startswith(STORE_PREFIX):
        return False
    inner = relpath.removeprefix(STORE_PREFIX)
    if inner in _STORE_ROOT_FILES:
        return True
    match = _DATASET_FILE.fullmatch(inner)
    if match is None:
        return False
    derived = match.group("derived")
    return derived is None or derived in _DERIVED_FILES or derived.endswith(".sqlite")
