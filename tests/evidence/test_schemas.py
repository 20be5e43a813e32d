"""The release schemas: valid JSON Schemas, faithful to the contract's own examples, strict where it says so."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from jsonschema.validators import validator_for

from atlas_drills.evidence import SCHEMA_DIR, load_schema, validate_release_files
from atlas_drills.evidence.paths import RELEASE_FILES
from atlas_drills.evidence.schemas import own_judge, validate_document
from tests.evidence.conftest import read_json, write_json

GIT_SHA = "39f207e4b20efe6b4e4728c6bbf77d396997358b"

# The example documents of the Atlas contract, section by section (elided digests written out in full).
CONTRACT_EXAMPLES: dict[str, dict[str, Any]] = {
    "identity.schema.json": {  # 4.1
        "git_sha": GIT_SHA,
        "governance_version": f"main@{GIT_SHA}",
        "release_id": "ops_run-39f207e4b20e",
        "schema_version": 1,
    },
    "provenance.schema.json": {  # 4.2
        "checksum_list_path": "ops/release/signing/checksums.json",
        "evidence_manifest_path": "ops/release/evidence/manifest.json",
        "generated_by": "bijux-dev-atlas release sign",
        "git_sha": GIT_SHA,
        "governance_version": f"main@{GIT_SHA}",
        "release_id": "ops_run-39f207e4b20e",
        "schema_version": 1,
        "signing_policy_path": "ops/release/signing/policy.yaml",
        "toolchain_inventory": "configs/sources/repository/rust-tooling/toolchain.json",
    },
    "rollback-policy.schema.json": {  # 4.5
        "schema_version": 1,
        "strategy": "manifest-lock-pointer",
        "rollback_steps": [
            "select_previous_dataset_id",
            "validate_manifest_lock_integrity",
            "publish_previous_pointer_without_mutating_old_artifacts",
        ],
        "requires": ["manifest.lock", "promotion-rules", "dataset-index"],
        "max_rollback_depth": 3,
    },
    "datasets-manifest.schema.json": {  # 4.6
        "schema_version": 1,
        "datasets": [
            {
                "name": "medium",
                "id": "110/homo_sapiens/GRCh38",
                "kind": "fixture",
                "paths": {
                    "gff3": "ops/datasets/fixtures/medium/v1/data/genes.gff3",
                    "fasta": "ops/datasets/fixtures/medium/v1/data/genome.fa",
                    "fai": "ops/datasets/fixtures/medium/v1/data/genome.fa.fai",
                },
            },
            {
                "name": "real1",
                "id": "111/homo_sapiens/GRCh38",
                "kind": "real",
                "source_manifest": "ops/datasets/real-datasets.json",
            },
        ],
    },
    "datasets-manifest-lock.schema.json": {  # 4.6: medium pinned, real1 with empty checksums
        "schema_version": 1,
        "entries": [
            {
                "name": "medium",
                "id": "110/homo_sapiens/GRCh38",
                "checksums": {
                    "gff3": "cb6f3cf2" + "0" * 56,
                    "fasta": "5657d416" + "0" * 56,
                    "fai": "ad3d643c" + "0" * 56,
                },
            },
            {"name": "real1", "id": "111/homo_sapiens/GRCh38", "checksums": {}},
        ],
    },
    "readiness.schema.json": {  # 4.7
        "schema_version": 1,
        "status": "ready",
        "requirements": ["slo-definitions", "alert-catalog", "telemetry-drills", "dashboard-index"],
    },
    "evidence-policy.schema.json": {  # 4.3, as in Atlas's release at 09b857200c15: folders without a slash
        "accepted_sbom_formats": ["spdx-json", "cyclonedx-json"],
        "accepted_scan_report_formats": ["json", "sarif"],
        "cve_budget": {"max_critical": 0, "max_high": 0},
        "cve_overrides": [],
        "require_prod_image_artifacts": True,
        "required_paths": [
            "ops/release/evidence/identity.json",
            "ops/release/evidence/manifest.json",
            "ops/release/evidence/packages",
            "ops/release/evidence/sboms",
            "ops/release/evidence/index.html",
        ],
        "schema_version": 1,
    },
    "promotion-rules.schema.json": {  # 4.5
        "schema_version": 1,
        "pins_source": "ops/inventory/pins.yaml",
        "manifest_lock": "ops/datasets/manifest.lock",
        "environments": ["dev", "ci", "prod"],
        "rules": ["dataset_id_must_exist_in_manifest", "dataset_id_must_exist_in_pins", "promotion_is_append_only"],
    },
    "dataset-index.schema.json": {  # 4.5, without the generated_by Atlas's own schema forbids
        "schema_version": 1,
        "source_manifest": "ops/datasets/manifest.json",
        "source_lock": "ops/datasets/manifest.lock",
        "dataset_ids": ["110/homo_sapiens/GRCh38", "111/homo_sapiens/GRCh38"],
        "missing_dataset_ids": [],
        "stale_dataset_ids": [],
    },
}
SCHEMA_NAMES = sorted(release_file.own_schema for release_file in RELEASE_FILES)
OWN_FILES = [(release_file.relpath, release_file.own_schema) for release_file in RELEASE_FILES]


def test_every_release_file_has_one_schema_on_disk() -> None:
    assert sorted(p.name for p in SCHEMA_DIR.glob("*.schema.json")) == SCHEMA_NAMES


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_schema_is_a_valid_json_schema(name: str) -> None:
    schema = load_schema(name)
    validator_for(schema).check_schema(schema)


def test_datasets_manifest_schema_is_draft_07_as_in_atlas() -> None:
    assert load_schema("datasets-manifest.schema.json")["$schema"] == "http://json-schema.org/draft-07/schema#"
    others = [n for n in SCHEMA_NAMES if n != "datasets-manifest.schema.json"]
    assert {load_schema(n)["$schema"] for n in others} == {"https://json-schema.org/draft/2020-12/schema"}


@pytest.mark.parametrize("name", sorted(CONTRACT_EXAMPLES))
def test_schema_accepts_the_contracts_example(name: str) -> None:
    findings = validate_document(CONTRACT_EXAMPLES[name], own_judge(name), "example.json")
    assert [f.message for f in findings if not f.ok] == []


@pytest.mark.parametrize("name", sorted(CONTRACT_EXAMPLES))
def test_schema_rejects_the_example_missing_each_required_key(name: str) -> None:
    for key in load_schema(name)["required"]:
        document = copy.deepcopy(CONTRACT_EXAMPLES[name])
        del document[key]
        failed = [f for f in validate_document(document, own_judge(name), "example.json") if not f.ok]
        assert [f.where for f in failed] == [f"example.json: {key}"], key
        assert failed[0].message == f"example.json: {key}: {key!r} is a required property"


@pytest.mark.parametrize(("relpath", "name"), OWN_FILES)
def test_sample_file_matches_and_loses_validity_without_each_required_key(
    release: Path, relpath: str, name: str
) -> None:
    document = read_json(release, relpath)
    assert [f for f in validate_document(document, own_judge(name), relpath) if not f.ok] == []
    for key in load_schema(name)["required"]:
        broken = {k: v for k, v in document.items() if k != key}
        failed = [f for f in validate_document(broken, own_judge(name), relpath) if not f.ok]
        assert [f.where for f in failed] == [f"{relpath}: {key}"], key


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("identity.schema.json", "release_date"),
        ("provenance.schema.json", "signature"),
        ("rollback-policy.schema.json", "notes"),
        ("datasets-manifest.schema.json", "owner"),
    ],
)
def test_strict_schemas_refuse_unknown_top_level_keys(name: str, extra: str) -> None:
    document = copy.deepcopy(CONTRACT_EXAMPLES[name]) | {extra: "x"}
    failed = [f for f in validate_document(document, own_judge(name), "f.json") if not f.ok]
    assert [(f.where, f.observed) for f in failed] == [(f"f.json: {extra}", [extra])]


def test_dataset_items_allow_extra_properties_as_in_atlas() -> None:
    document = copy.deepcopy(CONTRACT_EXAMPLES["datasets-manifest.schema.json"])
    document["datasets"][0]["owner"] = "ops"
    assert all(f.ok for f in validate_document(document, own_judge("datasets-manifest.schema.json"), "f.json"))


def test_evidence_manifest_schema_requires_each_key_of_the_contract(release: Path) -> None:
    schema = load_schema("evidence-manifest.schema.json")
    assert schema["additionalProperties"] is False
    assert set(schema["$defs"]["pathSha"]["required"]) == {"path", "sha256"}
    assert "signature_artifacts" not in schema["required"]
    assert len(schema["required"]) == 27
    # Ten {path, sha256} reports and the redaction keys, all required as in Atlas's manifest.schema.json.
    assert len(schema["properties"]["ops_evidence"]["required"]) == 11
    assert "redaction_secret_keys" in schema["properties"]["ops_evidence"]["required"]


def test_bad_digest_in_the_evidence_manifest_names_the_field(release: Path) -> None:
    relpath = "ops/release/evidence/manifest.json"
    document = read_json(release, relpath)
    document["sboms"][0]["sha256"] = "ABC"
    failed = [f for f in validate_document(document, own_judge("evidence-manifest.schema.json"), relpath) if not f.ok]
    assert [f.where for f in failed] == [f"{relpath}: sboms[0].sha256"]


def test_a_pattern_violation_names_file_field_value_and_pattern(release: Path) -> None:
    relpath = "ops/release/provenance.json"
    write_json(release, relpath, read_json(release, relpath) | {"git_sha": "xyz"})
    failed = [f for f in validate_release_files(release) if not f.ok]
    assert [f.message for f in failed] == [f"{relpath}: git_sha: 'xyz' does not match '^[a-f0-9]{{40}}$'"]
    assert failed[0].where == f"{relpath}: git_sha"
    assert failed[0].observed == "xyz"
    assert failed[0].expected == {"keyword": "pattern", "value": "^[a-f0-9]{40}$"}


def test_a_fresh_sample_passes_every_schema_once_per_file(release: Path) -> None:
    findings = validate_release_files(release)
    assert [(f.where, f.ok) for f in findings] == [(relpath, True) for relpath, _ in OWN_FILES]
    assert [f.check for f in findings] == [
        f"{relpath} matches atlas-drills release/{name}" for relpath, name in OWN_FILES
    ]
    assert {f.criterion for f in findings} == {"evidence"}
