"""Where Atlas keeps its release files, relative to the release folder (contract 4), and which schema checks each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

EVIDENCE_ROOT: Final = "ops/release/evidence"
IDENTITY: Final = f"{EVIDENCE_ROOT}/identity.json"
EVIDENCE_MANIFEST: Final = f"{EVIDENCE_ROOT}/manifest.json"
EVIDENCE_POLICY: Final = f"{EVIDENCE_ROOT}/policy.json"
BUNDLE: Final = f"{EVIDENCE_ROOT}/bundle.tar"
PROVENANCE: Final = "ops/release/provenance.json"
CHECKSUMS: Final = "ops/release/signing/checksums.json"
RELEASE_SIGN: Final = "ops/release/signing/release-sign.json"
RELEASE_VERIFY: Final = "ops/release/signing/release-verify.json"
PACKET: Final = "ops/release/packet/packet.json"
DATASETS_MANIFEST: Final = "ops/datasets/manifest.json"
DATASETS_LOCK: Final = "ops/datasets/manifest.lock"
PROMOTION_RULES: Final = "ops/datasets/promotion-rules.json"
DATASET_INDEX: Final = "ops/datasets/generated/dataset-index.json"
ROLLBACK_POLICY: Final = "ops/datasets/rollback-policy.json"
OBSERVE_READINESS: Final = "ops/observe/readiness.json"

# Paths under this prefix live inside the evidence tarball, not in the release folder (contract 4.3).
BUNDLE_PREFIX: Final = "artifacts/"

# Where a release ships the JSON Schemas of its own files. Atlas pairs each file with its schema in these ways, all
# read from its source at 09b857200c15: the authored inventory map `ops/inventory/contracts-map.json` (path ->
# schema; read from DIR at check time, see CONTRACTS_MAP), schemas kept beside the evidence they describe
# (`ops/release/evidence/*.schema.json`; `release.rs` `run_release_verify` reads manifest.schema.json for the
# evidence manifest), and the release-contract schemas `configs/schemas/contracts/release/*` that `release.rs`
# loads for `release sign`, `release verify` and `release packet`. The dataset governance files are paired with
# `ops/schema/datasets/<name>.schema.json` by name (`ops/schema/generated/schema-index.json` lists them; dev-atlas
# requires each to exist in `checks_ops_schema_presence`).
CONTRACTS_MAP: Final = "ops/inventory/contracts-map.json"
_RELEASE_CONTRACTS: Final = "configs/schemas/contracts/release"


@dataclass(frozen=True)
class ReleaseFile:
    """A release file the evidence check schema-validates: the schema Atlas pairs with it in the release, and the
    suite's own schema (ops/schema/release/) used only when the release ships none."""

    relpath: str
    own_schema: str
    shipped_schema: str


# Every release file the evidence check schema-validates, in chain order.
RELEASE_FILES: Final = (
    ReleaseFile(IDENTITY, "identity.schema.json", f"{EVIDENCE_ROOT}/identity.schema.json"),
    ReleaseFile(PROVENANCE, "provenance.schema.json", f"{_RELEASE_CONTRACTS}/provenance.schema.json"),
    ReleaseFile(EVIDENCE_MANIFEST, "evidence-manifest.schema.json", f"{EVIDENCE_ROOT}/manifest.schema.json"),
    ReleaseFile(EVIDENCE_POLICY, "evidence-policy.schema.json", f"{EVIDENCE_ROOT}/policy.schema.json"),
    ReleaseFile(PACKET, "packet.schema.json", f"{_RELEASE_CONTRACTS}/packet-list.schema.json"),
    ReleaseFile(CHECKSUMS, "checksum-list.schema.json", f"{_RELEASE_CONTRACTS}/checksum-list.schema.json"),
    ReleaseFile(RELEASE_SIGN, "release-sign.schema.json", f"{_RELEASE_CONTRACTS}/release-sign.schema.json"),
    ReleaseFile(RELEASE_VERIFY, "release-verify.schema.json", f"{_RELEASE_CONTRACTS}/release-verify.schema.json"),
    ReleaseFile(ROLLBACK_POLICY, "rollback-policy.schema.json", "ops/schema/datasets/rollback-policy.schema.json"),
    ReleaseFile(DATASETS_MANIFEST, "datasets-manifest.schema.json", "ops/schema/datasets/manifest.schema.json"),
    ReleaseFile(DATASETS_LOCK, "datasets-manifest-lock.schema.json", "ops/schema/datasets/manifest-lock.schema.json"),
    ReleaseFile(PROMOTION_RULES, "promotion-rules.schema.json", "ops/schema/datasets/promotion-rules.schema.json"),
    ReleaseFile(DATASET_INDEX, "dataset-index.schema.json", "ops/schema/datasets/dataset-index.schema.json"),
    ReleaseFile(OBSERVE_READINESS, "readiness.schema.json", "ops/schema/observe/readiness.schema.json"),
)

# rollback-policy.json `requires` names -> the file each one means (contract 4.5).
ROLLBACK_REQUIREMENTS: Final = {
    "manifest.lock": DATASETS_LOCK,
    "promotion-rules": PROMOTION_RULES,
    "dataset-index": DATASET_INDEX,
}
ROLLBACK_STRATEGY: Final = "manifest-lock-pointer"
ROLLBACK_STEPS: Final = (
    "select_previous_dataset_id",
    "validate_manifest_lock_integrity",
    "publish_previous_pointer_without_mutating_old_artifacts",
)
RELEASE_ID_PREFIX: Final = "ops_run-"
RELEASE_ID_SHA_DIGITS: Final = 12
