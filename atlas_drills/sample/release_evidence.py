"""Release evidence under `ops/release/`: identity, provenance, evidence manifest and bundle, signing ledger, packet.

The files reference each other as Atlas's do (contract 4.8), and are written in dependency order so every
`{path, sha256}` pair is the digest of the bytes already on disk:

    bundle.tar, chart, SBOMs, policy, identity -> provenance -> evidence manifest
    -> signing/checksums.json -> release-sign.json -> release-verify.json -> packet.json

As in Atlas, the evidence carries the datasets' *input* digests (ingest plan, ops/datasets/manifest.lock), never
the digests of served artifacts: a backup must record those itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from atlas_drills import TOOL_NAME, __version__
from atlas_drills.atlas_settings import ALLOWED_ENV
from atlas_drills.sample.config import ReleaseIdentity
from atlas_drills.sample.files import ReleaseTree, pretty_json
from atlas_drills.sample.ops_datasets import DATASETS_LOCK, DATASETS_MANIFEST, ServedDataset
from atlas_drills.sample.reproducible import gzip_bytes, tar_bytes
from atlas_drills.store.canonical import sha256_hex
from atlas_drills.store.dataset_id import DatasetId

EVIDENCE = "ops/release/evidence"
IDENTITY = f"{EVIDENCE}/identity.json"
EVIDENCE_MANIFEST = f"{EVIDENCE}/manifest.json"
EVIDENCE_POLICY = f"{EVIDENCE}/policy.json"
BUNDLE = f"{EVIDENCE}/bundle.tar"
CHART_VERSION = "0.2.0"
CHART = f"{EVIDENCE}/packages/bijux-atlas-{CHART_VERSION}.tgz"
SBOM = f"{EVIDENCE}/sboms/bijux-atlas-runtime.spdx.json"
INDEX_HTML = f"{EVIDENCE}/index.html"
TOOLCHAIN = f"{EVIDENCE}/toolchain.json"
ENV_ALLOWLIST = f"{EVIDENCE}/runtime-env-allowlist.json"
IMAGE_SOURCE = f"{EVIDENCE}/images/runtime.json"
PROVENANCE = "ops/release/provenance.json"
SIGNING = "ops/release/signing"
CHECKSUMS = f"{SIGNING}/checksums.json"
SIGNING_POLICY = f"{SIGNING}/policy.yaml"
RELEASE_SIGN = f"{SIGNING}/release-sign.json"
RELEASE_VERIFY = f"{SIGNING}/release-verify.json"
PACKET = "ops/release/packet/packet.json"

INGEST_PLAN = "artifacts/ingest/ingest-plan.json"
INGEST_RUN = "artifacts/ingest/ingest-run.json"
INGEST_QUERY = "artifacts/ingest/endtoend-ingest-query.json"
OPS_EVIDENCE_KEYS = (
    "install_evidence",
    "render_evidence",
    "validate_evidence",
    "install_matrix_report",
    "render_matrix_report",
    "schema_coverage_report",
    "network_policy_coverage_report",
    "rbac_coverage_report",
    "inventory_snapshot",
    "tool_versions",
)
REDACTION_SECRET_KEYS = ("password", "secret", "token", "api_key")
GENERATED_BY = f"{TOOL_NAME} sample build"


@dataclass(frozen=True)
class EvidenceInputs:
    identity: ReleaseIdentity
    served: list[ServedDataset]
    current: DatasetId
    current_gene_id: str  # a real gene of the current dataset, for the end-to-end query record


def toolchain_inventory() -> dict[str, object]:
    return {"schema_version": 1, "tools": {TOOL_NAME: __version__}, "synthetic": True}


def write_release_evidence(tree: ReleaseTree, inputs: EvidenceInputs) -> None:
    identity = inputs.identity
    _write_static_evidence(tree)
    tree.write_json(
        IDENTITY,
        {
            "schema_version": 1,
            "release_id": identity.release_id,
            "git_sha": identity.git_sha,
            "governance_version": identity.governance_version,
        },
    )
    bundle = _bundle_members(inputs)
    tree.write(BUNDLE, tar_bytes(bundle))
    tree.write_json(
        PROVENANCE,
        {
            "schema_version": 1,
            "generated_by": GENERATED_BY,
            "release_id": identity.release_id,
            "git_sha": identity.git_sha,
            "governance_version": identity.governance_version,
            "toolchain_inventory": TOOLCHAIN,
            "signing_policy_path": SIGNING_POLICY,
            "evidence_manifest_path": EVIDENCE_MANIFEST,
            "checksum_list_path": CHECKSUMS,
        },
    )
    tree.write_json(EVIDENCE_MANIFEST, _evidence_manifest(tree))
    _write_signing(tree, bundle)
    _write_packet(tree, bundle)


def _write_static_evidence(tree: ReleaseTree) -> None:
    """The release's supporting files: chart package, SBOM, policy, index, toolchain, env allowlist."""
    chart_yaml = f"apiVersion: v2\nname: bijux-atlas\nversion: {CHART_VERSION}\nappVersion: {CHART_VERSION}\n"
    values_yaml = "server:\n  readinessProbePath: /readyz\n  livenessProbePath: /healthz\n"
    chart = tar_bytes({"bijux-atlas/Chart.yaml": chart_yaml.encode(), "bijux-atlas/values.yaml": values_yaml.encode()})
    tree.write(CHART, gzip_bytes(chart))
    tree.write_json(
        SBOM,
        {
            "spdxVersion": "SPDX-2.3",
            "dataLicense": "CC0-1.0",
            "SPDXID": "SPDXRef-DOCUMENT",
            "name": f"bijux-atlas-runtime-{CHART_VERSION}",
            "packages": [{"SPDXID": "SPDXRef-bijux-atlas", "name": "bijux-atlas", "versionInfo": CHART_VERSION}],
        },
    )
    tree.write_json(
        EVIDENCE_POLICY,
        {
            "schema_version": 1,
            "required_paths": [IDENTITY, EVIDENCE_MANIFEST, f"{EVIDENCE}/packages/", f"{EVIDENCE}/sboms/", INDEX_HTML],
            "cve_budget": {"max_critical": 0, "max_high": 0},
        },
    )
    tree.write(
        INDEX_HTML,
        b"<!doctype html>\n<title>Release evidence</title>\n<h1>Release evidence (synthetic sample)</h1>\n"
        b'<p>See <a href="manifest.json">manifest.json</a> and <a href="identity.json">identity.json</a>.</p>\n',
    )
    tree.write_json(TOOLCHAIN, toolchain_inventory())
    tree.write_json(ENV_ALLOWLIST, {"schema_version": 1, "allowed": sorted(ALLOWED_ENV)})
    tree.write_json(IMAGE_SOURCE, {"schema_version": 1, "image": "bijux-atlas", "profile": "runtime"})


