"""derived/manifest.json: identity hashing, strict parsing, and every `validate_strict` rule."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

import pytest

from atlas_drills.store.canonical import canonical_bytes
from atlas_drills.store.errors import StoreError
from atlas_drills.store.identity import Identity, compute_identity
from atlas_drills.store.manifest import (
    Checksums,
    InputHashes,
    Stats,
    default_derived_column_origins,
    load_manifest_strict,
    parse_manifest,
    validate_strict,
)
from atlas_drills.store.serde_rules import is_blank, rust_trim
from tests.unit.manifest_factory import digest, valid_manifest


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_identity_formula_by_hand() -> None:
    g, f, i, s = digest("gff3"), digest("fasta"), digest("fai"), digest("sqlite")
    source = sha(f'{{"fai_sha256":"{i}","fasta_sha256":"{f}","gff3_sha256":"{g}"}}')
    build = sha('{"db_schema_version":"1","manifest_version":"1","schema_version":"1"}')
    artifact = sha(f'{{"sqlite_sha256":"{s}"}}')
    metadata = sha(
        f'{{"artifact_fingerprint_sha256":"{artifact}","build_fingerprint_sha256":"{build}",'
        f'"release_id":"110/homo_sapiens/GRCh38","source_fingerprint_sha256":"{source}"}}'
    )
    identity = compute_identity(
        "110/homo_sapiens/GRCh38",
        gff3_sha256=g,
        fasta_sha256=f,
        fai_sha256=i,
        sqlite_sha256=s,
        manifest_version="1",
        schema_version="1",
        db_schema_version="1",
    )
    assert identity == Identity("110/homo_sapiens/GRCh38", source, build, artifact, metadata)


def test_canonical_json_normalises_zero_floats_and_keeps_unicode() -> None:
    assert canonical_bytes({"b": 0.0, "a": [-0.0, 1.5], "é": "ü"}) == '{"a":[0,1.5],"b":0,"é":"ü"}'.encode()


def test_valid_manifest_round_trips() -> None:
    manifest = valid_manifest()
    assert validate_strict(manifest) == []
    data = manifest.to_bytes()
    assert data == canonical_bytes(json.loads(data))
    assert load_manifest_strict(data) == manifest


def _broken(**changes: Any) -> list[str]:
    manifest = dataclasses.replace(valid_manifest(), **changes)
    return sorted({v.field for v in validate_strict(manifest, "m.json")})


BASE = valid_manifest()


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"artifact_version": ""}, ["artifact_version"]),
        ({"identity_schema_version": "2"}, ["identity_schema_version"]),
        # A version change also changes the recomputed build fingerprint, so identity breaks too.
        (
            {"db_schema_version": "2"},
            ["identity.build_fingerprint_sha256", "identity.canonical_metadata_sha256", "manifest_version"],
        ),
        (
            {"schema_version": ""},
            [
                "identity.build_fingerprint_sha256",
                "identity.canonical_metadata_sha256",
                "manifest_version",
                "schema_version",
            ],
        ),
        ({"input_hashes": dataclasses.replace(BASE.input_hashes, policy_sha256="")}, ["input_hashes.policy_sha256"]),
        (
            {"input_hashes": InputHashes()},
            [f"input_hashes.{n}" for n in ("fai_sha256", "fasta_sha256", "gff3_sha256", "policy_sha256")],
        ),
        ({"toolchain_hash": ""}, ["toolchain_hash"]),
        ({"source_facts_path": ""}, ["source_facts_path"]),
        ({"normalized_input_identity_sha256": ""}, ["normalized_input_identity_sha256"]),
        ({"software_version": ""}, ["software_version"]),
        ({"config_version": ""}, ["config_version"]),
        ({"build_policy_version": ""}, ["build_policy_version"]),
        ({"build_metadata_path": ""}, ["build_metadata_path"]),
        ({"anomaly_summary_path": ""}, ["anomaly_summary_path"]),
        ({"dataset_stats_path": ""}, ["dataset_stats_path"]),
        ({"artifact_inventory_path": ""}, ["artifact_inventory_path"]),
        ({"evidence_bundle_path": ""}, ["evidence_bundle_path"]),
        ({"evidence_bundle_sha256": ""}, ["evidence_bundle_sha256"]),
        ({"artifact_hash": ""}, ["artifact_hash"]),
        ({"db_hash": digest("other")}, ["db_hash"]),
        ({"stats": Stats(gene_count=0)}, ["stats.gene_count"]),
        ({"derived_column_origins": {}}, ["derived_column_origins"]),
        ({"canonical_model_schema_version": 1}, ["canonical_lineage_sha256", "canonical_query_semantic_sha256"]),
        ({"sharding_plan": "hash"}, ["sharding_plan"]),
        ({"model_version": "v2"}, ["model_version"]),
        ({"artifact_version": "  "}, ["artifact_version"]),
        ({"identity_schema_version": " 1"}, ["identity_schema_version"]),
        (
            {"identity": dataclasses.replace(BASE.identity, release_id="111/homo_sapiens/GRCh38")},
            ["identity.release_id"],
        ),
        (
            {"identity": dataclasses.replace(BASE.identity, canonical_metadata_sha256="ABC")},
            ["identity.canonical_metadata_sha256"],
        ),
        # The SQLite file changed but the identity was not recomputed: the case a corrupt restore produces.
        (
            {"checksums": dataclasses.replace(BASE.checksums, sqlite_sha256=digest("x")), "db_hash": digest("x")},
            ["identity.artifact_fingerprint_sha256", "identity.canonical_metadata_sha256"],
        ),
        (
            {"checksums": dataclasses.replace(BASE.checksums, gff3_sha256=digest("y"))},
            ["identity.canonical_metadata_sha256", "identity.source_fingerprint_sha256"],
        ),
    ],
)
def test_each_rule_is_named(changes: dict[str, Any], fields: list[str]) -> None:
    assert _broken(**changes) == sorted(fields)


def test_every_violation_is_reported_at_once_with_expected_and_observed() -> None:
    manifest = dataclasses.replace(valid_manifest(), toolchain_hash="", db_hash="nope", stats=Stats())
    violations = validate_strict(manifest, "store/x/manifest.json")
    assert {v.field for v in violations} == {"toolchain_hash", "db_hash", "stats.gene_count"}
    db = next(v for v in violations if v.field == "db_hash")
    assert db.expected == manifest.checksums.sqlite_sha256
    assert db.observed == "nope"
    assert "store/x/manifest.json" in str(db)
    with pytest.raises(StoreError) as caught:
        load_manifest_strict(manifest.to_bytes(), "store/x/manifest.json")
    assert len(caught.value.violations) == 3


def test_parse_rejects_unknown_fields_and_wrong_types_all_at_once() -> None:
    raw = json.loads(valid_manifest().to_bytes())
    raw["surprise"] = 1
    raw["stats"]["gene_count"] = "3"
    raw["stats"]["extra"] = 0
    raw["checksums"] = []
    raw["derived_column_origins"] = {"a": 1}
    raw["created_at"] = 5
    with pytest.raises(StoreError) as caught:
        parse_manifest(json.dumps(raw).encode(), "m.json")
    assert {v.field for v in caught.value.violations} == {
        "surprise",
        "stats.gene_count",
        "stats.extra",
        "checksums",
        "derived_column_origins",
        "created_at",
    }


def test_parse_fills_serde_defaults_for_absent_fields() -> None:
    """Atlas's defaults: identity_schema_version "1", derived_column_origins its default map: still servable."""
    raw = json.loads(valid_manifest().to_bytes())
    for name in ("schema_evolution_note", "derived_column_origins", "identity_schema_version", "model_version"):
        del raw[name]
    manifest = parse_manifest(json.dumps(raw).encode())
    assert manifest.schema_evolution_note == ""
    assert manifest.identity_schema_version == "1"
    assert manifest.model_version == "v1"
    assert manifest.derived_column_origins == default_derived_column_origins()
    assert "transcript_summary.*" in manifest.derived_column_origins
    assert validate_strict(manifest) == []


