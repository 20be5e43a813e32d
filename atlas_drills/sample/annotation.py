"""Synthetic gene annotation: Ensembl-like genes, transcripts and exons, deterministic from the seed.

A species has a *universe* of gene slots laid out along its contigs. Every release of the species walks the same
slots with the same seeded random stream (one draw pair per slot, used or not), so a gene present in two releases is
identical in both. Releases differ only by a few *events*: genes added, removed or renamed between two successive
releases, spread evenly along the genome. The generator yields one gene at a time, never a list of them, so memory
does not grow with the gene count.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

from atlas_drills.sample.config import GENE_WINDOW_BASES

CONTIG_LEAD_BASES = 6_000  # before the first gene: where the assembly's leading N run sits
CONTIG_TAIL_BASES = 15_000  # after the last window: room for the longest gene to end inside the contig


class Exon(NamedTuple):
    exon_id: str
    start: int
    end: int


class Transcript(NamedTuple):
    transcript_id: str
    biotype: str
    feature_type: str  # GFF3 column 3, stored as `transcript_type`
    first_exon: int  # the transcript uses gene.exons[first_exon:last_exon]
    last_exon: int
    spliced_length: int  # sum of its exon lengths


class Gene(NamedTuple):
    gene_id: str
    name: str
    biotype: str
    feature_type: str
    seqid: str
    start: int  # 1-based, closed
    end: int
    strand: str
    exons: tuple[Exon, ...]  # ascending coordinates, distinct
    transcripts: tuple[Transcript, ...]


@dataclass(frozen=True)
class GeneKind:
    """What a biotype looks like: GFF3 types, length range, exon and transcript counts."""

    biotype: str
    feature_type: str
    transcript_feature_type: str
    length: tuple[int, int]
    exons: tuple[int, int]
    transcripts: tuple[int, int]


# GFF3 feature types are the ones Atlas's ingest reads: `gene` for every gene, and `mRNA` or `transcript` for
# transcripts (its default TranscriptTypePolicy accepts transcript, mRNA and mrna; an Ensembl ncRNA_gene,
# pseudogene, lnc_RNA or miRNA line would be an unknown feature, and its children a strict-mode error).
_KINDS_BY_WEIGHT = (
    (100, GeneKind("protein_coding", "gene", "mRNA", (1_000, 12_000), (2, 7), (1, 4))),
    (74, GeneKind("lncRNA", "gene", "transcript", (500, 6_000), (2, 3), (1, 3))),
    (30, GeneKind("processed_pseudogene", "gene", "transcript", (300, 1_500), (1, 1), (1, 1))),
    (10, GeneKind("pseudogene", "gene", "transcript", (400, 3_000), (1, 2), (1, 1))),
    (16, GeneKind("miRNA", "gene", "transcript", (60, 110), (1, 1), (1, 1))),
    (12, GeneKind("snRNA", "gene", "transcript", (100, 190), (1, 1), (1, 1))),
    (8, GeneKind("snoRNA", "gene", "transcript", (70, 200), (1, 1), (1, 1))),
    (6, GeneKind("misc_RNA", "gene", "transcript", (100, 300), (1, 1), (1, 1))),
)
# Indexed by one random byte: the weights above sum to 256.
_KIND_BY_BYTE: tuple[GeneKind, ...] = tuple(kind for weight, kind in _KINDS_BY_WEIGHT for _ in range(weight))
assert len(_KIND_BY_BYTE) == 256

# Alternative isoforms of a protein-coding gene (its first transcript is always the canonical protein_coding one).
_ALT_CODING = (
    ("protein_coding", "mRNA"),
    ("retained_intron", "transcript"),
    ("nonsense_mediated_decay", "mRNA"),
    ("protein_coding", "mRNA"),
)
CODING_TRANSCRIPT_BIOTYPES = frozenset({"protein_coding", "nonsense_mediated_decay"})

_FAMILIES = (
    "ABCA", "ACTN", "ADAM", "AKAP", "ANK", "ARHGAP", "ATP", "BRCA", "CACNA", "CCDC", "CDH", "CDK", "CLDN", "COL",
    "CYP", "DNAH", "DOCK", "EPHA", "FBXO", "FGF", "GPR", "HOXA", "KCNJ", "KIF", "KLF", "KRT", "LRRC", "MAPK", "MYO",
    "NOTCH", "OR", "PCDH", "PLEKH", "PRDM", "RAB", "RBM", "SCN", "SLC", "SMAD", "SOX", "TBX", "TMEM", "TNF", "TRIM",
    "USP", "WNT", "ZBTB", "ZNF",
)  # fmt: skip
_SPECIES_CODES = {"homo_sapiens": "", "mus_musculus": "MUS", "rattus_norvegicus": "RNO", "danio_rerio": "DAR"}


def species_code(species: str) -> str:
    """Ensembl's stable-id infix: '' for human (ENSG…), MUS for mouse (ENSMUSG…), else from the binomial name."""
    if species in _SPECIES_CODES:
        return _SPECIES_CODES[species]
    genus, _, epithet = species.partition("_")
    return (genus[:1] + (epithet or genus)[:2]).upper()


