"""Release evidence under `ops/release/`: identity, provenance, evidence manifest and bundle, signing ledger, packet.

The files reference each other as Atlas's do (contract 4.8), and are written in dependency order so every
`{path, sha256}` pair is the digest of the bytes already on disk:

    chart, SBOMs, policy, identity -> provenance -> evidence manifest (without its tarball and index digests)
    -> bundle.tar (holding that manifest and every path the policy requires) -> evidence manifest (final)
    -> signing/checksums.json -> release-sign.json -> release-verify.json -> packet.json

That is the order of Atlas's `ops evidence collect`, and every file has the shape Atlas's own schemas for it ask
(`ops/release/evidence/*.schema.json`, `configs/schemas/contracts/release/*.schema.json`).

As in Atlas, the evidence carries the datasets' *input* digests (ingest plan, ops/datasets/manifest.lock), never
the digests of served artifacts: a backup must record those itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from atlas_drills import TOOL_NAME, __version__
from atlas_drills.atlas_settings import ALLOWED_ENV
from atlas_drills.sample import evidence_assets as assets
from atlas_drills.sample.config import ReleaseIdentity
from atlas_drills.sample.files import ReleaseTree, pretty_json
from atlas_drills.sample.ops_datasets import DATASETS_LOCK, DATASETS_MANIFEST, OBSERVE_READINESS, ServedDataset
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
DOCKER_BASES = f"{EVIDENCE}/images/bases.lock"
AUTH_MODEL = f"{EVIDENCE}/security/auth-model.yaml"
ACCESS_POLICY = f"{EVIDENCE}/security/access-policy.yaml"
# The evidence policy's required paths, as Atlas writes them: files and folders, no trailing slash.
REQUIRED_PATHS = (IDENTITY, EVIDENCE_MANIFEST, f"{EVIDENCE}/packages", f"{EVIDENCE}/sboms", INDEX_HTML)
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
REDACTION_SECRET_KEYS = ("password", "secret", "token", "api_key")
# The contracts Atlas's `release sign` and `release verify` report (release.rs), each true for the sample.
SIGN_CONTRACTS = ("REL-SIGN-001", "REL-SIGN-002", "REL-SIGN-003", "REL-SIGN-006")
VERIFY_CONTRACTS = (
    "REL-SIGN-001",
    "REL-SIGN-002",
    "REL-SIGN-003",
    "REL-SIGN-004",
    "REL-SIGN-005",
    "REL-SIGN-006",
    "REL-TAR-001",
    "REL-MAN-001",
    "REL-PROV-001",
)
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
    artifacts = _artifact_members(inputs)
    manifest = _evidence_manifest(tree, artifacts)
    tree.write_json(EVIDENCE_MANIFEST, manifest)
    # As Atlas does: the tarball carries the manifest as first written, every path the policy requires and every
    # file the manifest names that Atlas's `ops evidence verify` looks for in it; the manifest is then rewritten
    # with the tarball's digest and the index page.
    on_disk = {path: (tree.root / path).read_bytes() for path in _bundled_files(tree)}
    tree.write(BUNDLE, tar_bytes(artifacts | on_disk))
    tree.write_json(
        EVIDENCE_MANIFEST,
        manifest | {"index_html": tree.path_sha(INDEX_HTML), "evidence_tarball": tree.path_sha(BUNDLE)},
    )
    _write_signing(tree, artifacts)
    _write_packet(tree, artifacts)


def _bundled_files(tree: ReleaseTree) -> list[str]:
    """Every file under the policy's required paths (a folder stands for the files in it), and the files outside
    `artifacts/` the manifest names in the sections whose paths Atlas wants in the tarball."""
    required = {
        path for path in tree.digests if any(path == req or path.startswith(f"{req}/") for req in REQUIRED_PATHS)
    }
    named = {AUTH_MODEL, ACCESS_POLICY, SBOM, OBSERVE_READINESS, DATASETS_MANIFEST, DATASETS_LOCK}
    return sorted(required | named)


def _write_static_evidence(tree: ReleaseTree) -> None:
    """The release's supporting files: chart package, SBOM, policy, index, toolchain, env allowlist, auth."""
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
            "required_paths": list(REQUIRED_PATHS),
            # The sample has one runtime image, no production profiles: it must not claim them.
            "require_prod_image_artifacts": False,
            "accepted_sbom_formats": ["spdx-json", "cyclonedx-json"],
            "accepted_scan_report_formats": ["json", "sarif"],
            "cve_budget": {"max_critical": 0, "max_high": 0},
            "cve_overrides": [],
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
    tree.write_json(DOCKER_BASES, {"schema_version": 1, "bases": {}, "synthetic": True})
    # Matches the sample's runtime configuration (ATLAS_AUTH_MODE=disabled).
    tree.write(AUTH_MODEL, b"schema_version: 1\nmode: disabled\n")
    tree.write(ACCESS_POLICY, b"schema_version: 1\ndefault: deny\nallow: []\n")


