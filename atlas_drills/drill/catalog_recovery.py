"""How a drill recovers the catalog: restored as the backup holds it, or rebuilt in the restored tree.

Atlas's recovery page asks "how is catalog integrity preserved or rebuilt?". A drill answers it in one of three
modes (the plan's `catalog` setting, or `--drill-catalog`):

| mode | what the drill does |
|---|---|
| restore | serves the catalog the backup holds (a lost or broken one fails the drill, as it would fail Atlas) |
| rebuild-if-lost | rebuilds the catalog from the restored store's sealed datasets when it is lost or broken |
| rebuild | always rebuilds it, and serves the rebuilt one |

A rebuilt catalog is only trusted when its epoch equals the expected release's: the expectation's own catalog when
it holds a store, else the restored `catalog.sha256` (which the restore verified against the backup manifest), else
the digest the backup manifest lists for `catalog.json`. When it does not match, the datasets that differ are named.

Nothing here reads an artifact: whether a dataset is sealed is decided from the digests the restore verified, and
the digests of the files a rebuild writes are recorded (`CatalogRecovery.written`) so the checks need not read them.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from atlas_drills.backup.manifest import BackupManifest
from atlas_drills.store.canonical import sha256_hex
from atlas_drills.store.catalog import Catalog, check_catalog_checksum, parse_catalog, read_catalog_checksum
from atlas_drills.store.errors import StoreError
from atlas_drills.store.layout import CATALOG_CHECKSUM_FILE, CATALOG_FILE
from atlas_drills.store.rebuild import CatalogRebuild, classify, rebuild_catalog, rebuilt_files, write_rebuilt
from atlas_drills.store.recorded import RecordedDigests

RESTORE = "restore"
REBUILD_IF_LOST = "rebuild-if-lost"
REBUILD = "rebuild"
CATALOG_MODES = (RESTORE, REBUILD_IF_LOST, REBUILD)
STORE = "store"


@dataclass(frozen=True)
class ExpectedEpoch:
    """The catalog epoch the expected release has, where it was read, and (from a catalog) its datasets."""

    epoch: str | None
    source: str
    catalog: Catalog | None = None
    file_sha256: str | None = None  # the backup manifest's digest of catalog.json, when that is the source

    def matches(self, catalog: Catalog) -> bool:
        if self.file_sha256 is not None:
            return hashlib.sha256(catalog.canonical_file_bytes()).hexdigest() == self.file_sha256
        return self.epoch == catalog.epoch


@dataclass
class CatalogCheck:
    """One check of the catalog's integrity, as the report lists it."""

    name: str
    ok: bool
    expected: Any
    observed: Any

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "verdict": "pass" if self.ok else "fail",
            "expected": self.expected,
            "observed": self.observed,
        }


@dataclass
class CatalogRecovery:
    """What happened to the catalog in one drill, as primitives for the checks and the report."""

    mode: str
    action: str  # restored | rebuilt
    problem: str | None  # what was wrong with the restored catalog (None when it was sound)
    seconds: float = 0.0
    expected_epoch: str | None = None
    expected_source: str = "none"
    epoch: str | None = None  # the served catalog's epoch (restored or rebuilt)
    matched: bool | None = None  # None when no expected epoch is known
    datasets: list[str] = field(default_factory=list)  # the datasets the served catalog lists
    left_out: list[dict[str, object]] = field(default_factory=list)  # rebuilt: staged or quarantined, with why
    differing: list[str] = field(default_factory=list)  # expected vs served, both ways, named
    checks: list[CatalogCheck] = field(default_factory=list)
    # sha256 of every file the recovery wrote (relative to the store root), hashed from the bytes it wrote: the
    # restore's record does not hold them, and the checks must not read them back for their digests.
    written: dict[str, str] = field(default_factory=dict)

    @property
    def rebuilt(self) -> bool:
        return self.action == "rebuilt"

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "action": self.action,
            "problem": self.problem,
            "seconds": round(self.seconds, 3),
            "expected_epoch": self.expected_epoch,
            "expected_source": self.expected_source,
            "epoch": self.epoch,
            "epoch_matched": self.matched,
            "datasets": list(self.datasets),
            "left_out": list(self.left_out),
            "differing": list(self.differing),
            "checks": [check.to_dict() for check in self.checks],
        }


def restored_catalog_problem(store_root: Path) -> tuple[Catalog | None, str | None]:
    """The restored catalog, or why Atlas would refuse it: lost, unparseable, unsorted, checksum mismatch."""
    path = store_root / CATALOG_FILE
    try:
        catalog = parse_catalog(path.read_bytes(), f"{STORE}/{CATALOG_FILE}")
    except FileNotFoundError:
        return None, f"{STORE}/{CATALOG_FILE} is missing (lost)"
    except StoreError as exc:
        return None, f"{STORE}/{CATALOG_FILE} is broken: {exc}"
    violations = catalog.validate_sorted(f"{STORE}/{CATALOG_FILE}")
    checksum = check_catalog_checksum(store_root, catalog)
    if checksum is not None:
        violations.append(checksum)
    if violations:
        return None, f"{STORE}/{CATALOG_FILE} is broken: " + "; ".join(str(v) for v in violations)
    return catalog, None