@dataclass(frozen=True)
class Universe:
    """The gene slots of one species and the events that make its releases differ."""

    seed: int
    species: str
    newest_genes: int
    release_count: int

    @property
    def churn(self) -> int:
        """Genes added and renamed per release transition (one more is removed): "a few", ~0.5 %."""
        return max(1, self.newest_genes // 200)

    @property
    def events_per_transition(self) -> int:
        return 3 * self.churn + 1

    @property
    def event_count(self) -> int:
        return (self.release_count - 1) * self.events_per_transition

    @property
    def slots(self) -> int:
        # Every transition removes churn+1 genes that the newest release must not count.
        return self.newest_genes + (self.release_count - 1) * (self.churn + 1)

    @property
    def event_stride(self) -> int:
        return self.slots // (self.event_count + 1)

    @property
    def max_contigs(self) -> int:
        return {"homo_sapiens": 22, "mus_musculus": 19}.get(self.species, 20)

    def contigs(self) -> list[tuple[str, int]]:
        """(name, length) of chr1..chrN: as many contigs as the gene count warrants, each sized to its slots."""
        count = max(1, min(self.max_contigs, self.slots // 100))
        return [
            (f"chr{index + 1}", CONTIG_LEAD_BASES + len(self._contig_slots(index, count)) * GENE_WINDOW_BASES
             + CONTIG_TAIL_BASES)
            for index in range(count)
        ]  # fmt: skip

    def _contig_slots(self, index: int, count: int) -> range:
        return range(self.slots * index // count, self.slots * (index + 1) // count)

    def event_at(self, slot: int) -> tuple[int, str, int] | None:
        """(transition, kind, ordinal) when this slot changes between releases, else None.

        Transition k sits between release k-1 and release k; kind is added, removed or renamed.
        """
        return _EventLocator(self).event_at(slot)

    def genes(self, release_index: int) -> Iterator[Gene]:
        """The genes of one release, in genomic order (contig by contig, ascending start)."""
        for versions in self.gene_versions():
            gene = versions[release_index]
            if gene is not None:
                yield gene

    def gene_versions(self, only_events: bool = False) -> Iterator[tuple[Gene | None, ...]]:
        """Each slot's gene as every release has it (None where absent), in genomic order.

        A gene no release changes is one object repeated, so a caller can format it once for all releases.
        `only_events` skips building the others (the random stream is still walked, to stay aligned).
        """
        factory = _GeneFactory(self)
        events = _EventLocator(self)
        releases = range(self.release_count)
        # str seeds go through sha512 in `random.seed`: stable across runs and Python hash randomisation.
        rng = random.Random(f"atlas-drills-sample:{self.seed}:{self.species}")  # noqa: S311 - seeded data, not secrets
        draw = rng.getrandbits
        contigs = self.contigs()
        count = len(contigs)
        for index, (seqid, _length) in enumerate(contigs):
            for local, slot in enumerate(self._contig_slots(index, count)):
                layout_bits, exon_bits = draw(64), draw(64)  # always drawn: keeps releases aligned slot by slot
                event = events.event_at(slot)
                if event is None and only_events:
                    continue
                window_start = CONTIG_LEAD_BASES + local * GENE_WINDOW_BASES + 1

                slot_genes: list[Gene | None] = []
                for release in releases if event is not None else releases[:1]:
                    if event is not None and not _present(event, release):
                        slot_genes.append(None)
                        continue
                    gene = factory.gene(
                        slot=slot,
                        seqid=seqid,
                        window_start=window_start,
                        a=layout_bits,
                        b=exon_bits,
                        event=event,
                        release_index=release,
                    )
                    slot_genes.append(gene)
                # A gene no event touches is the same in every release: one object, repeated.
                yield tuple(slot_genes) if event is not None else (slot_genes[0],) * self.release_count


class _EventLocator:
    """`Universe.event_at` with the universe's figures computed once (it runs for every slot)."""

    def __init__(self, universe: Universe) -> None:
        self.stride = universe.event_stride
        self.middle = self.stride // 2
        self.count = universe.event_count
        self.transitions = universe.release_count - 1
        self.churn = universe.churn

    def event_at(self, slot: int) -> tuple[int, str, int] | None:
        if self.count == 0 or slot % self.stride != self.middle:
            return None
        ordinal = slot // self.stride
        if ordinal >= self.count:
            return None
        transition, position = ordinal % self.transitions + 1, ordinal // self.transitions
        if position < self.churn:
            return transition, "added", ordinal
        if position < 2 * self.churn + 1:
            return transition, "removed", ordinal
        return transition, "renamed", ordinal


def _present(event: tuple[int, str, int], release_index: int) -> bool:
    transition, kind, _ = event
    if kind == "added":
        return release_index >= transition
    if kind == "removed":
        return release_index < transition
    return True


class _GeneFactory:
    """Turns a slot and its two random words into a gene. Hot path: plain arithmetic on bit fields."""

    def __init__(self, universe: Universe) -> None:
        code = species_code(universe.species)
        self.gene_prefix = f"ENS{code}G"
        self.transcript_prefix = f"ENS{code}T"
        self.exon_prefix = f"ENS{code}E"
        self.upper_symbols = universe.species == "homo_sapiens"
        # Genes added by a later release get stable ids above every original one, as Ensembl assigns them.
        self.added_id_base = universe.slots + 100_000

    def symbol(self, slot: int, biotype: str, event: tuple[int, str, int] | None, release_index: int) -> str:
        if event is not None and event[1] == "renamed":
            transition, _, ordinal = event
            # An open-reading-frame placeholder that gets its family symbol in a later release, as HGNC does.
            name = f"FAM{100 + ordinal}A" if release_index >= transition else f"C{slot % 22 + 1}orf{slot + 1}"
        elif biotype == "protein_coding":
            name = f"{_FAMILIES[slot % len(_FAMILIES)]}{slot // len(_FAMILIES) + 1}"
        elif biotype.endswith("pseudogene"):
            name = f"{_FAMILIES[slot % len(_FAMILIES)]}P{slot // len(_FAMILIES) + 1}"
        elif biotype == "lncRNA":
            name = f"LINC{slot + 1:05d}"
        elif biotype == "miRNA":
            name = f"MIR{slot + 1}"
        elif biotype == "snRNA":
            name = f"RNU{slot + 1}"
        elif biotype == "snoRNA":
            name = f"SNORD{slot + 1}"
        else:
            name = f"RNY{slot + 1}"
        # Mouse (MGI) symbols are capitalised, not upper case: Brca1, Linc00421.
        return name if self.upper_symbols else name[0] + name[1:].lower()

    def gene(
        self,
        *,
        slot: int,
        seqid: str,
        window_start: int,
        a: int,
        b: int,
        event: tuple[int, str, int] | None,
        release_index: int,
    ) -> Gene:
        kind = _KIND_BY_BYTE[a & 0xFF]
        strand = "-" if (a >> 8) & 1 else "+"
        low, high = kind.length
        length = low + ((a >> 9) & 0xFFFF) * (high - low) // 0x10000
        start = window_start + ((a >> 25) & 0x1FF) * (GENE_WINDOW_BASES // 3) // 0x200
        end = start + length - 1
        exon_low, exon_high = kind.exons
        exon_count = exon_low + ((a >> 34) & 7) % (exon_high - exon_low + 1)
        tx_low, tx_high = kind.transcripts
        tx_count = 1 if exon_count == 1 else tx_low + ((a >> 37) & 7) % (tx_high - tx_low + 1)

        number = self.added_id_base + event[2] if event is not None and event[1] == "added" else slot + 3
        exons = _exons(self.exon_prefix, number * 8, start=start, end=end, count=exon_count, bits=b)
        transcripts = []
        spans = [e.end - e.start + 1 for e in exons]
        for index in range(tx_count):
            if index == 0:
                first, last = 0, exon_count
                biotype, feature = kind.biotype, kind.transcript_feature_type
            else:
                bits = (a >> (40 + 6 * (index - 1))) & 0x3F
                first = (bits & 7) % exon_count
                last = first + 1 + (bits >> 3) % (exon_count - first)
                if kind.biotype == "protein_coding":
                    biotype, feature = _ALT_CODING[(bits + index) % len(_ALT_CODING)]
                else:
                    biotype, feature = kind.biotype, kind.transcript_feature_type
            transcripts.append(
                Transcript(
                    f"{self.transcript_prefix}{number * 4 + index:011d}",
                    biotype,
                    feature,
                    first,
                    last,
                    sum(spans[first:last]),
                )
            )
        name = self.symbol(slot, kind.biotype, event, release_index)
        return Gene(
            f"{self.gene_prefix}{number:011d}",
            name,
            kind.biotype,
            kind.feature_type,
            seqid,
            start,
            end,
            strand,
            exons,
            tuple(transcripts),
        )


def _exons(prefix: str, first_number: int, *, start: int, end: int, count: int, bits: int) -> tuple[Exon, ...]:
    """`count` exons spread over [start, end]: the first starts at the gene start, the last ends at its end.

    Exon k sits in the k-th of `count` equal segments and ends before the next one starts, so exons never overlap.
    """
    if count == 1:
        return (Exon(f"{prefix}{first_number:011d}", start, end),)
    segment = (end - start + 1) // count
    exons = []
    for index in range(count):
        jitter = ((bits >> (4 * index)) & 0xF) * segment // 64
        exon_start = start if index == 0 else start + index * segment + jitter
        if index == count - 1:
            exon_end = end
        else:
            exon_end = (
                start + index * segment + jitter + segment // 3 + ((bits >> (32 + 4 * index)) & 0xF) * segment // 40
            )
        exons.append(Exon(f"{prefix}{first_number + index:011d}", exon_start, exon_end))
    return tuple(exons)


def gene_count(universe: Universe, release_index: int) -> int:
    """How many genes a release has, without generating them."""
    removed_so_far = release_index * (universe.churn + 1)
    not_yet_added = (universe.release_count - 1 - release_index) * universe.churn
    return universe.slots - removed_so_far - not_yet_added
