"""The two heavy, independent steps of a sample build, as picklable tasks a worker process can run.

- `build_genome`: one species' FASTA + FAI (shared by every release of that assembly, as a real assembly is).
- `build_species`: every release of one species' GFF3 and SQLite artifacts, in a single pass over its genes.

Each task writes only its own files and returns their digests, so running them in parallel cannot change a byte.
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from atlas_drills import TOOL_NAME, __version__
from atlas_drills.sample.annotation import Universe, gene_count
from atlas_drills.sample.artifact_patch import derive_artifact
from atlas_drills.sample.artifact_writer import ArtifactCounts, ArtifactWriter, build_meta
from atlas_drills.sample.config import DatasetPlan
from atlas_drills.sample.genome import GFF3_FILE, genome_contigs, write_genome
from atlas_drills.sample.gff3 import Gff3Writer, write_versions
from atlas_drills.sample.ingest_digests import dataset_signature, genes_per_contig
from atlas_drills.store.artifact import open_read_only
from atlas_drills.store.canonical import sha256_file
from atlas_drills.store.dataset_id import DatasetId
from atlas_drills.store.layout import derived_dir, sqlite_path

BATCH_GENES = 5_000
PROGRESS_EVERY_GENES = 100_000
INPUTS_DIR = "build/inputs"

Progress = Callable[[str], None]
T = TypeVar("T")


def inputs_dir(root: Path, dataset: DatasetId) -> Path:
    """Where a dataset's raw input files live: the build root, never part of the serving store."""
    return root / INPUTS_DIR / dataset.directory


def universe_of(seed: int, plan: DatasetPlan) -> Universe:
    return Universe(seed, plan.dataset.species, plan.newest_genes, plan.release_count)


@dataclass(frozen=True)
class GenomeResult:
    species: str
    assembly: str
    fasta: Path
    fai: Path
    fasta_sha256: str
    fai_sha256: str
    fasta_text_sha256: str  # the uncompressed FASTA: what ingest hashes (it decompresses its inputs first)


@dataclass(frozen=True)
class DatasetResult:
    dataset: DatasetId
    gff3_sha256: str
    gff3_text_sha256: str  # the uncompressed annotation: what ingest hashes as `checksums.gff3_sha256`
    sqlite_sha256: str
    counts: ArtifactCounts
    first_gene_id: str  # a gene every drill can query by id
    cds_count: int  # CDS lines in the GFF3 (one per coding transcript)
    signature: str  # ingest's dataset_signature_sha256 for these rows
    genes_per_contig: dict[str, int]


def build_genome(root: Path, seed: int, plan: DatasetPlan) -> GenomeResult:
    """Write the genome of `plan`'s species/assembly into `plan`'s input folder."""
    directory = inputs_dir(root, plan.dataset)
    fasta, fai = write_genome(directory, universe_of(seed, plan), plan.dataset.assembly)
    return GenomeResult(
        plan.dataset.species,
        plan.dataset.assembly,
        fasta,
        fai,
        sha256_file(fasta),
        sha256_file(fai),
        _uncompressed_sha256(fasta),
    )


def _uncompressed_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with gzip.open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def build_species(
    root: Path, seed: int, plans: list[DatasetPlan], genome: GenomeResult, progress: Progress | None = None
) -> list[DatasetResult]:
    """Every release of one species/assembly, in one walk over its gene universe.

    Each gene is generated once and written to the GFF3 of every release that has it; the oldest release's
    artifact is loaded from the walk, and each later one is derived from its predecessor by applying the genes
    that changed (see `artifact_patch`).
    """
    plans = sorted(plans, key=lambda plan: plan.release_index)
    universe = universe_of(seed, plans[0])
    contigs = genome_contigs(universe, plans[0].dataset.assembly)
    store = root / "store"
    for plan in plans:
        inputs_dir(root, plan.dataset).mkdir(parents=True, exist_ok=True)
        derived_dir(store, plan.dataset).mkdir(parents=True, exist_ok=True)
    oldest = plans[0]
    total = gene_count(universe, oldest.release_index)
    writer = ArtifactWriter(sqlite_path(store, oldest.dataset))
    try:
        with ExitStack() as stack:
            gff3s = [
                stack.enter_context(
                    Gff3Writer(inputs_dir(root, p.dataset) / GFF3_FILE, p.dataset.assembly, universe.contigs())
                )
                for p in plans
            ]
            done = 0
            for batch in _batches(universe.gene_versions(), BATCH_GENES):
                writer.add([gene for versions in batch if (gene := versions[oldest.release_index]) is not None])
                write_versions(gff3s, batch)
                done += len(batch)
                if progress is not None and done % PROGRESS_EVERY_GENES < BATCH_GENES:
                    progress(f"{oldest.dataset}: {min(done, total):,} of {total:,} genes")
            text_digests = [gff3.text_sha256 for gff3 in gff3s]
        gff3_digests = [sha256_file(inputs_dir(root, p.dataset) / GFF3_FILE) for p in plans]
        counts = writer.finish(contigs, _meta(oldest.dataset, gff3_digests[0], genome))
    except (OSError, sqlite3.Error):
        writer.abort()
        raise
    first_gene = next(universe.genes(plans[-1].release_index)).gene_id
    results = [
        _result(store, oldest.dataset, gff3=gff3_digests[0], text=text_digests[0], counts=counts, first=first_gene)
    ]
    for index, plan in enumerate(plans[1:], start=1):
        previous = plans[index - 1]
        changes = (
            (versions[previous.release_index], versions[plan.release_index])
            for versions in universe.gene_versions(only_events=True)
        )
        counts = derive_artifact(
            sqlite_path(store, previous.dataset),
            sqlite_path(store, plan.dataset),
            changes,
            _meta(plan.dataset, gff3_digests[index], genome),
        )
        if progress is not None:
            progress(f"{plan.dataset}: derived from {previous.dataset} by applying the genes that changed")
        results.append(
            _result(
                store, plan.dataset, gff3=gff3_digests[index], text=text_digests[index], counts=counts, first=first_gene
            )
        )
    return results


def _meta(dataset: DatasetId, gff3_sha256: str, genome: GenomeResult) -> dict[str, str]:
    return build_meta(
        release=dataset.release,
        species=dataset.species,
        assembly=dataset.assembly,
        created_by=f"{TOOL_NAME}@{__version__}",
        gff3_sha256=gff3_sha256,
        fasta_sha256=genome.fasta_sha256,
        fai_sha256=genome.fai_sha256,
    )


def _result(
    store: Path, dataset: DatasetId, *, gff3: str, text: str, counts: ArtifactCounts, first: str
) -> DatasetResult:
    path = sqlite_path(store, dataset)
    db = open_read_only(path)
    try:
        cds = db.execute("SELECT count(*) FROM transcript_summary WHERE cds_present = 1").fetchone()[0]
        signature, per_contig = dataset_signature(db), genes_per_contig(db)
    finally:
        db.close()
    return DatasetResult(dataset, gff3, text, sha256_file(path), counts, first, cds, signature, per_contig)


def _batches(items: Iterator[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of at most `size` items: bounded memory however many genes there are."""
    while batch := list(itertools.islice(items, size)):
        yield batch
