"""`check_release_evidence`: the whole release evidence chain of a release folder, one finding per link."""

from __future__ import annotations

from pathlib import Path

from atlas_drills.evidence.chain import (
    check_bundle,
    check_evidence_manifest,
    check_identity,
    check_ledger,
    check_packet,
    check_policy,
    check_provenance,
    check_release_verify,
)
from atlas_drills.evidence.datasets import check_datasets
from atlas_drills.evidence.release_dir import ReleaseDir
from atlas_drills.evidence.schemas import validate_in
from atlas_drills.evidence.verify_rules import check_verify_rules
from atlas_drills.findings import Finding
from atlas_drills.store.recorded import RecordedDigests


def check_release_evidence(root: Path, recorded: RecordedDigests | None = None) -> list[Finding]:
    """Every link of the release evidence chain under `root` (the folder holding `ops/`), passed ones too.

    Order: schema validation of each release file (against the schema the release ships, else the suite's own),
    then identity <-> provenance, provenance -> evidence manifest, the evidence manifest's digests and paths, the
    evidence policy's required paths, Atlas's `ops evidence verify` rules (what the tarball holds, which assets
    exist, what the policy demands), the evidence tarball, the packet, the signing ledger, release verification,
    and the dataset governance files. Never raises on hostile content: a missing file, bad JSON, a path escaping
    `root` or an unsafe tarball member is a failed finding.

    `recorded`: the digests a restore verified for the files under `root`; a file's digest is then looked up, not
    read (see `ReleaseDir.digest`).
    """
    release = ReleaseDir(root, recorded)
    return [
        *validate_in(release),
        *check_identity(release),
        *check_provenance(release),
        *check_evidence_manifest(release),
        *check_policy(release),
        *check_verify_rules(release),
        *check_bundle(release),
        *check_packet(release),
        *check_ledger(release),
        *check_release_verify(release),
        *check_datasets(release),
    ]
