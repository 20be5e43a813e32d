"""Where Atlas keeps its release files, relative to the release folder (contract 4), and which schema checks each."""

from __future__ import annotations

from typing import Final

EVIDENCE_ROOT: Final = "ops/release/evidence"
IDENTITY: Final = f"{EVIDENCE_ROOT}/identity.json"
EVIDENCE_MANIFEST: Final = f"{EVIDENCE_ROOT}/manifest.json"
EVIDENCE_POLICY: Final = f"{EVIDENCE_ROOT}/policy.json"
BUNDLE: Final = f"{EVIDENCE_ROOT}/bundle.tar"
PROVENANCE: Final = "ops/release/provenance.json"
CHECKSUMS: Final = "ops/release/signing/checksums.json"
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

# Every release file the evidence check schema-validates, in chain order, with its schema in ops/schema/release/.
RELEASE_FILES: Final = (
    (IDENTITY, "identity.schema.json"),
    (PROVENANCE, "provenance.schema.json"),
    (EVIDENCE_MANIFEST, "evidence-manifest.schema.json"),
    (EVIDENCE_POLICY, "evidence-policy.schema.json"),
    (PACKET, "packet.schema.json"),
    (CHECKSUMS, "checksum-list.schema.json"),
    (ROLLBACK_POLICY, "rollback-policy.schema.json"),
    (DATASETS_MANIFEST, "datasets-manifest.schema.json"),
    (DATASETS_LOCK, "datasets-manifest-lock.schema.json"),
    (PROMOTION_RULES, "promotion-rules.schema.json"),
    (DATASET_INDEX, "dataset-index.schema.json"),
    (OBSERVE_READINESS, "readiness.schema.json"),
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
