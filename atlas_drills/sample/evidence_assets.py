"""The supporting files the sample's evidence manifest names, in the shapes Atlas's `ops evidence collect` writes.

Atlas's evidence manifest (schema_version 2) names, by `{path, sha256}`, the run's ops evidence reports, audit and
governance assets, and the supply-chain inventories. Atlas keeps the generated ones under `artifacts/`, which
travels inside the evidence tarball; the sample does the same. Each file here is small and says it is synthetic:
it exists so that every link of the chain has real bytes to check, not to imitate Atlas's reports.
"""

from __future__ import annotations

from typing import Final

from atlas_drills import TOOL_NAME, __version__
from atlas_drills.sample.files import pretty_json

OPS_EVIDENCE_KEYS: Final = (
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
AUDIT_ASSET_KEYS: Final = ("schema", "retention_policy", "sample_log", "verification_report", "log_field_inventory")
GOVERNANCE_ASSET_KEYS: Final = (
    "exceptions_registry",
    "exceptions_archive",
    "exceptions_summary",
    "exceptions_expiry_warning",
    "exceptions_churn",
    "deprecations_summary",
    "compat_warnings",
    "breaking_changes",
    "governance_doctor",
    "institutional_delta",
    "institutional_delta_inputs",
)
ACTION_PINS_REPORT: Final = "artifacts/security/action-pins.json"
# Atlas lists at least three docs/toolchain lock files; the sample lists what built it.
DOCS_TOOLCHAIN: Final = (
    "artifacts/supply-chain/python-runtime.json",
    "artifacts/supply-chain/atlas-drills.json",
    "artifacts/supply-chain/build-inputs.json",
)
PERF_BUDGET: Final = "artifacts/perf/query-budget.json"


def _dashed(key: str) -> str:
    return key.replace("_", "-")


def ops_evidence_member(key: str) -> str:
    return f"artifacts/ops/{_dashed(key)}.json"


def audit_member(key: str) -> str:
    return f"artifacts/security/audit-{_dashed(key)}.json"


def governance_member(key: str) -> str:
    return f"artifacts/governance/{_dashed(key)}.json"


def _report(kind: str, **fields: object) -> bytes:
    return pretty_json({"schema_version": 1, "kind": kind, "generated_by": f"{TOOL_NAME} sample build", **fields})


def asset_members(dataset_count: int) -> dict[str, bytes]:
    """Every supporting member of the evidence tarball, by member name."""
    members = {ops_evidence_member(key): _report(key, status="ok") for key in OPS_EVIDENCE_KEYS}
    members |= {audit_member(key): _report(f"audit {key}", status="ok") for key in AUDIT_ASSET_KEYS}
    members |= {governance_member(key): _report(f"governance {key}", items=[]) for key in GOVERNANCE_ASSET_KEYS}
    members[ACTION_PINS_REPORT] = _report("action pins", unpinned=[])
    members[DOCS_TOOLCHAIN[0]] = _report("python runtime requirements", source="pyproject.toml")
    members[DOCS_TOOLCHAIN[1]] = _report("tool", name=TOOL_NAME, version=__version__)
    members[DOCS_TOOLCHAIN[2]] = _report("build inputs", datasets=dataset_count, synthetic=True)
    members[PERF_BUDGET] = _report("query budget", p99_ms=800)
    return members
