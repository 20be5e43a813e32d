"""Release history in a store, and the catalog files a rollback or a re-promotion writes.

Atlas's rollback policy (`manifest-lock-pointer`) rolls a dataset back by publishing a catalog that points at the
previous release; old artifacts are never touched. These are the pieces of that procedure that are facts about the
store, kept apart from the drill that performs it.
"""

from __future__ import annotations

from collections import defaultdict

from atlas_drills.store.catalog import Catalog
from atlas_drills.store.dataset_id import DatasetId
from atlas_drills.store.layout import CATALOG_CHECKSUM_FILE, CATALOG_FILE


def release_history(datasets: list[DatasetId]) -> dict[tuple[str, str], list[DatasetId]]:
    """Releases per species/assembly, newest first (release numbers compare as numbers)."""
    groups: dict[tuple[str, str], list[DatasetId]] = defaultdict(list)
    for dataset in datasets:
        groups[(dataset.species, dataset.assembly)].append(dataset)
    return {key: sorted(group, key=lambda d: int(d.release), reverse=True) for key, group in groups.items()}


def longest_history(datasets: list[DatasetId]) -> list[DatasetId]:
    """The releases, newest first, of the species/assembly with the most releases (ties by name); [] when none
    has two, so nothing can be rolled back."""
    groups = release_history(datasets)
    with_history = sorted((key for key, group in groups.items() if len(group) > 1), key=lambda k: (-len(groups[k]), k))
    return groups[with_history[0]] if with_history else []


def catalog_files(catalog: Catalog) -> dict[str, bytes]:
    """What `catalog rollback`/`promote` write: the canonical catalog.json and its struct-order checksum."""
    return {CATALOG_FILE: catalog.canonical_file_bytes(), CATALOG_CHECKSUM_FILE: f"{catalog.epoch}\n".encode()}
