"""`sample build --atlas-cli PATH`: the sample's datasets built by Atlas's own `ingest` instead of this builder.

The sample's raw inputs (`build/inputs/<dataset>/`) are ingested by the given `bijux-atlas` binary into the build
root (`build/atlas/`, Atlas's output root layout), and the artifact and manifest Atlas writes are published into
the serving store byte for byte, with the publish sidecars Atlas's `LocalFsStore::put_dataset` writes. Nothing of
Atlas is part of this suite: it runs whatever binary the user names.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

from atlas_drills.sample.genome import FAI_FILE, FASTA_FILE, GFF3_FILE
from atlas_drills.store.canonical import sha256_hex
from atlas_drills.store.dataset_id import DatasetId
from atlas_drills.store.errors import StoreError
from atlas_drills.store.layout import MANIFEST_FILE, SQLITE_FILE, derived_dir
from atlas_drills.store.manifest import ArtifactManifest, load_manifest_strict
from atlas_drills.store.sidecars import ArtifactDigests, write_publish_sidecars

ATLAS_OUTPUT_ROOT = "build/atlas"
_TAIL_LINES = 12


class AtlasIngestError(Exception):
    """The Atlas CLI could not be run, or its ingest failed; the message says which dataset, how, and the command."""


def ingest_command(cli: Path, inputs: Path, output_root: Path, dataset: DatasetId) -> list[str]:
    return [
        str(cli),
        "--json",
        "ingest",
        "--gff3",
        str(inputs / GFF3_FILE),
        "--fasta",
        str(inputs / FASTA_FILE),
        "--fai",
        str(inputs / FAI_FILE),
        "--output-root",
        str(output_root),
        "--release",
        dataset.release,
        "--species",
        dataset.species,
        "--assembly",
        dataset.assembly,
    ]


def run_atlas_ingest(cli: Path, inputs: Path, output_root: Path, dataset: DatasetId) -> Path:
    """Run `<cli> ingest` for one dataset with Atlas's default (strict) policies; return its `derived/` folder."""
    output_root.mkdir(parents=True, exist_ok=True)
    command = ingest_command(cli, inputs, output_root, dataset)
    try:
        finished = subprocess.run(command, cwd=output_root, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise AtlasIngestError(
            f"--atlas-cli {cli}: cannot run it ({exc.strerror or exc}); pass the path of a bijux-atlas CLI binary"
        ) from exc
    if finished.returncode != 0:
        output = (finished.stderr.strip() or finished.stdout.strip() or "(no output)").splitlines()
        tail = "\n    ".join(output[-_TAIL_LINES:])
        raise AtlasIngestError(
            f"Atlas's ingest failed for {dataset} (exit {finished.returncode}):\n    {tail}\n"
            f"  command: {shlex.join(command)}"
        )
    derived = output_root / dataset.directory / "derived"
    missing = [name for name in (MANIFEST_FILE, SQLITE_FILE) if not (derived / name).is_file()]
    if missing:
        raise AtlasIngestError(
            f"Atlas's ingest for {dataset} exited 0 but wrote no {', '.join(missing)} in {derived}; "
            f"is {cli} a bijux-atlas CLI? command: {shlex.join(command)}"
        )
    return derived


def publish_atlas_dataset(
    atlas_derived: Path, store_root: Path, dataset: DatasetId, published_at: int
) -> ArtifactManifest:
    """Publish Atlas's artifact and manifest into the store unchanged; refuse a manifest Atlas's server would."""
    manifest_bytes = (atlas_derived / MANIFEST_FILE).read_bytes()
    where = str(atlas_derived / MANIFEST_FILE)
    try:
        manifest = load_manifest_strict(manifest_bytes, where)
    except StoreError as exc:
        raise AtlasIngestError(f"Atlas's ingest wrote a manifest its server would refuse:\n{exc}") from exc
    if manifest.dataset != dataset:
        raise AtlasIngestError(f"{where}: names {manifest.dataset}, expected {dataset}")
    target = derived_dir(store_root, dataset)
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(atlas_derived / SQLITE_FILE, target / SQLITE_FILE)
    (target / MANIFEST_FILE).write_bytes(manifest_bytes)
    digests = ArtifactDigests(sha256_hex(manifest_bytes), manifest.checksums.sqlite_sha256)
    if ArtifactDigests.of_files(target) != digests:
        raise AtlasIngestError(f"{atlas_derived / SQLITE_FILE}: sha256 differs from its manifest's sqlite_sha256")
    write_publish_sidecars(target, dataset, published_at, digests)
    return manifest
