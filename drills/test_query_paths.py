"""Query paths: the key query paths answer exactly what the backed-up data says, for every dataset.

Two independent sources of truth: the answers the live service gave at backup time (`baseline/queries.json`,
replayed exactly), and the restored SQLite artifact itself, read directly for a deterministic sample of genes. The
expected answers never come from constants in the drill.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from atlas_drills.backup.baseline import (
    BASELINE_MEMBER,
    DATASET_PIN_QUERY,
    dataset_path,
    dataset_pins,
    drop_volatile,
    stable_headers,
)
from atlas_drills.client import AtlasClient
from atlas_drills.drill.life import RestoredAtlas
from atlas_drills.drill.restored import STORE, read_json, restored_catalog, restored_manifest
from atlas_drills.drill.served import rows
from atlas_drills.store.artifact import check_artifact_shape, open_read_only
from atlas_drills.store.dataset_id import DatasetId, dataset_hash
from atlas_drills.store.layout import manifest_relpath, sqlite_path, sqlite_relpath
from atlas_drills.store.sampling import (
    GENE_FIELDS,
    TRANSCRIPT_FIELDS,
    gene_count,
    genes_overlapping,
    sample_genes,
    transcript_row,
    transcripts_of,
)
from fixtures.evidence import DrillEvidence

pytestmark = pytest.mark.criterion("query paths")

GENES_PER_DATASET = 5
# A range query is a heavy query for Atlas, which refuses more rows than this (422 QueryRejectedByPolicy).
HEAVY_PROJECTION_LIMIT = 200


def test_baseline_answers_replay_exactly(
    restored_atlas: RestoredAtlas, atlas: AtlasClient, evidence: DrillEvidence
) -> None:
    baseline, problem = read_json(restored_atlas.staging, BASELINE_MEMBER)
    if baseline is None:
        pytest.skip(f"{problem}: the backup has no recorded answers (create it with --baseline-from)")
    _baseline_covers_the_catalog(restored_atlas, atlas, baseline, evidence)
    for dataset in baseline.get("datasets", []):
        for query in dataset.get("queries", []):
            where = f"GET {query['path']} {query['query']}"
            answer = atlas.get(query["path"], query["query"])
            try:
                observed_body = drop_volatile(answer.json())
            except ValueError:
                observed_body = answer.text
            pinned = stable_headers(query["headers"])  # a baseline recorded before cache-state headers were left out
            evidence.equal(
                f"{dataset['dataset']} {query['name']}: recorded answer replays",
                expected={
                    "status": query["status"],
                    "response": query["response"],
                    "headers": {name: query["headers"][name] for name in pinned},
                },
                observed={
                    "status": answer.status,
                    "response": observed_body,
                    "headers": {name: answer.headers.get(name) for name in pinned},
                },
                where=where,
            )
    evidence.assert_ok()


def _baseline_covers_the_catalog(
    restored_atlas: RestoredAtlas, atlas: AtlasClient, baseline: Any, evidence: DrillEvidence
) -> None:
    """Recorded answers prove a dataset only if there are some: every dataset of the restored catalog must have its
    own, and its pins (identity hash and artifact digests the live service reported) must be what is served now."""
    catalog, problem = restored_catalog(restored_atlas.staging)
    recorded = {d.get("dataset"): d for d in baseline.get("datasets", []) if isinstance(d, dict)}
    served = [d.canonical for d in catalog.dataset_ids()] if catalog else []
    evidence.equal(
        "baseline covers every dataset of the restored catalog",
        expected=sorted(served) if catalog else "a readable catalog",
        observed=sorted(d for d in served if d in recorded) if catalog else problem,
        where=BASELINE_MEMBER,
    )
    for dataset in catalog.dataset_ids() if catalog else []:
        pins = recorded.get(dataset.canonical, {}).get("pins")
        where = f"GET {dataset_path(dataset)} vs {BASELINE_MEMBER}: {dataset.canonical} pins"
        if dataset.canonical in recorded and not isinstance(pins, dict):
            evidence.record(
                f"{dataset.canonical}: baseline pins the dataset's identity and artifact digests",
                False,
                expected="pins recorded from GET /v1/datasets/{id}?include_bom=true",
                observed="none (a baseline recorded before pins existed: record it again)",
                where=where,
            )
            continue
        if pins is None:
            continue
        answer = atlas.get(dataset_path(dataset), dict(DATASET_PIN_QUERY))
        body = answer.json() if answer.status == 200 else {"status": answer.status}
        evidence.equal(
            f"{dataset.canonical}: identity and artifact digests are the ones recorded",
            expected=pins,
            observed=dataset_pins(answer.headers, body),
            where=where,
        )


def test_sampled_genes_answer_what_the_restored_artifact_says(
    restored_atlas: RestoredAtlas, atlas: AtlasClient, evidence: DrillEvidence
) -> None:
    staging = restored_atlas.staging
    catalog, problem = restored_catalog(staging)
    catalog = evidence.require(
        "restored catalog readable", catalog, problem=problem, expected="catalog.json", where="store"
    )
    for dataset in catalog.dataset_ids():
        _check_dataset(restored_atlas, atlas, dataset, catalog.epoch, evidence)
    evidence.assert_ok()


def _check_dataset(
    restored_atlas: RestoredAtlas, atlas: AtlasClient, dataset: DatasetId, epoch: str, evidence: DrillEvidence
) -> None:
    params = atlas.dataset_params(dataset)
    path = sqlite_path(restored_atlas.staging / STORE, dataset)
    try:
        connection = open_read_only(path)
        sample = sample_genes(connection, GENES_PER_DATASET)
        count = gene_count(connection)
    except sqlite3.Error as exc:
        evidence.record("restored artifact readable", False, expected="SQLite v4", observed=str(exc), where=str(path))
        return
    manifest, _ = restored_manifest(restored_atlas.staging, dataset)
    answer = atlas.get("/v1/genes/count", params)
    body = answer.json() if answer.status == 200 else {"status": answer.status}
    evidence.equal(
        f"{dataset.canonical} gene count",
        expected={"gene_count": count, "manifest stats": count, "catalog_epoch": epoch},
        observed={
            "gene_count": body.get("gene_count", body),
            "manifest stats": manifest.stats.gene_count if manifest else None,
            "catalog_epoch": body.get("catalog_epoch"),
        },
        where=f"GET /v1/genes/count {dataset.canonical}",
    )
    try:
        for gene in sample:
            _check_gene(connection, atlas, dataset, gene, evidence)
    finally:
        connection.close()


def _check_gene(
    connection: sqlite3.Connection,
    atlas: AtlasClient,
    dataset: DatasetId,
    gene: dict[str, Any],
    evidence: DrillEvidence,
) -> None:
    params = atlas.dataset_params(dataset)
    gene_id = gene["gene_id"]
    lookup = atlas.get("/v1/genes", {**params, "gene_id": gene_id, "include": "coords,biotype,counts"})
    found = [{k: row.get(k) for k in GENE_FIELDS} for row in rows(lookup)]
    evidence.equal(
        f"{dataset.canonical} lookup {gene_id}",
        expected=[gene],
        observed=found or lookup.status,
        where=f"GET /v1/genes gene_id={gene_id}",
    )
    provenance = lookup.json().get("data", {}).get("provenance", {}) if lookup.status == 200 else {}
    evidence.equal(
        f"{dataset.canonical} provenance of {gene_id}",
        expected={
            "dataset_hash": dataset_hash(dataset.canonical),
            "x-atlas-dataset-hash": dataset_hash(dataset.canonical),
            "x-atlas-release": dataset.release,
        },
        observed={
            "dataset_hash": provenance.get("dataset_hash"),
            "x-atlas-dataset-hash": lookup.headers.get("x-atlas-dataset-hash"),
            "x-atlas-release": lookup.headers.get("x-atlas-release"),
        },
        where=f"GET /v1/genes gene_id={gene_id}: data.provenance, headers",
    )
    expected_transcripts = transcripts_of(connection, gene_id)
    transcripts = atlas.get(f"/v1/genes/{gene_id}/transcripts", {**params, "limit": "500"})
    observed = sorted(
        (transcript_row({k: row.get(k) for k in TRANSCRIPT_FIELDS}) for row in rows(transcripts)),
        key=lambda r: str(r["transcript_id"]),
    )
    evidence.equal(
        f"{dataset.canonical} transcripts of {gene_id}",
        expected=expected_transcripts,
        observed=observed or transcripts.status,
        where=f"GET /v1/genes/{gene_id}/transcripts",
    )
    for transcript in expected_transcripts[:1]:
        single = atlas.get(f"/v1/transcripts/{transcript['transcript_id']}", params)
        parent = (
            single.json().get("data", {}).get("transcript", {}).get("parent_gene_id")
            if single.status == 200
            else single.status
        )
        evidence.equal(
            f"{dataset.canonical} parent of {transcript['transcript_id']}",
            expected=gene_id,
            observed=parent,
            where=f"GET /v1/transcripts/{transcript['transcript_id']}",
        )
    region = f"{gene['seqid']}:{gene['start']}-{gene['end']}"
    ranged = atlas.get("/v1/genes", {**params, "range": region, "limit": str(HEAVY_PROJECTION_LIMIT)})
    evidence.equal(
        f"{dataset.canonical} genes overlapping {region}",
        expected=genes_overlapping(connection, gene["seqid"], gene["start"], gene["end"]),
        observed=sorted(row.get("gene_id") for row in rows(ranged)) or ranged.status,
        where=f"GET /v1/genes range={region}",
    )


def test_every_served_artifact_is_an_atlas_artifact_of_its_dataset(
    restored_atlas: RestoredAtlas, evidence: DrillEvidence
) -> None:
    """Rows answering right is not enough: an artifact of another schema (user version, tables, columns, keys,
    indexes) or one whose `atlas_meta` names another dataset is not what Atlas's ingest wrote for this dataset, even
    when its manifest and sidecars were re-sealed to match it. Its counts must also be what its manifest states."""
    staging = restored_atlas.staging
    catalog, problem = restored_catalog(staging)
    catalog = evidence.require(
        "restored catalog readable", catalog, problem=problem, expected="catalog.json", where="store"
    )
    for dataset in catalog.dataset_ids():
        path = sqlite_path(staging / STORE, dataset)
        where = f"{STORE}/{sqlite_relpath(dataset)}"
        evidence.equal(
            f"{dataset.canonical} artifact has Atlas's v4 shape",
            expected=[],
            observed=[
                f"{v.field}: {v.rule} (expected {v.expected!r}, observed {v.observed!r})"
                for v in check_artifact_shape(path)
            ],
            where=where,
        )
        try:
            connection = open_read_only(path)
            try:
                meta = dict(connection.execute("SELECT k, v FROM atlas_meta").fetchall())
                counts = {
                    "genes": gene_count(connection),
                    "transcripts": int(connection.execute("SELECT count(*) FROM transcript_summary").fetchone()[0]),
                }
            finally:
                connection.close()
        except sqlite3.Error as exc:
            evidence.record("restored artifact readable", False, expected="SQLite v4", observed=str(exc), where=where)
            continue
        evidence.equal(
            f"{dataset.canonical} atlas_meta names the catalogued dataset",
            expected=[dataset.canonical, dataset.release, dataset.species, dataset.assembly],
            observed=[meta.get(k) for k in ("dataset_id", "dataset_release", "dataset_species", "dataset_assembly")],
            where=f"{where}: atlas_meta",
        )
        manifest, problem = restored_manifest(staging, dataset)
        evidence.equal(
            f"{dataset.canonical} artifact counts are its manifest's",
            expected={"genes": manifest.stats.gene_count, "transcripts": manifest.stats.transcript_count}
            if manifest
            else problem,
            observed=counts,
            where=f"{where} vs {STORE}/{manifest_relpath(dataset)}: stats",
        )
    evidence.assert_ok()