def test_an_explicitly_empty_map_is_not_the_default() -> None:
    raw = json.loads(valid_manifest().to_bytes())
    raw["derived_column_origins"] = {}
    manifest = parse_manifest(json.dumps(raw).encode())
    assert [v.field for v in validate_strict(manifest)] == ["derived_column_origins"]


def test_empty_maps_are_not_serialized() -> None:
    manifest = dataclasses.replace(valid_manifest(), canonical_feature_counts={}, contig_normalization_aliases={})
    raw = json.loads(manifest.to_bytes())
    assert "canonical_feature_counts" not in raw
    assert "contig_normalization_aliases" not in raw
    assert raw["derived_column_origins"] == manifest.derived_column_origins


@pytest.mark.parametrize("missing", ["manifest_version", "db_schema_version", "dataset", "checksums", "stats"])
def test_fields_without_a_serde_default_are_required(missing: str) -> None:
    raw = json.loads(valid_manifest().to_bytes())
    del raw[missing]
    with pytest.raises(StoreError) as caught:
        parse_manifest(json.dumps(raw).encode(), "m.json")
    assert [(v.field, v.rule) for v in caught.value.violations] == [(missing, "required field")]


@pytest.mark.parametrize(
    ("nested", "field"),
    [
        ("checksums", "fai_sha256"),
        ("input_hashes", "policy_sha256"),
        ("stats", "contig_count"),
        ("identity", "release_id"),
    ],
)
def test_nested_structs_require_every_field(nested: str, field: str) -> None:
    raw = json.loads(valid_manifest().to_bytes())
    del raw[nested][field]
    with pytest.raises(StoreError) as caught:
        parse_manifest(json.dumps(raw).encode())
    assert [v.field for v in caught.value.violations] == [f"{nested}.{field}"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("model_version", "v2"),
        ("model_version", "V1"),
        ("sharding_plan", "hash"),
        ("sharding_plan", "regionGrid"),
        ("canonical_model_schema_version", -1),
        ("canonical_model_schema_version", 2**64),
        ("created_at", "2026-02-24 00:00:00"),
        ("created_at", "2026-02-24T00:00:00+00:00"),
    ],
)
def test_values_serde_refuses(name: str, value: Any) -> None:
    raw = json.loads(valid_manifest().to_bytes())
    raw[name] = value
    with pytest.raises(StoreError) as caught:
        parse_manifest(json.dumps(raw).encode())
    assert [v.field for v in caught.value.violations] == [name]