def _bundle_members(inputs: EvidenceInputs) -> dict[str, bytes]:
    """`bundle.tar`: ingest evidence (input digests per dataset) and the ops evidence reports."""
    ids = [s.manifest.dataset.canonical for s in inputs.served]
    current = inputs.current
    members = {
        INGEST_PLAN: pretty_json(
            {
                "schema_version": 1,
                "datasets": [{"id": s.manifest.dataset.canonical, "inputs": s.input_paths} for s in inputs.served],
                "verify_expected_hashes": {
                    "checksums": {s.manifest.dataset.canonical: s.input_checksums for s in inputs.served}
                },
            }
        ),
        INGEST_RUN: pretty_json({"schema_version": 1, "status": "ok", "dataset_ids": ids}),
        INGEST_QUERY: pretty_json(
            {
                "schema_version": 1,
                "query": f"/v1/genes?release={current.release}&species={current.species}"
                f"&assembly={current.assembly}&gene_id={inputs.current_gene_id}&limit=1",
                "expected": {"gene_id": inputs.current_gene_id, "count": 1},
            }
        ),
    }
    for key in OPS_EVIDENCE_KEYS:
        members[f"artifacts/ops/{key.replace('_', '-')}.json"] = pretty_json({"schema_version": 1, "status": "ok"})
    return members


