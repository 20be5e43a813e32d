"""`catalog.json`: the list of servable datasets, and the `catalog_epoch` digest.

Facts from Atlas (`Catalog`/`CatalogEntry`, `deny_unknown_fields`): entries are strictly sorted by
(dataset, manifest_path, sqlite_path, diff_artifacts) and unique, paths are non-blank. `model_version` is the
one-variant enum `v1`; `diff_artifacts` defaults to an empty list and is not serialized when empty, so an entry with
`"diff_artifacts": []` and one without it are the same entry with the same epoch. The CLI writes canonical JSON
(sorted keys, compact). `catalog.sha256` and `catalog_epoch` are sha256 of the *struct-order* serialisation, which is
neither the file bytes nor the sorted-key form.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from atlas_drills.store.canonical import canonical_bytes, compact_bytes, sha256_hex
from atlas_drills.store.dataset_id import DatasetId, DatasetIdError
from atlas_drills.store.errors import StoreError, Violation
from atlas_drills.store.layout import CATALOG_CHECKSUM_FILE, CATALOG_FILE, manifest_relpath, sqlite_relpath
from atlas_drills.store.serde_rules import is_blank

MODEL_VERSION = "v1"
MODEL_VERSIONS = (MODEL_VERSION,)
_ENTRY_KEYS = {"dataset", "manifest_path", "sqlite_path", "diff_artifacts"}
_CATALOG_KEYS = {"model_version", "datasets"}


@dataclass(frozen=True)
class CatalogEntry:
    dataset: DatasetId
    manifest_path: str
    sqlite_path: str
    diff_artifacts: tuple[str, ...] = ()

    @classmethod
    def for_dataset(cls, dataset: DatasetId) -> CatalogEntry:
        """The entry `catalog promote` writes: paths relative to the store root."""
        return cls(dataset, manifest_relpath(dataset), sqlite_relpath(dataset))

    def sort_key(self) -> tuple[DatasetId, str, str, tuple[str, ...]]:
        """The derived `Ord` of `CatalogEntry`: field by field, `Vec<String>` compared lexicographically."""
        return (self.dataset, self.manifest_path, self.sqlite_path, self.diff_artifacts)

    def to_json(self) -> dict[str, Any]:
        """Struct field order; `diff_artifacts` is skipped when empty (`skip_serializing_if = Vec::is_empty`)."""
        out: dict[str, Any] = {
            "dataset": self.dataset.to_json(),
            "manifest_path": self.manifest_path,
            "sqlite_path": self.sqlite_path,
        }
        if self.diff_artifacts:
            out["diff_artifacts"] = list(self.diff_artifacts)
        return out


@dataclass(frozen=True)
class Catalog:
    datasets: tuple[CatalogEntry, ...] = field(default_factory=tuple)
    model_version: str = MODEL_VERSION

    @classmethod
    def of(cls, datasets: list[DatasetId]) -> Catalog:
        """A valid catalog listing these datasets, sorted as Atlas requires."""
        entries = sorted({CatalogEntry.for_dataset(d) for d in datasets}, key=CatalogEntry.sort_key)
        return cls(tuple(entries))

    def dataset_ids(self) -> list[DatasetId]:
        return [entry.dataset for entry in self.datasets]

    def to_struct_json(self) -> dict[str, Any]:
        return {"model_version": self.model_version, "datasets": [e.to_json() for e in self.datasets]}

    def struct_bytes(self) -> bytes:
        """`serde_json::to_vec(&Catalog)`: compact, struct field order."""
        return compact_bytes(self.to_struct_json())

    def canonical_file_bytes(self) -> bytes:
        """What the Atlas CLI writes to `catalog.json`: sorted keys, compact."""
        return canonical_bytes(self.to_struct_json())

    @property
    def epoch(self) -> str:
        """`catalog_epoch`, and the digest `catalog.sha256` must hold."""
        return sha256_hex(self.struct_bytes())

    def without(self, dataset: DatasetId) -> Catalog:
        """`catalog rollback`: the same catalog minus one dataset."""
        return Catalog(tuple(e for e in self.datasets if e.dataset != dataset), self.model_version)

    def with_dataset(self, dataset: DatasetId) -> Catalog:
        """`catalog promote`: add an entry, keep the order canonical."""
        return Catalog.of([*self.dataset_ids(), dataset])

    def validate_sorted(self, where: str = CATALOG_FILE) -> list[Violation]:
        """Atlas's `validate_sorted`: strictly increasing entries, non-empty paths."""
        violations: list[Violation] = []
        for index, entry in enumerate(self.datasets):
            for name in ("manifest_path", "sqlite_path"):
                if is_blank(getattr(entry, name)):
                    violations.append(
                        Violation(f"datasets[{index}].{name}", "non-blank path", "a path", getattr(entry, name), where)
                    )
            if index and not self.datasets[index - 1].sort_key() < entry.sort_key():
                previous = self.datasets[index - 1]
                rule = "unique entries" if previous.sort_key() == entry.sort_key() else "strictly sorted"
                violations.append(
                    Violation(
                        f"datasets[{index}]",
                        rule,
                        f"after {previous.dataset.canonical}",
                        entry.dataset.canonical,
                        where,
                    )
                )
        return violations