def _artifact_members(inputs: EvidenceInputs) -> dict[str, bytes]:
    """The `artifacts/` members of `bundle.tar`: ingest evidence (input digests per dataset) and the ops, audit,
    governance and supply-chain reports the evidence manifest names."""
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
    return members | assets.asset_members(len(ids))


def _member_sha(artifacts: dict[str, bytes], name: str) -> dict[str, str]:
    return {"path": name, "sha256": sha256_hex(artifacts[name])}


def _evidence_manifest(tree: ReleaseTree, artifacts: dict[str, bytes]) -> dict[str, object]:
    """Every key Atlas's evidence-manifest schema requires but the two added once the tarball exists
    (`evidence_tarball`, `index_html`), in the shapes Atlas writes (contract 4.3)."""

    def named(keys: tuple[str, ...], member: Callable[[str], str]) -> dict[str, object]:
        return {key: _member_sha(artifacts, member(key)) for key in keys}

    return {
        "schema_version": 2,
        "generated_by": GENERATED_BY,
        "identity_path": IDENTITY,
        "policy_path": EVIDENCE_POLICY,
        "provenance": tree.path_sha(PROVENANCE),
        "chart_package": tree.path_sha(CHART),
        "image_artifacts": [{"source_path": IMAGE_SOURCE, "profile": "runtime", "repository": "bijux-atlas"}],
        "docker_bases_lock": tree.path_sha(DOCKER_BASES),
        "toolchain_inventory": tree.path_sha(TOOLCHAIN),
        "auth_policy": {"auth_model": tree.path_sha(AUTH_MODEL), "access_policy": tree.path_sha(ACCESS_POLICY)},
        "supply_chain": {
            "action_pins_report": _member_sha(artifacts, assets.ACTION_PINS_REPORT),
            "docs_toolchain_inventory": [_member_sha(artifacts, name) for name in assets.DOCS_TOOLCHAIN],
        },
        "docs_site_summary": {"site_dir": EVIDENCE, "file_count": 1, "sha256": tree.digests[INDEX_HTML]},
        "runtime_env_allowlist": tree.path_sha(ENV_ALLOWLIST),
        "sboms": [{"path": SBOM, "format": "spdx-json", "sha256": tree.digests[SBOM]}],
        "scan_reports": [],
        "audit_assets": named(assets.AUDIT_ASSET_KEYS, assets.audit_member),
        "governance_assets": named(assets.GOVERNANCE_ASSET_KEYS, assets.governance_member),
        "reports": [],
        "simulation_summaries": [],
        "drill_summaries": [],
        "ops_evidence": named(assets.OPS_EVIDENCE_KEYS, assets.ops_evidence_member)
        | {"redaction_secret_keys": list(REDACTION_SECRET_KEYS)},
        "redacted_logs": [],
        "observability_assets": [OBSERVE_READINESS],
        "perf_assets": [assets.PERF_BUDGET],
        "dataset_assets": [DATASETS_MANIFEST, DATASETS_LOCK, INGEST_PLAN, INGEST_RUN, INGEST_QUERY],
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
            "policy_path": SIGNING_POLICY,
            "checksums_path": CHECKSUMS,
            "provenance_path": PROVENANCE,
            "signed_items": items,
            "verification_command": f"{TOOL_NAME} evidence check .",
            "mechanism": "sha256-ledger",
            "contracts": dict.fromkeys(SIGN_CONTRACTS, True),
            "errors": [],
        },
    )
    tree.write_json(
        RELEASE_VERIFY,
        {
            "schema_version": 1,
            "status": "ok",
            "evidence_tarball": BUNDLE,
            "checksums_path": CHECKSUMS,
            "contracts": dict.fromkeys(VERIFY_CONTRACTS, True),
            "errors": [],
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