@pytest.mark.parametrize(
    ("name", "value"),
    [("sharding_plan", "region_grid"), ("created_at", "   "), ("created_at", "2026-02-24T00:00:00Z")],
)
def test_values_serde_accepts(name: str, value: str) -> None:
    raw = json.loads(valid_manifest().to_bytes())
    raw[name] = value
    manifest = parse_manifest(json.dumps(raw).encode())
    assert getattr(manifest, name) == value.strip()


def test_negative_counts_are_not_u64() -> None:
    raw = json.loads(valid_manifest().to_bytes())
    raw["stats"]["transcript_count"] = -1
    raw["canonical_feature_counts"] = {"gene": -3}
    with pytest.raises(StoreError) as caught:
        parse_manifest(json.dumps(raw).encode())
    assert {v.field for v in caught.value.violations} == {"stats.transcript_count", "canonical_feature_counts"}


@pytest.mark.parametrize("blank", [" ", "\t\n", "\u3000", "\xa0 "])
@pytest.mark.parametrize(
    "name", ["artifact_version", "toolchain_hash", "evidence_bundle_path", "identity_schema_version"]
)
def test_whitespace_only_values_are_blank_as_atlas_trims_them(name: str, blank: str) -> None:
    assert name in _broken(**{name: blank})


def test_trimming_follows_rust_not_python() -> None:
    """U+001F is whitespace to Python's strip() but not to Rust's trim(): Atlas accepts it as a value."""
    assert "\x1f".strip() == ""
    assert "toolchain_hash" not in _broken(toolchain_hash="\x1f")
    assert rust_trim(" \u2003a\u3000 ") == "a"
    assert is_blank("\u2028\u2029")


@pytest.mark.parametrize("data", [b"", b"{", b"[1]", b'{"dataset": "110/homo_sapiens/GRCh38"}'])
def test_unusable_documents_raise(data: bytes) -> None:
    with pytest.raises(StoreError):
        parse_manifest(data)


def test_bool_is_not_an_integer() -> None:
    raw = json.loads(valid_manifest().to_bytes())
    raw["stats"]["gene_count"] = True
    with pytest.raises(StoreError, match=r"stats\.gene_count"):
        parse_manifest(json.dumps(raw).encode())


def test_nested_defaults_are_empty() -> None:
    assert Checksums().sqlite_sha256 == ""