def expected_epoch(expect_root: Path, store_root: Path, manifest: BackupManifest) -> ExpectedEpoch:
    """The expected release's catalog epoch: from the expectation's store, else from what the backup manifest
    vouches for (the restored catalog.sha256, verified at restore, or the listed digest of catalog.json)."""
    expect_catalog = expect_root / STORE / CATALOG_FILE
    if expect_catalog.is_file():
        try:
            catalog = parse_catalog(expect_catalog.read_bytes(), str(expect_catalog))
        except StoreError:
            pass
        else:
            return ExpectedEpoch(catalog.epoch, f"expectation {STORE}/{CATALOG_FILE}", catalog)
    listed = manifest.by_path()
    if f"{STORE}/{CATALOG_CHECKSUM_FILE}" in listed:
        recorded = read_catalog_checksum(store_root)
        if recorded:
            return ExpectedEpoch(recorded, f"backup manifest: {STORE}/{CATALOG_CHECKSUM_FILE} (verified at restore)")
    if f"{STORE}/{CATALOG_FILE}" in listed:
        digest = listed[f"{STORE}/{CATALOG_FILE}"].sha256
        return ExpectedEpoch(None, f"backup manifest: sha256 of {STORE}/{CATALOG_FILE}", file_sha256=digest)
    return ExpectedEpoch(None, "none: no expected catalog in the expectation nor in the backup manifest")


def _differing(expected: ExpectedEpoch, served: Catalog, rebuild: CatalogRebuild | None) -> list[str]:
    """The datasets that make the served catalog differ from the expected one, each with how."""
    if expected.catalog is not None:
        want, have = set(expected.catalog.dataset_ids()), set(served.dataset_ids())
        reasons = {f.dataset: f"{f.state}: {'; '.join(f.reasons)}" for f in rebuild.left_out} if rebuild else {}
        missing = [
            f"{d.canonical} expected, not in the catalog ({reasons.get(d, 'no such dataset folder')})"
            for d in sorted(want - have)
        ]
        extra = [f"{d.canonical} in the catalog, not expected" for d in sorted(have - want)]
        return missing + extra
    if rebuild is not None:  # no expected list: the left-out datasets are the suspects
        return [f"{f.dataset.canonical} left out ({f.state}: {'; '.join(f.reasons)})" for f in rebuild.left_out]
    return []


def recover_catalog(
    mode: str,
    store_root: Path,
    expect_root: Path,
    manifest: BackupManifest,
    restored_digests: Mapping[str, str] | None = None,
) -> CatalogRecovery:
    """Check the restored catalog and, as the mode says, rebuild it in place; prove the epoch.

    `restored_digests`: the restore's record (`RestoreResult.digests`, relative to the backup's root). Without it,
    the backup manifest's listing stands in for it: this runs on a tree just restored from `manifest`, and a restore
    succeeds only when it wrote every listed file with its listed digest."""
    if mode not in CATALOG_MODES:
        raise ValueError(f"catalog mode {mode!r}: expected one of {', '.join(CATALOG_MODES)}")
    began = time.monotonic()
    if restored_digests is None:
        restored_digests = {entry.path: entry.sha256 for entry in manifest.files}
    recorded = RecordedDigests(store_root.parent, restored_digests).under(store_root.name)
    written: dict[str, str] = {}
    restored, problem = restored_catalog_problem(store_root)
    expected = expected_epoch(expect_root, store_root, manifest)
    must_rebuild = mode == REBUILD or (mode == REBUILD_IF_LOST and problem is not None)
    rebuild: CatalogRebuild | None = None
    checks: list[CatalogCheck] = []
    if must_rebuild:
        rebuild = rebuild_catalog(store_root, recorded)
        files = rebuilt_files(rebuild, store_root / CATALOG_FILE)
        write_rebuilt(rebuild, store_root / CATALOG_FILE)
        written = {str(path.relative_to(store_root)): sha256_hex(data) for path, data in files.items()}
        served: Catalog | None = rebuild.catalog
        # Read back what the target will load: every entry must name a sealed dataset, nothing staged or quarantined.
        read_back, unreadable = restored_catalog_problem(store_root)
        entered = read_back.dataset_ids() if read_back else []
        unsealed = [f"{d.canonical} ({classify(store_root, d, recorded).state})" for d in entered]
        unsealed = [u for u in unsealed if not u.endswith("(sealed)")]
        checks.append(
            CatalogCheck(
                "the rebuilt catalog, read back, lists only sealed datasets",
                read_back is not None and not unsealed,
                "entries whose manifest, lock and immutability marker match the bytes",
                unreadable or (unsealed or [d.canonical for d in entered]),
            )
        )
    else:
        served = restored
        checks.append(
            CatalogCheck("restored catalog loads as Atlas loads it", problem is None, "sound", problem or "sound")
        )
    recovery = CatalogRecovery(mode, "rebuilt" if must_rebuild else "restored", problem, written=written)
    recovery.expected_epoch = expected.epoch
    recovery.expected_source = expected.source
    if served is not None:
        recovery.epoch = served.epoch
        recovery.datasets = [d.canonical for d in served.dataset_ids()]
        if expected.epoch is not None or expected.file_sha256 is not None:
            recovery.matched = expected.matches(served)
            if not recovery.matched:
                recovery.differing = _differing(expected, served, rebuild)
            checks.append(
                CatalogCheck(
                    f"{recovery.action} catalog epoch equals the expected release's ({expected.source})",
                    recovery.matched,
                    expected.epoch or f"catalog.json sha256 {expected.file_sha256}",
                    served.epoch if recovery.matched else f"{served.epoch}; differing: {'; '.join(recovery.differing)}",
                )
            )
    if rebuild is not None:
        recovery.left_out = [f.to_dict() for f in rebuild.left_out]
    recovery.checks = checks
    recovery.seconds = time.monotonic() - began
    return recovery
