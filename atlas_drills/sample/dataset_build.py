"""The two heavy, independent steps of a sample build, as picklable tasks a worker process can run.

- `build_genome`: one species' FASTA + FAI (shared by every release of that assembly, as a real assembly is).
- `build_dataset`: one dataset's GFF3 and SQLite artifact, in a single pass over its generated genes.

Each task writes only its own files and returns their digests, so running them in parallel cannot change a byte.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from atlas_drills import TOOL_NAME, __version__
from atlas_drills.sample.annotation import Gene, Universe, gene_count
from atlas_drills.sample.artifact_writer import ArtifactCounts, ArtifactWriter, build_meta
from atlas_drills.sample.config import DatasetPlan
from atlas_drills.sample.genome import GFF3_FILE, genome_contigs, write_genome
from atlas_drills.sample.gff3 import Gff3Writer
from atlas_drills.store.canonical import sha256_file
from atlas_drills.store.dataset_id import DatasetId
from atlas_drills.store.layout import derived_dir, sqlite_path

BATCH_GENES = 5_000
PROGRESS_EVERY_GENES = 100_000
INPUTS_DIR = "build/inputs"

Progress = Callable[[str], None]


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


@dataclass(frozen=True)
class DatasetResult:
    dataset: DatasetId
    gff3_sha256: str
    gff3_text_sha256: str  # the uncompressed annotation: the normalized input identity
    sqlite_sha256: str
    counts: ArtifactCounts
    first_gene_id: str  # a gene every drill can query by id


def build_genome(root: Path, seed: int, plan: DatasetPlan) -> GenomeResult:
    """Write the genome of `plan`'s species/assembly into `plan`'s input folder."""
    directory = inputs_dir(root, plan.dataset)
    fasta, fai = write_genome(directory, universe_of(seed, plan), plan.dataset.assembly)
    return GenomeResult(plan.dataset.species, plan.dataset.assembly, fasta, fai, sha256_file(fasta), sha256_file(fai))


def build_dataset(
    root: Path, seed: int, plan: DatasetPlan, genome: GenomeResult, progress: Progress | None = None
) -> DatasetResult:
    """Generate one dataset's genes once, streaming them into both `genes.gff3.gz` and `gene_summary.sqlite`."""
    dataset = plan.dataset
    universe = universe_of(seed, plan)
    contigs = genome_contigs(universe, dataset.assembly)
    gff3_path = inputs_dir(root, dataset) / GFF3_FILE
    gff3_path.parent.mkdir(parents=True, exist_ok=True)
    artifact = sqlite_path(root / "store", dataset)
    derived_dir(root / "store", dataset).mkdir(parents=True, exist_ok=True)

    total = gene_count(universe, plan.release_index)
    genes = universe.genes(plan.release_index)
    first = next(genes)
    writer = ArtifactWriter(artifact)
    try:
        with Gff3Writer(gff3_path, dataset.assembly, universe.contigs()) as gff3:
            done = 0
            for batch in _batches(itertools.chain([first], genes), BATCH_GENES):
                writer.add(batch)
                gff3.add(batch)
                done += len(batch)
                if progress is not None and done % PROGRESS_EVERY_GENES < BATCH_GENES:
                    progress(f"{dataset}: {done:,} of {total:,} genes")
            text_sha256 = gff3.text_sha256
        gff3_sha256 = sha256_file(gff3_path)
        meta = build_meta(
            release=dataset.release,
            species=dataset.species,
            assembly=dataset.assembly,
            created_by=f"{TOOL_NAME}@{__version__}",
            gff3_sha256=gff3_sha256,
            fasta_sha256=genome.fasta_sha256,
            fai_sha256=genome.fai_sha256,
        )
        counts = writer.finish(contigs, meta)
    except (OSError, sqlite3.Error):
        writer.abort()
        raise
    return DatasetResult(dataset, gff3_sha256, text_sha256, sha256_file(artifact), counts, first.gene_id)


def _batches(genes: Iterator[Gene], size: int) -> Iterator[list[Gene]]:
    """Consecutive lists of at most `size` genes: bounded memory however many genes there are."""
    while batch := list(itertools.islice(genes, size)):
        yield batch
