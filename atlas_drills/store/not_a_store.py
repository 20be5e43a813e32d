"""What recovery is not: a backup whose `store/` holds Atlas's cache root or a build root instead of the serving store.

Atlas's recovery page: "back up the serving store, not only a build root", and "recovery is not 'copy whatever is in
the cache and hope for the best'". Both look like a store at a glance (manifests and SQLite files), so each is named
by what only it has:

- **a cache root** (`cache_lifecycle.rs`): content-addressed `<sqlite sha256>/derived/` folders, `.verified`
  markers, a `.dataset-index/` and download temporaries (`.tmp-atlas-download/`); caches are disposable;
- **a build root** (Atlas's ingest output root): dataset folders whose `derived/` holds ingest outputs (QC report,
  build metadata, artifact inventory...) but no dataset was ever published: no `manifest.lock`, no immutability
  marker, and no catalog; or raw ingest inputs (GFF3, FASTA) beside them.
"""

from __future__ import annotations

import re
from pathlib import Path

from atlas_drills.store.layout import CATALOG_FILE, IMMUTABLE_MARKER_FILE, MANIFEST_LOCK_FILE

_SHA256_DIR = re.compile(r"[0-9a-f]{64}")
CACHE_MARKS = (".dataset-index", ".tmp-atlas-download")
# What Atlas's ingest writes beside the manifest (`domain/ingest/engine/manifest.rs`) and publish never copies.
INGEST_OUTPUTS = frozenset(
    {
        "qc_report.json",
        "build_metadata.json",
        "artifact_inventory.json",
        "dataset_stats.json",
        "anomaly_summary.json",
        "canonical_summary.json",
        "source_facts.json",
        "scientific_profile.json",
        "evidence_bundle.lock.json",
    }
)
RAW_INPUTS = (".gff3", ".gff3.gz", ".fa", ".fa.gz", ".fasta", ".fasta.gz")
CACHE_REASON = (
    "holds an Atlas cache root instead of the serving store ({marks}): a cache is disposable, defines no serving "
    "truth, and has no catalog nor publish seals; back up the serving store"
)
BUILD_REASON = (
    "holds an Atlas build root instead of the serving store ({marks}): ingest outputs never published (no "
    "manifest.lock, no immutable.release.json, no catalog); back up the serving store, not a build root"
)


def _cache_marks(store_root: Path) -> list[str]:
    marks = [name + "/" for name in CACHE_MARKS if (store_root / name).exists()]
    hashed = [p for p in store_root.iterdir() if p.is_dir() and _SHA256_DIR.fullmatch(p.name)]
    if hashed:
        marks.append(f"{len(hashed)} content-addressed <sha256>/derived folder(s)")
    verified = next(store_root.glob("*/derived/.verified"), None)
    if verified is not None:
        marks.append(".verified markers")
    return marks


def _build_marks(store_root: Path) -> list[str]:
    derived = [p for p in store_root.glob("release=*/species=*/assembly=*/derived") if p.is_dir()]
    published = any((d / MANIFEST_LOCK_FILE).exists() or (d / IMMUTABLE_MARKER_FILE).exists() for d in derived)
    if published or (store_root / CATALOG_FILE).exists():
        return []
    marks = []
    outputs = sorted({p.name for d in derived for p in d.iterdir() if p.name in INGEST_OUTPUTS})
    if outputs:
        marks.append("ingest outputs " + ", ".join(outputs[:3]) + ("..." if len(outputs) > 3 else ""))
    raw = sorted({p.name for p in store_root.rglob("*") if p.is_file() and p.name.endswith(RAW_INPUTS)})
    if raw:
        marks.append("raw ingest inputs " + ", ".join(raw[:3]) + ("..." if len(raw) > 3 else ""))
    return marks


def not_a_serving_store(store_root: Path) -> str | None:
    """Why the restored `store/` is not a serving store (a cache root, a build root), or None when nothing says so."""
    if not store_root.is_dir():
        return None
    cache = _cache_marks(store_root)
    if cache:
        return CACHE_REASON.format(marks="; ".join(cache))
    build = _build_marks(store_root)
    if build:
        return BUILD_REASON.format(marks="; ".join(build))
    return None
