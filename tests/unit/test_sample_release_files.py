"""The sample's release metadata: every digest resolves, identity is consistent, governance files agree."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from atlas_drills.runtime_config import read_env_file, unknown_names
from atlas_drills.sample import SampleRelease
from atlas_drills.store.canonical import sha256_file, sha256_hex
from atlas_drills.store.layout import manifest_path
from atlas_drills.store.manifest import parse_manifest

EVIDENCE_REQUIRED_KEYS = {
    "schema_version", "generated_by", "identity_path", "policy_path", "provenance", "chart_package",
    "image_artifacts", "docker_bases_lock", "toolchain_inventory", "auth_policy", "supply_chain",
    "docs_site_summary", "runtime_env_allowlist", "sboms", "scan_reports", "audit_assets", "governance_assets",
    "reports", "simulation_summaries", "drill_summaries", "ops_evidence", "evidence_tarball", "redacted_logs",
    "observability_assets", "perf_assets", "dataset_assets", "index_html",
}  # fmt: skip
OPS_EVIDENCE_REQUIRED_KEYS = {
    "install_evidence", "render_evidence", "validate_evidence", "install_matrix_report", "render_matrix_report",
    "schema_coverage_report", "network_policy_coverage_report", "rbac_coverage_report", "inventory_snapshot",
    "tool_versions",
}  # fmt: skip


def load(release: SampleRelease, relpath: str) -> Any:
    return json.loads((release.root / relpath).read_bytes())


def bundle_members(release: SampleRelease) -> dict[str, bytes]:
    data = (release.root / "ops/release/evidence/bundle.tar").read_bytes()
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        members = {}
        for info in archive.getmembers():
            assert (info.mtime, info.uid, info.gid) == (0, 0, 0), info.name
            extracted = archive.extractfile(info)
            assert extracted is not None
            members[info.name] = extracted.read()
    return members


def digest_of(release: SampleRelease, relpath: str) -> str:
    """sha256 of a release path: a file under OUT, or a bundle.tar member for `artifacts/...`."""
    if relpath.startswith("artifacts/"):
        return sha256_hex(bundle_members(release)[relpath])
    path = release.root / relpath
    assert path.is_file(), f"{relpath} named in release metadata but missing under OUT"
    return sha256_file(path)


def test_identity_and_provenance_agree(sample_release: SampleRelease) -> None:
    identity = load(sample_release, "ops/release/evidence/identity.json")
    provenance = load(sample_release, "ops/release/provenance.json")
    assert identity == {
        "schema_version": 1,
        "release_id": sample_release.release_id,
        "git_sha": sample_release.git_sha,
        "governance_version": sample_release.governance_version,
    }
    for key in ("release_id", "git_sha", "governance_version"):
        assert provenance[key] == identity[key]
    assert provenance["evidence_manifest_path"] == "ops/release/evidence/manifest.json"
    for key in ("signing_policy_path", "checksum_list_path", "toolchain_inventory"):
        assert (sample_release.root / provenance[key]).is_file(), key


def test_evidence_manifest_has_every_required_key_and_its_digests_match(sample_release: SampleRelease) -> None:
    manifest = load(sample_release, "ops/release/evidence/manifest.json")
    assert set(manifest) >= EVIDENCE_REQUIRED_KEYS
    assert manifest["schema_version"] == 2
    assert set(manifest["ops_evidence"]) >= OPS_EVIDENCE_REQUIRED_KEYS
    assert set(manifest["ops_evidence"]["redaction_secret_keys"]) == {"password", "secret", "token", "api_key"}
    assert manifest["evidence_tarball"]["path"] == "ops/release/evidence/bundle.tar"
    path_shas = [manifest[key] for key in ("provenance", "chart_package", "evidence_tarball")] + manifest["sboms"]
    for pair in path_shas:
        assert digest_of(sample_release, pair["path"]) == pair["sha256"], pair["path"]
    for key in ("identity_path", "policy_path"):
        assert (sample_release.root / manifest[key]).is_file(), key
    for key in ("index_html", "runtime_env_allowlist", "toolchain_inventory", "docker_bases_lock"):
        assert digest_of(sample_release, manifest[key]["path"]) == manifest[key]["sha256"], key
    for key in OPS_EVIDENCE_REQUIRED_KEYS:
        pair = manifest["ops_evidence"][key]
        assert sha256_hex(bundle_members(sample_release)[pair["path"]]) == pair["sha256"], key
    assert {"ops/datasets/manifest.json", "ops/datasets/manifest.lock"} <= set(manifest["dataset_assets"])
    for relpath in manifest["dataset_assets"]:
        digest_of(sample_release, relpath)
    chart = (sample_release.root / manifest["chart_package"]["path"]).read_bytes()
    with tarfile.open(fileobj=io.BytesIO(chart), mode="r:gz") as archive:
        assert "bijux-atlas/Chart.yaml" in archive.getnames()


@pytest.mark.parametrize(
    "ledger", ["ops/release/packet/packet.json", "ops/release/signing/checksums.json"], ids=["packet", "signing"]
)
def test_every_ledger_item_resolves_and_matches(sample_release: SampleRelease, ledger: str) -> None:
    items = load(sample_release, ledger)["items"]
    assert items
    mismatched = [item["path"] for item in items if digest_of(sample_release, item["path"]) != item["sha256"]]
    assert mismatched == []
    if ledger.endswith("checksums.json"):
        assert all(item["kind"] for item in items)


def test_packet_carries_its_required_minimum(sample_release: SampleRelease) -> None:
    packet = load(sample_release, "ops/release/packet/packet.json")
    listed = {item["path"] for item in packet["items"]}
    assert packet["evidence_root"] == "ops/release/evidence"
    assert set(packet["required_minimum"]) <= listed
    assert packet["contracts"] == {"REL-PACK-001": True}
    assert load(sample_release, "ops/release/signing/release-verify.json")["status"] == "ok"


def test_ingest_plan_carries_each_datasets_input_digests(sample_release: SampleRelease) -> None:
    plan = json.loads(bundle_members(sample_release)["artifacts/ingest/ingest-plan.json"])
    checksums = plan["verify_expected_hashes"]["checksums"]
    assert set(checksums) == {d.canonical for d in sample_release.datasets}
    for dataset in sample_release.datasets:
        manifest = parse_manifest(manifest_path(sample_release.store_root, dataset).read_bytes())
        expected = manifest.checksums
        assert checksums[dataset.canonical] == {
            "gff3": expected.gff3_sha256,
            "fasta": expected.fasta_sha256,
            "fai": expected.fai_sha256,
        }


def test_dataset_lock_matches_every_served_manifest(sample_release: SampleRelease) -> None:
    lock = load(sample_release, "ops/datasets/manifest.lock")
    inventory = load(sample_release, "ops/datasets/manifest.json")
    index = load(sample_release, "ops/datasets/generated/dataset-index.json")
    ids = [d.canonical for d in sample_release.datasets]
    assert [entry["id"] for entry in lock["entries"]] == ids
    assert [entry["id"] for entry in inventory["datasets"]] == ids
    assert index == {
        "schema_version": 1,
        "source_manifest": "ops/datasets/manifest.json",
        "source_lock": "ops/datasets/manifest.lock",
        "dataset_ids": ids,
        "missing_dataset_ids": [],
        "stale_dataset_ids": [],
    }
    for entry, listed in zip(lock["entries"], inventory["datasets"], strict=True):
        dataset = next(d for d in sample_release.datasets if d.canonical == entry["id"])
        served = parse_manifest(manifest_path(sample_release.store_root, dataset).read_bytes()).checksums
        assert entry["checksums"] == {
            "gff3": served.gff3_sha256,
            "fasta": served.fasta_sha256,
            "fai": served.fai_sha256,
        }
        for kind, relpath in listed["paths"].items():
            assert sha256_file(sample_release.root / relpath) == entry["checksums"][kind]


def test_rollback_policy_and_what_it_requires(sample_release: SampleRelease) -> None:
    policy = load(sample_release, "ops/datasets/rollback-policy.json")
    assert policy == {
        "schema_version": 1,
        "strategy": "manifest-lock-pointer",
        "rollback_steps": [
            "select_previous_dataset_id",
            "validate_manifest_lock_integrity",
            "publish_previous_pointer_without_mutating_old_artifacts",
        ],
        "requires": ["manifest.lock", "promotion-rules", "dataset-index"],
        "max_rollback_depth": 2,
    }
    rules = load(sample_release, "ops/datasets/promotion-rules.json")
    assert rules["manifest_lock"] == "ops/datasets/manifest.lock"
    assert load(sample_release, "ops/observe/readiness.json")["status"] == "ready"


def test_runtime_config_is_allowlisted_and_carries_the_release_identity(sample_release: SampleRelease) -> None:
    env = read_env_file(sample_release.config_file)
    assert unknown_names(env) == []
    assert env["ATLAS_RELEASE_ID"] == sample_release.release_id
    assert env["ATLAS_GOVERNANCE_VERSION"] == sample_release.governance_version
    assert env["ATLAS_LOG_JSON"] == "true"
    assert env["ATLAS_READINESS_REQUIRES_CATALOG"] == "true"
    assert not {"ATLAS_BIND", "ATLAS_STORE_ROOT", "ATLAS_CACHE_ROOT"} & set(env)


def test_release_paths_are_relative_to_out(sample_release: SampleRelease) -> None:
    texts = [path.read_text() for path in (sample_release.root / "ops").rglob("*.json")]
    assert all(str(sample_release.root) not in text for text in texts)
    assert not any(Path(item["path"]).is_absolute() for item in load(sample_release, PACKET)["items"])


PACKET = "ops/release/packet/packet.json"