def _evidence_manifest(tree: ReleaseTree) -> dict[str, object]:
    """Every key the evidence-manifest schema requires (contract 4.3)."""
    return {
        "schema_version": 2,
        "generated_by": GENERATED_BY,
        "identity_path": IDENTITY,
        "policy_path": EVIDENCE_POLICY,
        "provenance": tree.path_sha(PROVENANCE),
        "chart_package": tree.path_sha(CHART),
        "image_artifacts": [{"source_path": IMAGE_SOURCE, "profile": "runtime", "repository": "bijux-atlas"}],
        "docker_bases_lock": IMAGE_SOURCE,
        "toolchain_inventory": TOOLCHAIN,
        "auth_policy": EVIDENCE_POLICY,
        "supply_chain": {"sboms": f"{EVIDENCE}/sboms/", "checksums": CHECKSUMS},
        "docs_site_summary": {"site_dir": EVIDENCE, "file_count": 1, "sha256": tree.digests[INDEX_HTML]},
        "runtime_env_allowlist": ENV_ALLOWLIST,
        "sboms": [{"path": SBOM, "format": "spdx-json", "sha256": tree.digests[SBOM]}],
        "scan_reports": [],
        "audit_assets": [],
        "governance_assets": [],
        "reports": [],
        "simulation_summaries": [],
        "drill_summaries": [],
        "ops_evidence": {key: f"artifacts/ops/{key.replace('_', '-')}.json" for key in OPS_EVIDENCE_KEYS}
        | {"redaction_secret_keys": list(REDACTION_SECRET_KEYS)},
        "evidence_tarball": tree.path_sha(BUNDLE),
        "redacted_logs": [],
        "observability_assets": [],
        "perf_assets": [],
        "dataset_assets": [DATASETS_MANIFEST, DATASETS_LOCK, INGEST_PLAN, INGEST_RUN, INGEST_QUERY],
        "index_html": INDEX_HTML,
    }


def _write_signing(tree: ReleaseTree, bundle: dict[str, bytes]) -> None:
    """The signing ledger over the signed artifacts, a (digest-only) signature record, and its verification."""
    ledger = [
        ("evidence-manifest", EVIDENCE_MANIFEST, tree.digests[EVIDENCE_MANIFEST]),
        ("evidence-tarball", BUNDLE, tree.digests[BUNDLE]),
        ("identity", IDENTITY, tree.digests[IDENTITY]),
        ("provenance", PROVENANCE, tree.digests[PROVENANCE]),
        ("chart-package", CHART, tree.digests[CHART]),
        ("sbom", SBOM, tree.digests[SBOM]),
        ("evidence-policy", EVIDENCE_POLICY, tree.digests[EVIDENCE_POLICY]),
        ("dataset-manifest", DATASETS_MANIFEST, tree.digests[DATASETS_MANIFEST]),
        ("dataset-lock", DATASETS_LOCK, tree.digests[DATASETS_LOCK]),
        ("ingest-plan", INGEST_PLAN, sha256_hex(bundle[INGEST_PLAN])),
    ]
    items = [{"kind": kind, "path": path, "sha256": digest} for kind, path, digest in ledger]
    tree.write_json(CHECKSUMS, {"schema_version": 1, "generated_by": GENERATED_BY, "items": items})
    tree.write(
        SIGNING_POLICY,
        b"schema_version: 1\n"
        b"# The sample is not cryptographically signed: release-sign.json records the ledger digest only.\n"
        b"signing:\n  method: sha256-ledger\n  required: [checksums.json]\n",
    )
    tree.write_json(
        RELEASE_SIGN,
        {
            "schema_version": 1,
            "status": "ok",
            "method": "sha256-ledger",
            "checksum_list_path": CHECKSUMS,
            "checksum_list_sha256": tree.digests[CHECKSUMS],
        },
    )
    tree.write_json(
        RELEASE_VERIFY,
        {
            "schema_version": 1,
            "status": "ok",
            "errors": [],
            "verified_items": len(items),
            "contracts": {"REL-SIGN-001": True, "REL-VERIFY-001": True, "REL-VERIFY-002": True},
        },
    )


def _write_packet(tree: ReleaseTree, bundle: dict[str, bytes]) -> None:
    """The portable packet: every release file a receiver needs, with its digest."""
    required = [EVIDENCE_MANIFEST, IDENTITY, BUNDLE, CHECKSUMS, RELEASE_SIGN, RELEASE_VERIFY, PROVENANCE]
    on_disk = sorted(path for path in tree.digests if path.startswith(("ops/release/", "ops/datasets/")))
    items = [{"path": path, "sha256": tree.digests[path]} for path in on_disk]
    items += [{"path": name, "sha256": sha256_hex(bundle[name])} for name in (INGEST_PLAN, INGEST_RUN, INGEST_QUERY)]
    tree.write_json(
        PACKET,
        {
            "schema_version": 1,
            "generated_by": GENERATED_BY,
            "evidence_root": EVIDENCE,
            "required_minimum": required,
            "items": items,
            "contracts": {"REL-PACK-001": True},
        },
    )
