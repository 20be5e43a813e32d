"""Reading the restored tree the way a drill needs: every problem becomes a finding, never a crash."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atlas_drills.schemas import problems
from atlas_drills.store.catalog import Catalog, parse_catalog
from atlas_drills.store.dataset_id import DatasetId
from atlas_drills.store.errors import StoreError
from atlas_drills.store.layout import DERIVED_DIR, derived_dir, manifest_path
from atlas_drills.store.manifest import ArtifactManifest, parse_manifest
from atlas_drills.store.recorded import RecordedDigests
from atlas_drills.store.sidecars import check_publish_sidecars

if TYPE_CHECKING:
    from atlas_drills.drill.life import RestoredAtlas

STORE = "store"


def recorded_digests(restored_atlas: RestoredAtlas) -> RecordedDigests:
    """The sha256 of every file of the restored tree, without reading it: what the restore hashed as it wrote each
    file (each verified against the backup manifest), and what the drill wrote after it (a rebuilt catalog)."""
    by_path = dict(restored_atlas.restore.digests)
    recovery = restored_atlas.catalog
    if recovery is not None:
        by_path.update({f"{STORE}/{name}": sha for name, sha in recovery.written.items()})
    return RecordedDigests(restored_atlas.staging, by_path)


def read_json(root: Path, relpath: str) -> tuple[Any, str | None]:
    """(value, None), or (None, what is wrong with the file)."""
    try:
        return json.loads((root / relpath).read_bytes()), None
    except FileNotFoundError:
        return None, f"{relpath} is missing"
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"{relpath} is not valid JSON: {exc}"


def restored_catalog(staging: Path) -> tuple[Catalog | None, str | None]:
    path = staging / STORE / "catalog.json"
    try:
        return parse_catalog(path.read_bytes(), f"{STORE}/catalog.json"), None
    except FileNotFoundError:
        return None, f"{STORE}/catalog.json is missing"
    except StoreError as exc:
        return None, str(exc)


def restored_manifest(staging: Path, dataset: DatasetId) -> tuple[ArtifactManifest | None, str | None]:
    path = manifest_path(staging / STORE, dataset)
    where = str(path.relative_to(staging))
    try:
        return parse_manifest(path.read_bytes(), where), None
    except FileNotFoundError:
        return None, f"{where} is missing"
    except StoreError as exc:
        return None, str(exc)


def store_dataset_dirs(staging: Path) -> list[DatasetId]:
    """Every dataset folder in the restored store (`release=R/species=S/assembly=A`), whether catalogued or not."""
    found = []
    for path in sorted((staging / STORE).glob("release=*/species=*/assembly=*")):
        if path.is_dir():
            release, species, assembly = (part.split("=", 1)[1] for part in path.relative_to(staging / STORE).parts)
            found.append(DatasetId(release, species, assembly))
    return found


def sidecar_problems(staging: Path, dataset: DatasetId, recorded: RecordedDigests | None = None) -> list[str]:
    """Every way the dataset's publish sidecars (manifest.lock, immutability marker, lifecycle) disagree with its
    restored bytes. With `recorded` (`recorded_digests`), the artifact's digests are the ones the restore verified,
    and the artifact is not read again; without it, both files are read and hashed."""
    derived = derived_dir(staging / STORE, dataset)
    if recorded is None:
        return [str(v) for v in check_publish_sidecars(derived, dataset)]
    actual, unverified = recorded.under(STORE).artifact(f"{dataset.directory}/{DERIVED_DIR}")
    if actual is None:
        return [str(v) for v in unverified]
    return [str(v) for v in check_publish_sidecars(derived, dataset, actual)]


def schema_problems(document: Any, schema_name: str) -> list[str]:
    """Every way `document` breaks `ops/schema/release/<schema_name>.schema.json`, as `field: message`."""
    return problems(document, f"release/{schema_name}.schema.json")