def parse_catalog(data: bytes, where: str = CATALOG_FILE) -> Catalog:
    """Parse like serde with `deny_unknown_fields`; raise `StoreError` listing every problem."""
    try:
        raw = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StoreError(where, [Violation("<document>", "valid JSON", "a JSON object", str(exc), where)]) from exc
    violations: list[Violation] = []
    if not isinstance(raw, dict):
        raise StoreError(where, [Violation("<document>", "JSON object", "object", type(raw).__name__, where)])
    for unknown in sorted(set(raw) - _CATALOG_KEYS):
        violations.append(Violation(unknown, "no unknown fields", sorted(_CATALOG_KEYS), unknown, where))
    model_version = raw.get("model_version", MODEL_VERSION)
    if model_version not in MODEL_VERSIONS:
        violations.append(Violation("model_version", "known variant", list(MODEL_VERSIONS), model_version, where))
    datasets = raw.get("datasets")
    entries: list[CatalogEntry] = []
    if not isinstance(datasets, list):
        violations.append(Violation("datasets", "required array", "array", datasets, where))
        datasets = []
    for index, item in enumerate(datasets):
        entry = _parse_entry(item, f"datasets[{index}]", where, violations)
        if entry is not None:
            entries.append(entry)
    if violations:
        raise StoreError(where, violations)
    return Catalog(tuple(entries), str(model_version))


def _parse_entry(item: Any, field_name: str, where: str, violations: list[Violation]) -> CatalogEntry | None:
    if not isinstance(item, dict):
        violations.append(Violation(field_name, "object", "catalog entry", item, where))
        return None
    for unknown in sorted(set(item) - _ENTRY_KEYS):
        violations.append(
            Violation(f"{field_name}.{unknown}", "no unknown fields", sorted(_ENTRY_KEYS), unknown, where)
        )
    try:
        dataset = DatasetId.from_json(item.get("dataset"))
    except DatasetIdError as exc:
        violations.append(
            Violation(f"{field_name}.dataset", "valid dataset id", "release/species/assembly", str(exc), where)
        )
        return None
    paths = []
    for name in ("manifest_path", "sqlite_path"):
        value = item.get(name)
        if not isinstance(value, str):
            violations.append(Violation(f"{field_name}.{name}", "required string", "a relative path", value, where))
            return None
        paths.append(value)
    diff = item.get("diff_artifacts", [])
    if not (isinstance(diff, list) and all(isinstance(d, str) for d in diff)):
        violations.append(Violation(f"{field_name}.diff_artifacts", "array of strings", "array", diff, where))
        return None
    return CatalogEntry(dataset, paths[0], paths[1], tuple(diff))


def read_catalog(store_root: Path) -> Catalog:
    path = store_root / CATALOG_FILE
    return parse_catalog(path.read_bytes(), str(path))


def atomic_write(path: Path, data: bytes) -> None:
    """Write a whole file or nothing: a reader never sees a half-written catalog."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_catalog(store_root: Path, catalog: Catalog, *, with_checksum: bool = True) -> None:
    """Write `catalog.json` as the Atlas CLI does and, optionally, the matching `catalog.sha256`."""
    violations = catalog.validate_sorted()
    if violations:
        raise StoreError(str(store_root / CATALOG_FILE), violations)
    atomic_write(store_root / CATALOG_FILE, catalog.canonical_file_bytes())
    if with_checksum:
        atomic_write(store_root / CATALOG_CHECKSUM_FILE, f"{catalog.epoch}\n".encode())


def read_catalog_checksum(store_root: Path) -> str | None:
    """The first whitespace token of `catalog.sha256`, lowercased; None when the file is absent."""
    path = store_root / CATALOG_CHECKSUM_FILE
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None
    tokens = text.split()
    return tokens[0].lower() if tokens else ""


def check_catalog_checksum(store_root: Path, catalog: Catalog) -> Violation | None:
    """None when `catalog.sha256` is absent or matches; otherwise the mismatch."""
    recorded = read_catalog_checksum(store_root)
    if recorded is None or recorded == catalog.epoch:
        return None
    return Violation(
        CATALOG_CHECKSUM_FILE,
        "catalog checksum matches struct-order sha256 of catalog.json",
        catalog.epoch,
        recorded,
        str(store_root / CATALOG_CHECKSUM_FILE),
    )
