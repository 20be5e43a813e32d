"""The fault catalog: every known-bad backup the suite can make, and what must catch it.

`breaks` lists the success criteria a drill must fail on that backup, and only those: the detection matrix test
holds every fault to it. Each declaration says why, in Atlas's terms; where a fault breaks more than one criterion
it is because Atlas itself couples them (for example readiness and discoverability both need a loadable catalog).
Archive faults are refused by the restore instead, with the named rule, before any drill runs.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from atlas_drills.faults import tree as t
from atlas_drills.store.dataset_id import DatasetId
from atlas_drills.store.layout import (
    IMMUTABLE_MARKER_FILE,
    MANIFEST_LOCK_FILE,
    PUBLISH_SIDECARS,
    derived_dir,
    sqlite_path,
)

IDENTITY = "release identity"
ROLLBACK = "rollback policy"
READINESS = "readiness"
QUERIES = "query paths"
EVIDENCE = "evidence"
ALL = frozenset({IDENTITY, ROLLBACK, READINESS, QUERIES, EVIDENCE})

OTHER_SHA = "0" * 40


@dataclass(frozen=True)
class Fault:
    name: str
    summary: str
    breaks: frozenset[str]  # criteria that must fail; empty for archive faults
    why: str  # why exactly these criteria, in Atlas's terms
    change_tree: Callable[[Path], None] | None = None  # a change to the restored tree, then repacked
    refused_rule: str | None = None  # archive faults: the restore rule that must refuse the backup
    created_at: str | None = None  # a different creation time for the repacked backup
    cause: str = ""  # a phrase the drills' failure messages must contain: they must name the cause
    drill_catalog: str = "restore"  # the drill's catalog mode (--drill-catalog) the fault is drilled with
    # a change that needs the backup manifest's `source` (where the backup was taken from), applied after change_tree
    change_with_source: Callable[[Path, dict[str, str]], None] | None = None

    @property
    def is_archive_fault(self) -> bool:
        return self.refused_rule is not None


def _config(**changes: str | None) -> Callable[[Path], None]:
    return lambda tree: t.set_config(tree, **changes)


def _identity_of_other_release(tree: Path) -> None:
    t.edit_json(
        tree / "ops/release/evidence/identity.json",
        lambda d: d.update(
            git_sha=OTHER_SHA, release_id=f"ops_run-{OTHER_SHA[:12]}", governance_version=f"main@{OTHER_SHA}"
        ),
    )


def _provenance_of_other_release(tree: Path) -> None:
    t.edit_json(
        tree / "ops/release/provenance.json",
        lambda d: d.update(git_sha=OTHER_SHA, release_id=f"ops_run-{OTHER_SHA[:12]}"),
    )


def _policy_changed(tree: Path) -> None:
    t.edit_json(tree / "ops/datasets/rollback-policy.json", lambda d: d.update(max_rollback_depth=1))


def _lock_mismatch(tree: Path) -> None:
    _newest, previous = t.newest_with_history(tree)
    t.edit_json(derived_dir(t.store(tree), previous) / MANIFEST_LOCK_FILE, lambda d: d.update(sqlite_sha256="0" * 64))


def _marker_mismatch(tree: Path) -> None:
    oldest = t.oldest(tree)
    t.edit_json(
        derived_dir(t.store(tree), oldest) / IMMUTABLE_MARKER_FILE, lambda d: d.update(manifest_sha256="0" * 64)
    )


def _stats_edited(tree: Path) -> None:
    newest, _ = t.newest_with_history(tree)

    def bump(manifest: dict[str, Any]) -> None:
        manifest["stats"]["gene_count"] += 7

    t.edit_manifest_and_relock(tree, newest, bump)


def _baseline_mismatch(tree: Path) -> None:
    path = tree / "baseline/queries.json"
    document = json.loads(path.read_bytes())
    for dataset in document["datasets"]:
        for query in dataset["queries"]:
            for row in query.get("response", {}).get("data", {}).get("rows", []):
                if "name" in row:
                    row["name"] = f"{row['name']}X"  # the answers of another build of the same dataset
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")


def _sbom_edited(tree: Path) -> None:
    sbom = next(iter(sorted((tree / "ops/release/evidence/sboms").glob("*"))))
    t.flip_byte(sbom, 10)


def _stray_store_file(tree: Path) -> None:
    (t.store(tree) / "NOTES.txt").write_text("restored by hand from an old laptop copy\n")


def _sqlite_page(tree: Path) -> None:
    newest, _ = t.newest_with_history(tree)
    t.flip_sqlite_page(tree, newest)


def _drop_from_catalog(tree: Path) -> None:
    t.drop_from_catalog(tree, max(t.datasets(tree), key=lambda d: (d.species, d.release)))


def _previous_missing(tree: Path) -> None:
    _newest, previous = t.newest_with_history(tree)
    t.remove_dataset(tree, previous)


def _catalog_missing(tree: Path) -> None:
    (t.store(tree) / "catalog.json").unlink()
    (t.store(tree) / "catalog.sha256").unlink(missing_ok=True)


def _catalog_checksum(tree: Path) -> None:
    (t.store(tree) / "catalog.sha256").write_text("0" * 64 + "\n")


# --- Catalog reconstruction, what recovery is not, reconstructable outputs (README sections of those names). ----
REBUILD_IF_LOST = "rebuild-if-lost"
REBUILD = "rebuild"
STAGED_RELEASE = "113"


def _catalog_corrupt(tree: Path) -> None:
    path = t.store(tree) / "catalog.json"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # a write cut short


def _catalog_lost_and_previous_unsealed(tree: Path) -> None:
    _newest, previous = t.newest_with_history(tree)  # read from the catalog, before it is lost
    t.edit_json(
        derived_dir(t.store(tree), previous) / IMMUTABLE_MARKER_FILE, lambda d: d.update(sqlite_sha256="0" * 64)
    )
    _catalog_missing(tree)


def _staged_dataset(tree: Path) -> None:
    """A publish of a next release interrupted before its immutability marker was renamed into place
    (`local.rs::put_dataset`): manifest, SQLite file and lock in place, the marker still `*.tmp`."""
    newest, _ = t.newest_with_history(tree)
    staged = DatasetId(STAGED_RELEASE, newest.species, newest.assembly)
    target = derived_dir(t.store(tree), staged)
    shutil.copytree(derived_dir(t.store(tree), newest), target)
    marker = target / IMMUTABLE_MARKER_FILE
    marker.rename(marker.with_name(f"{IMMUTABLE_MARKER_FILE}.tmp"))


def _build_root_instead_of_store(tree: Path) -> None:
    """What Atlas's ingest output root looks like: per dataset `derived/{manifest.json, gene_summary.sqlite}` with
    its ingest outputs (QC report, build metadata), no publish sidecars, no catalog."""
    root = t.store(tree)
    for dataset in t.datasets(tree):
        derived = derived_dir(root, dataset)
        for sidecar in PUBLISH_SIDECARS:
            (derived / sidecar).unlink(missing_ok=True)
        manifest = json.loads((derived / "manifest.json").read_bytes())
        (derived / "qc_report.json").write_text(json.dumps({"dataset": dataset.canonical, "status": "pass"}) + "\n")
        (derived / "build_metadata.json").write_text(json.dumps({"stats": manifest.get("stats", {})}) + "\n")
    for name in ("catalog.json", "catalog.sha256"):
        (root / name).unlink(missing_ok=True)


def _dataset_index_stale(tree: Path) -> None:
    """A generated summary left behind by its sources: the dataset index of an earlier inventory."""
    t.edit_json(
        tree / "ops/datasets/generated/dataset-index.json", lambda d: d.update(dataset_ids=d["dataset_ids"][:-1])
    )


CATALOG_RECONSTRUCTION_FAULTS: tuple[Fault, ...] = (
    Fault(
        "catalog-corrupt",
        "store/catalog.json cut in half (a write cut short), drilled with the restored catalog",
        ALL,
        "Atlas cannot parse the catalog: never ready, nothing discoverable or served; rebuild-if-lost recovers it",
        _catalog_corrupt,
        cause="catalog.json is broken",
    ),
    Fault(
        "catalog-lost-unsealed-dataset",
        "catalog lost and the previous release's immutability marker broken, drilled with rebuild-if-lost",
        frozenset({IDENTITY, ROLLBACK, QUERIES, EVIDENCE}),
        "the rebuild leaves the unsealed dataset out, so its epoch is not the expected release's: the served "
        "dataset set is short, rollback loses a release and its marker, the baseline's answers for it fail, and "
        "the rebuilt catalog is explained by nothing",
        _catalog_lost_and_previous_unsealed,
        cause="differing: 111/homo_sapiens/GRCh38",
        drill_catalog=REBUILD_IF_LOST,
    ),
    Fault(
        "staged-dataset-must-not-enter",
        "a half-published next release (marker still *.tmp) in the store, drilled with an always-rebuilt catalog",
        frozenset({ROLLBACK, EVIDENCE}),
        "the rebuild leaves the staged dataset out, so identity, queries and the catalog epoch stay the expected "
        "release's; the store still holds a folder the catalog does not list, with incomplete publish sidecars, "
        "and a publish temporary Atlas's layout has no place for",
        _staged_dataset,
        cause="immutable.release.json.tmp",
        drill_catalog=REBUILD,
    ),
    Fault(
        "build-root-instead-of-store",
        "a backup of Atlas's build (ingest output) root instead of the serving store",
        ALL,
        "an ingest output root was never published: no catalog, no manifest.lock, no immutability marker, and "
        "ingest outputs Atlas's serving layout has no place for; nothing is discoverable, ready, servable or explained",
        _build_root_instead_of_store,
        cause="holds an Atlas build root instead of the serving store",
    ),
    Fault(
        "dataset-index-stale",
        "ops/datasets/generated/dataset-index.json lists one dataset fewer than its sources",
        frozenset({IDENTITY, ROLLBACK, EVIDENCE}),
        "a reconstructable summary regenerated from the surviving inventory and lock differs from the restored copy, "
        "the release packet pins the index's digest, the rollback policy requires an index listing the "
        "inventory's ids, and the governed index is not the expected release's",
        _dataset_index_stale,
        cause="regenerated from ops/datasets/manifest.json",
    ),
)
# Faults of the catalog a rebuild recovers: drilled with this mode, every criterion passes.
RECOVERED_BY_REBUILD: dict[str, str] = {"catalog-missing": REBUILD_IF_LOST, "catalog-corrupt": REBUILD_IF_LOST}
# --- end of catalog reconstruction, what recovery is not, reconstructable outputs ------------------------------


# -- Detection classes a real incident produces (re-sealed artifacts, artifact shape, governed inventory, release
# binding, a backup without its serving store): the helpers and the faults below form one block.


def _unpinned_gene_edited_resealed(tree: Path) -> None:
    newest, _ = t.newest_with_history(tree)
    pinned = t.baseline_gene_ids(tree, newest)
    connection = sqlite3.connect(f"{sqlite_path(t.store(tree), newest).as_uri()}?mode=ro", uri=True)
    try:
        ids = [row[0] for row in connection.execute("SELECT gene_id FROM gene_summary ORDER BY gene_id")]
    finally:
        connection.close()
    gene = next(g for g in reversed(ids) if g not in pinned)  # a gene no recorded answer asks about
    t.edit_artifact_and_reseal(
        tree,
        newest,
        [(f"UPDATE {table} SET name = name || 'X' WHERE gene_id = ?", (gene,)) for table in ("gene_summary", "genes")],
    )


def _artifact_extra_index(tree: Path) -> None:
    newest, _ = t.newest_with_history(tree)
    t.edit_artifact_and_reseal(tree, newest, [("CREATE INDEX idx_gene_summary_name_extra ON gene_summary(name)", ())])


def _artifact_of_other_dataset(tree: Path) -> None:
    newest, previous = t.newest_with_history(tree)
    t.edit_artifact_and_reseal(
        tree,
        newest,
        [
            ("UPDATE atlas_meta SET v = ? WHERE k = 'dataset_id'", (previous.canonical,)),
            ("UPDATE atlas_meta SET v = ? WHERE k = 'dataset_release'", (previous.release,)),
        ],
    )


def _single_release_dataset(tree: Path) -> DatasetId:
    return max(t.datasets(tree), key=lambda d: (d.species, d.release))


def _dataset_removed_with_its_folder(tree: Path) -> None:
    t.remove_dataset(tree, _single_release_dataset(tree))


def _pruned_release(tree: Path) -> None:
    dataset = _single_release_dataset(tree)
    t.remove_dataset(tree, dataset)
    t.prune_from_governance(tree, dataset)
    t.rerecord_catalog_epoch(tree)


def _inventory_of_another_build(tree: Path) -> None:
    def rename(document: dict[str, Any], key: str) -> None:
        for item in document[key]:
            item["name"] = f"{item['name']}-rebuilt"

    t.edit_json(tree / "ops/datasets/manifest.json", lambda d: rename(d, "datasets"))
    t.edit_json(tree / "ops/datasets/manifest.lock", lambda d: rename(d, "entries"))


def _store_missing(tree: Path) -> None:
    shutil.rmtree(t.store(tree))


def _cache_inside_the_store(tree: Path, source: dict[str, str]) -> None:
    t.set_config(tree, ATLAS_CACHE_ROOT=f"{source['store_root'].rstrip('/')}/.atlas-cache")


CLASS_FAULTS: tuple[Fault, ...] = (
    Fault(
        "artifact-edited-resealed",
        "a gene no recorded answer asks about edited in the newest artifact, its manifest digests and sidecars "
        "re-sealed",
        frozenset({QUERIES}),
        "every digest inside the store agrees with the edited bytes, so identity, locks and the evidence trace hold; "
        "only the dataset's identity and artifact digests the live service reported at backup time (the baseline's "
        "pins) differ",
        _unpinned_gene_edited_resealed,
        cause="artifact digests are the ones recorded",
    ),
    Fault(
        "artifact-schema-drift",
        "an index Atlas's schema does not have added to the newest artifact, digests re-sealed",
        frozenset({QUERIES}),
        "the artifact is not the shape Atlas's ingest writes (its indexes are part of how queries run); the "
        "recorded artifact digests no longer replay",
        _artifact_extra_index,
        cause="idx_gene_summary_name_extra",
    ),
    Fault(
        "artifact-names-other-dataset",
        "the newest artifact's atlas_meta names the previous release, digests re-sealed",
        frozenset({QUERIES}),
        "the artifact served for a dataset must be that dataset's: atlas_meta is what ingest wrote about it",
        _artifact_of_other_dataset,
        cause="atlas_meta names the catalogued dataset",
    ),
    Fault(
        "dataset-removed-with-its-folder",
        "a dataset removed from the store and the catalog alike (store and catalog agree)",
        frozenset({IDENTITY, ROLLBACK, QUERIES}),
        "the served set is not the expected one; the served catalog is not the governed inventory and lock, which a "
        "rollback selects from; the recorded answers for that dataset cannot be replayed",
        _dataset_removed_with_its_folder,
        cause="served catalog is the governed",
    ),
    Fault(
        "pruned-release",
        "a backup of a pruned copy of the release: a dataset gone from store, catalog, inventory, lock, index and "
        "recorded answers, consistent in itself",
        frozenset({IDENTITY, ROLLBACK, EVIDENCE}),
        "identity.json still names the expected release, but the dataset set, inventory and lock are not the "
        "expected release's, the restored catalog's epoch is not the expected release's, and the release evidence "
        "pins the lock's digest",
        _pruned_release,
        cause="are the expected release's",
    ),
    Fault(
        "inventory-of-another-build",
        "the restored dataset inventory and lock are another build's (same dataset ids and checksums, other names)",
        frozenset({IDENTITY, EVIDENCE}),
        "store, catalog and identity fields all agree with the expected release; only the governed inventory and lock "
        "bind the backup to it, and the release evidence pins their digests",
        _inventory_of_another_build,
        cause="are the expected release's",
    ),
    Fault(
        "store-missing",
        "a backup without its serving store (release metadata and configuration only)",
        ALL,
        "nothing to serve: the drill refuses it by backup verify's rule before starting a target, so no criterion "
        "can be proven",
        _store_missing,
        cause="not-a-serving-store",
    ),
    Fault(
        "config-other-store-root",
        "the restored runtime configuration names another store root than the one backed up",
        frozenset({READINESS}),
        "the sandbox sets its own store root, which hides it; in production the restored service would serve another "
        "store (or none), so the restored setting is judged before the drill overrides it",
        _config(ATLAS_STORE_ROOT="/srv/atlas/store-of-another-deployment"),
        cause="store-of-another-deployment",
    ),
    Fault(
        "config-cache-inside-store",
        "the restored runtime configuration puts the cache root inside the backed-up store",
        frozenset({READINESS}),
        "the sandbox sets its own cache root, which hides it; in production cache state would be written into the "
        "durable store that recovery restores",
        change_with_source=_cache_inside_the_store,
        cause="cache root outside the store",
    ),
)


FAULTS: tuple[Fault, ...] = (
    Fault(
        "config-other-release",
        "the runtime configuration names another release (ATLAS_RELEASE_ID)",
        frozenset({IDENTITY}),
        "the served build metadata and start-up log carry the configured release, not the backed-up one",
        _config(ATLAS_RELEASE_ID=f"ops_run-{OTHER_SHA[:12]}"),
        cause=f"ops_run-{OTHER_SHA[:12]}",
    ),
    Fault(
        "config-stale-governance",
        "the runtime configuration names another governance version",
        frozenset({IDENTITY}),
        "the served governance_version comes from ATLAS_GOVERNANCE_VERSION",
        _config(ATLAS_GOVERNANCE_VERSION=f"main@{OTHER_SHA}"),
        cause=f"main@{OTHER_SHA}",
    ),
    Fault(
        "identity-other-release",
        "identity.json names another release",
        frozenset({IDENTITY, EVIDENCE}),
        "the restored identity is not the expected release, and the backup manifest, bound to identity.json at "
        "backup time, no longer matches the expectation nor provenance",
        _identity_of_other_release,
        cause="ops/release/evidence/identity.json",
    ),
    Fault(
        "provenance-other-release",
        "provenance.json names another release",
        frozenset({IDENTITY, EVIDENCE}),
        "provenance must name the expected release, agree with identity.json, and match its digest in the "
        "evidence manifest and packet",
        _provenance_of_other_release,
        cause="ops/release/provenance.json",
    ),
    Fault(
        "catalog-missing",
        "store/catalog.json (and catalog.sha256) missing",
        ALL,
        "Atlas never becomes ready without a catalog and serves no dataset: discoverability, identity, queries "
        "and the served-digest trace all need it",
        _catalog_missing,
        cause="catalog.json is missing",
    ),
    Fault(
        "catalog-unsorted",
        "catalog entries out of order (with a matching catalog.sha256)",
        ALL,
        "Atlas's validate_sorted rejects the catalog: never ready, nothing discoverable or served",
        t.unsorted_catalog,
        cause="strictly sorted",
    ),
    Fault(
        "catalog-checksum-mismatch",
        "catalog.sha256 does not match catalog.json",
        ALL,
        "Atlas refuses a catalog whose checksum file disagrees: never ready, nothing discoverable or served",
        _catalog_checksum,
        cause="catalog.sha256",
    ),
    Fault(
        "dataset-dropped-from-catalog",
        "a dataset present in the store but dropped from the catalog",
        frozenset({IDENTITY, ROLLBACK, QUERIES}),
        "the served dataset set is not the expected one, store and catalog disagree, and the catalog epoch the "
        "baseline recorded changed",
        _drop_from_catalog,
        cause="112/mus_musculus/GRCm39",
    ),
    Fault(
        "sqlite-page-flipped",
        "one SQLite page of the newest release corrupted, manifest untouched",
        frozenset({ROLLBACK, QUERIES, EVIDENCE}),
        "Atlas stays ready but refuses the dataset's queries (checksum); its manifest.lock no longer matches; "
        "the digest the service reports no longer traces to the restored bytes",
        _sqlite_page,
        cause="sqlite_sha256",
    ),
    Fault(
        "manifest-stats-edited",
        "a manifest's gene count edited and re-locked",
        frozenset({QUERIES}),
        "the manifest stays servable (stats are not part of the identity) but no longer states what the artifact holds",
        _stats_edited,
        cause="manifest stats",
    ),
    Fault(
        "manifest-lock-mismatch",
        "the previous release's manifest.lock does not match its bytes",
        frozenset({ROLLBACK}),
        "rollback validates manifest.lock integrity; Atlas's server never reads it",
        _lock_mismatch,
        cause="manifest.lock",
    ),
    Fault(
        "immutability-marker-mismatch",
        "the oldest release's immutable.release.json does not match its bytes",
        frozenset({ROLLBACK}),
        "the immutability marker must bind the artifact a rollback would publish",
        _marker_mismatch,
        cause="immutable.release.json",
    ),
    Fault(
        "rollback-policy-changed",
        "the rollback policy's max_rollback_depth changed",
        frozenset({ROLLBACK, EVIDENCE}),
        "the policy must be the expected one byte for byte, and the release packet pins its digest",
        _policy_changed,
        cause="rollback-policy.json",
    ),
    Fault(
        "previous-release-missing",
        "the previous release's folder (and catalog entry) missing",
        frozenset({IDENTITY, ROLLBACK, QUERIES}),
        "the expected dataset set is incomplete, rollback has nothing to go back to, and the baseline's answers "
        "for that release cannot be replayed",
        _previous_missing,
        cause="111/homo_sapiens/GRCh38",
    ),
    Fault(
        "baseline-mismatch",
        "baseline answers that no longer match the data",
        frozenset({QUERIES}),
        "the recorded answers are replayed exactly",
        _baseline_mismatch,
        cause="recorded answer",
    ),
    Fault(
        "evidence-digest-mismatch",
        "an SBOM edited by a byte (its digest is in the evidence manifest, packet and ledger)",
        frozenset({EVIDENCE}),
        "every path+sha256 pair of the release evidence must match",
        _sbom_edited,
        cause="spdx",
    ),
    Fault(
        "stray-store-file",
        "a file in the store that Atlas's layout does not explain",
        frozenset({EVIDENCE}),
        "every restored file must be explained; this one is listed in the backup but belongs to nothing",
        _stray_store_file,
        cause="NOTES.txt",
    ),
    Fault(
        "stale-backup",
        "a backup 40 days old",
        frozenset({EVIDENCE}),
        "a backup older than the plan's maximum age does not prove today's recoverability",
        None,
        created_at="STALE",
        cause="recovery point objective",
    ),
    Fault(
        "readiness-not-gated",
        "the runtime configuration turns off catalog-gated readiness",
        frozenset({READINESS}),
        "with ATLAS_READINESS_REQUIRES_CATALOG=false, /readyz says ready whatever was restored",
        _config(ATLAS_READINESS_REQUIRES_CATALOG="false"),
        cause="ATLAS_READINESS_REQUIRES_CATALOG",
    ),
    Fault(
        "cached-only-mode",
        "the runtime configuration serves in cached-only mode",
        frozenset({READINESS, QUERIES, ROLLBACK}),
        "recovery must not depend on cache state; cached-only mode makes readiness ignore the catalog, and Atlas "
        "then never copies a dataset from the store, so from an empty cache every dataset query answers 503",
        _config(ATLAS_CACHED_ONLY_MODE="true", ATLAS_READINESS_REQUIRES_CATALOG="false"),
        cause="ATLAS_CACHED_ONLY_MODE",
    ),
    Fault(
        "config-unknown-setting",
        "the runtime configuration has an ATLAS_* name Atlas does not know",
        ALL,
        "Atlas refuses to start: nothing is served, so every check that asks the service fails",
        _config(ATLAS_NOT_A_SETTING="1"),
        cause="ATLAS_NOT_A_SETTING",
    ),
    Fault(
        "cache-instead-of-store",
        "a backup of the cache root instead of the serving store",
        ALL,
        "a cache has no catalog and no publish sidecars: nothing is discoverable, ready, servable or explained",
        t.cache_layout_instead_of_store,
        cause="holds an Atlas cache root instead of the serving store",
    ),
    *CATALOG_RECONSTRUCTION_FAULTS,
    Fault(
        "truncated-archive",
        "the archive cut short",
        frozenset(),
        "restore refuses it",
        refused_rule="truncated-archive",
    ),
    Fault(
        "member-escaping-staging",
        "an archive member whose path climbs out of the staging folder",
        frozenset(),
        "restore refuses it before writing anything",
        refused_rule="parent-traversal",
    ),
    Fault(
        "unlisted-member",
        "an archive member the backup manifest does not list",
        frozenset(),
        "restore refuses unlisted members",
        refused_rule="unlisted-member",
    ),
    Fault(
        "listed-file-missing",
        "a durable file listed in the backup manifest but absent from the archive",
        frozenset(),
        "restore refuses a backup that does not hold every listed file",
        refused_rule="missing-member",
    ),
    *CLASS_FAULTS,
)


def fault_named(name: str) -> Fault:
    for fault in FAULTS:
        if fault.name == name:
            return fault
    known = ", ".join(f.name for f in FAULTS)
    raise KeyError(f"no fault named {name!r}; known faults: {known}")
