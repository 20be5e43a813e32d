"""Dataset governance and runtime files: `ops/datasets/*`, `ops/observe/readiness.json`, `config/atlas.env`.

These are what the rollback-policy criterion reads: the policy, the three things it `requires` (manifest.lock,
promotion rules, dataset index) and the dataset inventory they refer to.
"""

from __future__ import annotations

from dataclasses import dataclass

from atlas_drills.runtime_config import render_env, unknown_names
from atlas_drills.sample.config import ReleaseIdentity
from atlas_drills.sample.dataset_build import INPUTS_DIR
from atlas_drills.sample.files import ReleaseTree
from atlas_drills.sample.genome import FAI_FILE, FASTA_FILE, GFF3_FILE
from atlas_drills.store.manifest import ArtifactManifest

DATASETS_MANIFEST = "ops/datasets/manifest.json"
DATASETS_LOCK = "ops/datasets/manifest.lock"
PROMOTION_RULES = "ops/datasets/promotion-rules.json"
DATASET_INDEX = "ops/datasets/generated/dataset-index.json"
ROLLBACK_POLICY = "ops/datasets/rollback-policy.json"
OBSERVE_READINESS = "ops/observe/readiness.json"
PINS = "ops/inventory/pins.yaml"
PROMOTION_ENVIRONMENTS = ("dev", "ci", "prod")
RUNTIME_CONFIG = "config/atlas.env"

ROLLBACK_STEPS = (
    "select_previous_dataset_id",
    "validate_manifest_lock_integrity",
    "publish_previous_pointer_without_mutating_old_artifacts",
)
ROLLBACK_REQUIRES = ("manifest.lock", "promotion-rules", "dataset-index")

# Runtime settings of the sample. Bind address, store root and cache root are the sandbox's to set, never ours.
RUNTIME_SETTINGS = {
    "ATLAS_ENV": "dev",
    "ATLAS_LOG_JSON": "true",
    "ATLAS_LOG_LEVEL": "info",
    "ATLAS_READINESS_REQUIRES_CATALOG": "true",
    "ATLAS_CACHED_ONLY_MODE": "false",
    "ATLAS_ENABLE_METRICS_ENDPOINT": "true",
    "ATLAS_AUTH_MODE": "disabled",
    # /debug/build-metadata is where the served release identity can be read back; it needs both switches.
    "ATLAS_ENABLE_ADMIN_ENDPOINTS": "true",
    "ATLAS_ENABLE_DEBUG_DATASETS": "true",
}


@dataclass(frozen=True)
class ServedDataset:
    """A published dataset as the ops files describe it: name, id, raw input paths and their digests."""

    manifest: ArtifactManifest

    @property
    def name(self) -> str:
        d = self.manifest.dataset
        return f"{d.species}-{d.release}-{d.assembly}".lower().replace(".", "_")

    @property
    def input_paths(self) -> dict[str, str]:
        directory = f"{INPUTS_DIR}/{self.manifest.dataset.directory}"
        return {
            "gff3": f"{directory}/{GFF3_FILE}",
            "fasta": f"{directory}/{FASTA_FILE}",
            "fai": f"{directory}/{FAI_FILE}",
        }

    @property
    def input_checksums(self) -> dict[str, str]:
        c = self.manifest.checksums
        return {"gff3": c.gff3_sha256, "fasta": c.fasta_sha256, "fai": c.fai_sha256}


def write_dataset_governance(tree: ReleaseTree, served: list[ServedDataset], rollback_depth: int) -> None:
    """`ops/datasets/*`: inventory, lock, promotion rules, generated index, rollback policy; and the pins the
    promotion rules read. Field names are Atlas's (`ops/schema/datasets/*.schema.json`)."""
    ordered = sorted(served, key=lambda s: s.manifest.dataset)
    ids = [s.manifest.dataset.canonical for s in ordered]
    tree.write_json(
        DATASETS_MANIFEST,
        {
            "schema_version": 1,
            "datasets": [
                {"name": s.name, "id": s.manifest.dataset.canonical, "kind": "fixture", "paths": s.input_paths}
                for s in ordered
            ],
        },
    )
    tree.write_json(
        DATASETS_LOCK,
        {
            "schema_version": 1,
            "entries": [
                {"name": s.name, "id": s.manifest.dataset.canonical, "checksums": s.input_checksums} for s in ordered
            ],
        },
    )
    tree.write_json(
        PROMOTION_RULES,
        {
            "schema_version": 1,
            "pins_source": PINS,
            "manifest_lock": DATASETS_LOCK,
            "environments": list(PROMOTION_ENVIRONMENTS),
            "rules": [
                "dataset_id_must_exist_in_manifest",
                "dataset_id_must_exist_in_pins",
                "promotion_is_append_only",
            ],
        },
    )
    tree.write(PINS, ("schema_version: 1\ndataset_ids:\n" + "".join(f'  - "{i}"\n' for i in ids)).encode())
    # No `generated_by` here: Atlas's dataset-index schema allows no key beyond these six.
    tree.write_json(
        DATASET_INDEX,
        {
            "schema_version": 1,
            "source_manifest": DATASETS_MANIFEST,
            "source_lock": DATASETS_LOCK,
            "dataset_ids": ids,
            "missing_dataset_ids": [],
            "stale_dataset_ids": [],
        },
    )
    tree.write_json(
        ROLLBACK_POLICY,
        {
            "schema_version": 1,
            "strategy": "manifest-lock-pointer",
            "rollback_steps": list(ROLLBACK_STEPS),
            "requires": list(ROLLBACK_REQUIRES),
            "max_rollback_depth": rollback_depth,
        },
    )


def write_observe_readiness(tree: ReleaseTree) -> None:
    """Observability-programme readiness (not runtime readiness: it has no link to /readyz)."""
    tree.write_json(
        OBSERVE_READINESS,
        {
            "schema_version": 1,
            "status": "ready",
            "requirements": ["slo-definitions", "alert-catalog", "telemetry-drills", "dashboard-index"],
        },
    )


def runtime_settings(identity: ReleaseIdentity) -> dict[str, str]:
    settings = dict(RUNTIME_SETTINGS)
    settings["ATLAS_RELEASE_ID"] = identity.release_id
    settings["ATLAS_GOVERNANCE_VERSION"] = identity.governance_version
    unknown = unknown_names(settings)
    if unknown:  # a sample Atlas would refuse to start on is a bug here, not a drill finding
        raise AssertionError(f"runtime settings outside Atlas's allowlist: {unknown}")
    return settings


def write_runtime_config(tree: ReleaseTree, identity: ReleaseIdentity) -> None:
    header = (
        "Atlas runtime configuration of the sample release (names from Atlas's env allowlist only).\n"
        "ATLAS_BIND, ATLAS_STORE_ROOT and ATLAS_CACHE_ROOT are left to the sandbox that serves it."
    )
    tree.write(RUNTIME_CONFIG, render_env(runtime_settings(identity), header).encode("utf-8"))
