"""The rules of Atlas's `ops evidence verify` that go beyond digests: what the evidence tarball must hold, which
listed assets must exist, and what the evidence policy demands of the manifest.

Read from `crates/bijux-dev-atlas/src/application/ops/execution_runtime_mod/install_status_parts/
evidence_commands.rs` (`run_ops_evidence_verify`) at 09b857200c15. When the tarball is absent Atlas skips every
membership rule, and so does this module; the chain's own bundle check reports the missing tarball.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from atlas_drills.evidence.links import blocked, exists_link, field, link, tarball_link, text
from atlas_drills.evidence.paths import BUNDLE, EVIDENCE_MANIFEST, EVIDENCE_POLICY
from atlas_drills.evidence.release_dir import ReleaseDir
from atlas_drills.findings import Finding

# Lists of plain paths: each must exist; those marked True must also be in the tarball.
LISTED_ASSETS: Final = {
    "reports": False,
    "simulation_summaries": False,
    "drill_summaries": False,
    "redacted_logs": True,
    "observability_assets": True,
    "perf_assets": True,
    "dataset_assets": True,
}
PROD_PROFILES: Final = ("prod-minimal", "prod-ha", "prod-airgap")


def _bundled_pairs(doc: Any) -> Iterator[tuple[str, Any]]:
    """(location, path) of every {path, sha256} object Atlas requires the tarball to hold."""
    supply = field(doc, "supply_chain")
    docs = field(supply, "docs_toolchain_inventory")
    for index, row in enumerate(docs if isinstance(docs, list) else []):
        yield f"supply_chain.docs_toolchain_inventory[{index}]", field(row, "path")
    yield "supply_chain.action_pins_report", field(field(supply, "action_pins_report"), "path")
    for key in ("auth_model", "access_policy"):
        yield f"auth_policy.{key}", field(field(field(doc, "auth_policy"), key), "path")
    for section in ("audit_assets", "governance_assets", "ops_evidence"):
        rows = field(doc, section)
        for name, row in sorted(rows.items()) if isinstance(rows, dict) else []:
            if name != "redaction_secret_keys":
                yield f"{section}.{name}", field(row, "path")
    sboms = field(doc, "sboms")
    for index, row in enumerate(sboms if isinstance(sboms, list) else []):
        yield f"sboms[{index}]", field(row, "path")


def check_verify_rules(release: ReleaseDir) -> list[Finding]:
    manifest = release.load_json(EVIDENCE_MANIFEST)
    if not manifest.ok:
        return [blocked("evidence manifest asset exists", EVIDENCE_MANIFEST, manifest.problem)]
    doc = manifest.value
    tarball_present = not release.is_absent(BUNDLE)
    findings = []
    for key, bundled in LISTED_ASSETS.items():
        paths = field(doc, key)
        for index, path in enumerate(paths if isinstance(paths, list) else []):
            where = f"{EVIDENCE_MANIFEST}: {key}[{index}]"
            findings.append(exists_link(release, "evidence manifest asset exists", path, where))
            if bundled and tarball_present:
                findings.append(tarball_link(release, "evidence tarball holds manifest asset", path, where))
    if tarball_present:
        for location, path in _bundled_pairs(doc):
            where = f"{EVIDENCE_MANIFEST}: {location}.path"
            if path is not None:
                findings.append(tarball_link(release, "evidence tarball holds manifest asset", path, where))
    return findings + _policy_rules(release, doc)


def _policy_rules(release: ReleaseDir, doc: Any) -> list[Finding]:
    """The evidence policy's demands on the manifest: SBOM formats it accepts, production images it requires."""
    policy = release.load_json(EVIDENCE_POLICY)
    if not policy.ok:
        return [blocked("sbom format accepted by the evidence policy", EVIDENCE_POLICY, policy.problem)]
    findings = []
    accepted = field(policy.value, "accepted_sbom_formats")
    accepted = [a for a in accepted if isinstance(a, str)] if isinstance(accepted, list) else []
    sboms = field(doc, "sboms")
    for index, row in enumerate(sboms if isinstance(sboms, list) else []):
        fmt = field(row, "format")
        ok = not accepted or fmt in accepted  # Atlas: an empty list accepts any format
        where = f"{EVIDENCE_MANIFEST}: sboms[{index}].format"
        findings.append(link("sbom format accepted by the evidence policy", ok, sorted(accepted), text(fmt), where))
    if field(policy.value, "require_prod_image_artifacts") is True:
        images = field(doc, "image_artifacts")
        profiles = sorted({str(field(i, "profile")) for i in images} if isinstance(images, list) else set())
        ok = any(profile in PROD_PROFILES for profile in profiles)
        findings.append(
            link(
                "production image artifacts present as the evidence policy requires",
                ok,
                {"any of": list(PROD_PROFILES)},
                profiles,
                f"{EVIDENCE_MANIFEST}: image_artifacts",
                "" if ok else f"{EVIDENCE_POLICY} sets require_prod_image_artifacts and no image has a prod profile",
            )
        )
    return findings
