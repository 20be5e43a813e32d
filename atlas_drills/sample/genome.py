"""The synthetic genome: `genome.fa.gz` and its `genome.fa.gz.fai`, plus the per-contig facts the artifact stores.

Each contig is a leading run of N (as real assemblies start) followed by a short seeded motif repeated to the contig
length. A short period is deliberate: deflate finds it at once, so a gigabase compresses in about a second, and
every fact about a contig (GC, N fraction, byte offsets) follows by arithmetic without reading the sequence back.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from atlas_drills.sample.annotation import CONTIG_LEAD_BASES, Universe
from atlas_drills.sample.reproducible import deterministic_gzip

LINE_BASES = 60  # FASTA line width, as Ensembl writes it
MOTIF_LINES = 8  # motif period in lines: short enough for deflate's window to repeat at full speed
MOTIF_BASES = LINE_BASES * MOTIF_LINES
_COPIES_PER_WRITE = 2048  # ~1 MB per gzip write


@dataclass(frozen=True)
class Contig:
    name: str
    length: int
    leading_n: int  # bases of N before the motif starts (a whole number of lines)
    motif: bytes

    @property
    def gc_fraction(self) -> float:
        body = self.length - self.leading_n
        full, rest = divmod(body, MOTIF_BASES)
        gc = full * _gc(self.motif) + _gc(self.motif[:rest])
        return round(gc / self.length, 6)

    @property
    def n_fraction(self) -> float:
        return round(self.leading_n / self.length, 6)


def _gc(bases: bytes) -> int:
    return bases.count(b"G") + bases.count(b"C")


def genome_contigs(universe: Universe, assembly: str) -> list[Contig]:
    """The contigs of a species' assembly: the same for every release of it, as a real assembly is."""
    contigs = []
    for name, length in universe.contigs():
        seed = f"atlas-drills-sample:{universe.seed}:{universe.species}:{assembly}:{name}"
        rng = random.Random(seed)  # noqa: S311 - seeded data, not secrets
        # ~41 % GC, as the human genome.
        motif = bytes(rng.choices(b"ACGT", weights=(29.5, 20.5, 20.5, 29.5), k=MOTIF_BASES))
        leading_n = min(CONTIG_LEAD_BASES, length // 10) // LINE_BASES * LINE_BASES
        contigs.append(Contig(name, length, leading_n, motif))
    return contigs


def _lines(bases: bytes) -> bytes:
    return b"".join(bases[i : i + LINE_BASES] + b"\n" for i in range(0, len(bases), LINE_BASES))


def write_fasta(path: Path, contigs: list[Contig]) -> None:
    """Write `genome.fa.gz` (gzip level 1, mtime 0)."""
    with deterministic_gzip(path) as out:
        for contig in contigs:
            out.write(f">{contig.name}\n".encode())
            n_line = b"N" * LINE_BASES + b"\n"
            out.write(n_line * (contig.leading_n // LINE_BASES))
            body = contig.length - contig.leading_n
            period = _lines(contig.motif)
            full, rest = divmod(body, MOTIF_BASES)
            chunk = period * _COPIES_PER_WRITE
            for _ in range(full // _COPIES_PER_WRITE):
                out.write(chunk)
            out.write(period * (full % _COPIES_PER_WRITE))
            out.write(_lines(contig.motif[:rest]))


def fai_text(contigs: list[Contig]) -> str:
    """`samtools faidx` lines (name, length, offset of the first base, bases per line, bytes per line).

    Offsets are into the uncompressed FASTA, computed from the layout `write_fasta` uses.
    """
    rows = []
    offset = 0
    for contig in contigs:
        offset += len(contig.name) + 2  # ">name\n"
        rows.append(f"{contig.name}\t{contig.length}\t{offset}\t{LINE_BASES}\t{LINE_BASES + 1}\n")
        full_lines, rest = divmod(contig.length, LINE_BASES)
        offset += full_lines * (LINE_BASES + 1) + (rest + 1 if rest else 0)
    return "".join(rows)


def write_genome(directory: Path, universe: Universe, assembly: str) -> tuple[Path, Path]:
    """Write `genome.fa.gz` and `genome.fa.gz.fai` into `directory`; return their paths."""
    contigs = genome_contigs(universe, assembly)
    directory.mkdir(parents=True, exist_ok=True)
    fasta = directory / FASTA_FILE
    fai = directory / FAI_FILE
    write_fasta(fasta, contigs)
    fai.write_text(fai_text(contigs), encoding="ascii")
    return fasta, fai


GFF3_FILE = "genes.gff3.gz"
FASTA_FILE = "genome.fa.gz"
FAI_FILE = "genome.fa.gz.fai"
