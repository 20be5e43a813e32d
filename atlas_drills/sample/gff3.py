"""`genes.gff3.gz`: the annotation in GFF3 (gene -> transcript -> exon, CDS), gzip level 1.

Written from the very genes the artifact is built from, so the input file and the served data agree, and in the
form Atlas's own `ingest` reads with its default (strict) policies, so `bijux-atlas ingest` on these inputs builds
the same rows: every feature's `ID` is the stable id the artifact stores (ingest's gene-identifier policy `gff3-id`
and transcript-id policy use `ID`), a child's `Parent` names its parent's `ID`, and IDs are unique per line (a
duplicate ID on a non-gene line is a strict-mode error), so an exon shared by several transcripts gets one line per
transcript, with ID `<transcript id>-<exon id>`. Coding transcripts carry one CDS line (on their first exon), which
is what makes ingest record `cds_present`; CDS lines have no ID, as several may share a protein.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from atlas_drills.sample.annotation import CODING_TRANSCRIPT_BIOTYPES, Gene
from atlas_drills.sample.reproducible import deterministic_gzip

SOURCE = "ensembl"


def exon_line_id(transcript_id: str, exon_id: str) -> str:
    """The `ID` of an exon line, and so the `exon_id` ingest stores: unique per (transcript, exon)."""
    return f"{transcript_id}-{exon_id}"


def gene_text(gene: Gene) -> str:
    """A gene's GFF3 block: the gene, each transcript with its exons (and CDS), then the `###` closing mark."""
    seqid, strand, gene_id = gene.seqid, gene.strand, gene.gene_id
    lines = [
        f"{seqid}\t{SOURCE}\t{gene.feature_type}\t{gene.start}\t{gene.end}\t.\t{strand}\t.\t"
        f"ID={gene_id};Name={gene.name};biotype={gene.biotype};gene_id={gene_id}\n"
    ]
    emit = lines.append
    exons = gene.exons
    for tx in gene.transcripts:
        own = exons[tx.first_exon : tx.last_exon]
        tx_id = tx.transcript_id
        emit(
            f"{seqid}\t{SOURCE}\t{tx.feature_type}\t{own[0].start}\t{own[-1].end}\t.\t{strand}\t.\t"
            f"ID={tx_id};Parent={gene_id};biotype={tx.biotype};transcript_id={tx_id}\n"
        )
        count = len(own)
        for position, exon in enumerate(own):
            # Ensembl ranks exons in transcription order: on the minus strand rank 1 is the rightmost.
            rank = position + 1 if strand == "+" else count - position
            emit(
                f"{seqid}\t{SOURCE}\texon\t{exon.start}\t{exon.end}\t.\t{strand}\t.\t"
                f"ID={exon_line_id(tx_id, exon.exon_id)};Parent={tx_id};exon_id={exon.exon_id};rank={rank}\n"
            )
        if tx.biotype in CODING_TRANSCRIPT_BIOTYPES:
            emit(f"{seqid}\t{SOURCE}\tCDS\t{own[0].start}\t{own[0].end}\t.\t{strand}\t0\tParent={tx_id}\n")
    emit("###\n")
    return "".join(lines)


def write_versions(writers: list[Gff3Writer], batch: Iterable[tuple[Gene | None, ...]]) -> None:
    """Write each slot's gene to the file of every release that has it, formatting a shared gene once."""
    parts: list[list[str]] = [[] for _ in writers]
    for versions in batch:
        first = versions[0]
        if first is not None and (len(versions) == 1 or versions[1] is first):
            text = gene_text(first)
            for part in parts:
                part.append(text)
        else:
            for part, gene in zip(parts, versions, strict=True):
                if gene is not None:
                    part.append(gene_text(gene))
    for writer, part in zip(writers, parts, strict=True):
        writer.write_text("".join(part))


class Gff3Writer:
    """Streams genes into a gzip'd GFF3 file, and digests the uncompressed text on the way (the normalized input)."""

    def __init__(self, path: Path, assembly: str, contigs: Iterable[tuple[str, int]]) -> None:
        self._stack = ExitStack()
        self._out: BinaryIO = self._stack.enter_context(deterministic_gzip(path))
        self._text_digest = hashlib.sha256()
        header = ["##gff-version 3", f"#!genome-build {SOURCE} {assembly}"]
        header.extend(f"##sequence-region   {name} 1 {length}" for name, length in contigs)
        self._write("\n".join(header) + "\n")

    def _write(self, text: str) -> None:
        data = text.encode("ascii")
        self._text_digest.update(data)
        self._out.write(data)

    def add(self, genes: Iterable[Gene]) -> None:
        self.write_text("".join(map(gene_text, genes)))

    def write_text(self, text: str) -> None:
        self._write(text)

    @property
    def text_sha256(self) -> str:
        """sha256 of the uncompressed GFF3 text written so far."""
        return self._text_digest.hexdigest()

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> Gff3Writer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
