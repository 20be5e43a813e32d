"""The evidence chain of a real sample release: whole when fresh, and each broken link named when edited."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

from atlas_drills.evidence import check_release_evidence
from atlas_drills.evidence.paths import (
    BUNDLE,
    CHECKSUMS,
    DATASET_INDEX,
    DATASETS_LOCK,
    DATASETS_MANIFEST,
    EVIDENCE_MANIFEST,
    IDENTITY,
    PACKET,
    PROMOTION_RULES,
    PROVENANCE,
    RELEASE_VERIFY,
    ROLLBACK_POLICY,
)
from atlas_drills.findings import Finding
from tests.evidence.conftest import flip_one_byte, read_json, write_json

DIGEST_CHECKS = {
    "provenance digest in evidence manifest",
    "evidence tarball digest in evidence manifest",
    "chart package digest in evidence manifest",
    "sbom digest in evidence manifest",
    "path digest in evidence manifest",
    "packet item digest",
    "signing ledger entry digest",
    "manifest.lock checksum matches input",
}


def failed(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if not f.ok]


def failed_checks(root: Path) -> set[tuple[str, str]]:
    return {(f.check, f.where) for f in failed(check_release_evidence(root))}


def test_a_fresh_sample_holds_every_link(release: Path) -> None:
    findings = check_release_evidence(release)
    assert failed(findings) == []
    assert {f.criterion for f in findings} == {"evidence"}
    checks = {f.check for f in findings}
    # The whole chain is reported, passed links included.
    assert DIGEST_CHECKS - {"path digest in evidence manifest"} <= checks
    assert {
        "provenance git_sha matches identity",
        "release_id derived from git_sha",
        "governance_version names git_sha",
        "provenance names the evidence manifest checked",
        "evidence manifest identity_path is the identity checked",
        "packet required_minimum present",
        "release verification passed",
        "manifest.lock matches the dataset inventory",
        "dataset index matches the dataset inventory",
        "promotion rules name the manifest lock",
        "rollback policy requirement resolves",
        "evidence tarball members are safe",
        "evidence policy required path present",
    } <= checks
    packet_items = read_json(release, PACKET)["items"]
    assert sum(f.check == "packet item digest" for f in findings) == len(packet_items)
    ledger_items = read_json(release, CHECKSUMS)["items"]
    assert sum(f.check == "signing ledger entry digest" for f in findings) == len(ledger_items)


def test_findings_survive_the_trip_to_the_report(release: Path) -> None:
    """Findings reach the report through xdist and JSON: what arrives must be what was recorded (a tuple would
    arrive as a list, a Path would not arrive at all), and each must say where it looked."""
    for finding in check_release_evidence(release):
        recorded = finding.as_dict()
        assert json.loads(json.dumps(recorded)) == recorded, recorded
        assert finding.where.strip(), recorded


def test_one_byte_in_provenance_breaks_exactly_the_links_that_name_it(release: Path) -> None:
    flip_one_byte(release / PROVENANCE)
    broken = failed(check_release_evidence(release))
    packet = _index_naming(read_json(release, PACKET)["items"], PROVENANCE)
    ledger = _index_naming(read_json(release, CHECKSUMS)["items"], PROVENANCE)
    assert {(f.check, f.where) for f in broken} == {
        ("provenance digest in evidence manifest", f"{EVIDENCE_MANIFEST}: provenance.sha256"),
        ("packet item digest", f"{PACKET}: items[{packet}] ({PROVENANCE})"),
        ("signing ledger entry digest", f"{CHECKSUMS}: items[{ledger}] (provenance {PROVENANCE})"),
    }
    recorded = read_json(release, EVIDENCE_MANIFEST)["provenance"]["sha256"]
    assert all(f.expected == recorded and f.observed != recorded for f in broken)


def _index_naming(items: list[dict[str, str]], path: str) -> int:
    """Where in a list of digest items the one for `path` stands (exactly one must)."""
    found = [index for index, item in enumerate(items) if item["path"] == path]
    assert len(found) == 1, f"{path} is listed {len(found)} times"
    return found[0]


def _digest_subjects(release: Path) -> list[str]:
    return sorted(item["path"] for item in read_json(release, PACKET)["items"] if item["path"].startswith("ops/"))


def test_one_byte_in_any_packet_file_fails_each_digest_that_names_it(release: Path) -> None:
    clean = check_release_evidence(release)
    subjects = _digest_subjects(release)
    assert len(subjects) >= 20
    for subject in subjects:
        naming = {(f.check, f.where) for f in clean if f.check in DIGEST_CHECKS and f.message == subject}
        assert naming, f"no digest names {subject}"
        original = (release / subject).read_bytes()
        flip_one_byte(release / subject)
        assert failed_checks(release) == naming, subject
        (release / subject).write_bytes(original)


def test_any_path_sha256_pair_in_the_evidence_manifest_is_checked(release: Path) -> None:
    manifest = read_json(release, EVIDENCE_MANIFEST)
    manifest["signature_artifacts"] = {"ledger": {"path": CHECKSUMS, "sha256": "0" * 64}}
    write_json(release, EVIDENCE_MANIFEST, manifest)
    broken = {(f.check, f.where) for f in failed(check_release_evidence(release))}
    assert ("path digest in evidence manifest", f"{EVIDENCE_MANIFEST}: signature_artifacts.ledger.sha256") in broken


def _rewrite_bundle_member(release: Path, name: str, data: bytes) -> None:
    bundle = release / BUNDLE
    members = []
    with tarfile.open(bundle) as tar:
        for info in tar.getmembers():
            handle = tar.extractfile(info)
            members.append((info, data if info.name == name else handle.read() if handle else b""))
    with tarfile.open(bundle, "w", format=tarfile.PAX_FORMAT) as tar:
        for info, content in members:
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))


def test_a_changed_bundle_member_fails_the_entries_that_name_it(release: Path) -> None:
    member = "artifacts/ingest/ingest-plan.json"
    _rewrite_bundle_member(release, member, b'{"tampered": true}\n')
    broken = {(f.check, f.where) for f in failed(check_release_evidence(release))}
    packet_index = [i["path"] for i in read_json(release, PACKET)["items"]].index(member)
    ledger_index = [i["path"] for i in read_json(release, CHECKSUMS)["items"]].index(member)
    assert ("packet item digest", f"{PACKET}: items[{packet_index}] ({member})") in broken
    assert ("signing ledger entry digest", f"{CHECKSUMS}: items[{ledger_index}] (ingest-plan {member})") in broken
    # The tarball itself changed too: its own digests break, and nothing else does.
    assert {check for check, _ in broken} == {
        "packet item digest",
        "signing ledger entry digest",
        "evidence tarball digest in evidence manifest",
    }


def test_a_bundle_member_missing_is_named(release: Path) -> None:
    _rewrite_bundle_member(release, "artifacts/ops/tool-versions.json", b"{}\n")
    with tarfile.open(release / BUNDLE) as tar:
        kept = [(i, tar.extractfile(i)) for i in tar.getmembers() if i.name != "artifacts/ingest/ingest-run.json"]
        contents = [(i, h.read() if h else b"") for i, h in kept]
    with tarfile.open(release / BUNDLE, "w") as tar:
        for info, content in contents:
            tar.addfile(info, io.BytesIO(content))
    messages = [f.message for f in failed(check_release_evidence(release))]
    assert f"artifacts/ingest/ingest-run.json: no such member in {BUNDLE}" in messages


def test_a_missing_required_field_names_the_file_and_field(release: Path) -> None:
    identity = read_json(release, IDENTITY)
    del identity["git_sha"]
    write_json(release, IDENTITY, identity)
    broken = failed(check_release_evidence(release))
    schema = [f for f in broken if f.check == f"{IDENTITY} matches atlas-drills release/identity.schema.json"]
    assert [(f.where, f.observed, f.message) for f in schema] == [
        (f"{IDENTITY}: git_sha", "absent", f"{IDENTITY}: git_sha: 'git_sha' is a required property")
    ]
    assert ("provenance git_sha matches identity", f"{PROVENANCE}: git_sha") in {(f.check, f.where) for f in broken}


def test_provenance_of_another_release_breaks_the_identity_links(release: Path) -> None:
    other = "0" * 40
    write_json(
        release,
        PROVENANCE,
        read_json(release, PROVENANCE)
        | {"git_sha": other, "release_id": "ops_run-000000000000", "governance_version": f"main@{other}"},
    )
    checks = {check for check, _ in failed_checks(release)}
    assert {
        "provenance git_sha matches identity",
        "provenance release_id matches identity",
        "provenance governance_version matches identity",
        "provenance digest in evidence manifest",
    } <= checks


def test_identity_inconsistent_with_its_git_sha(release: Path) -> None:
    write_json(release, IDENTITY, read_json(release, IDENTITY) | {"release_id": "ops_run-feedfeedfeed"})
    write_json(release, PROVENANCE, read_json(release, PROVENANCE) | {"release_id": "ops_run-feedfeedfeed"})
    write_json(release, IDENTITY, read_json(release, IDENTITY) | {"governance_version": "main@" + "f" * 40})
    broken = {f.check: f for f in failed(check_release_evidence(release))}
    git_sha = read_json(release, IDENTITY)["git_sha"]
    assert broken["release_id derived from git_sha"].expected == f"ops_run-{git_sha[:12]}"
    assert broken["release_id derived from git_sha"].observed == "ops_run-feedfeedfeed"
    assert broken["governance_version names git_sha"].where == f"{IDENTITY}: governance_version"


def test_provenance_pointing_at_another_evidence_manifest(release: Path) -> None:
    other = "ops/release/evidence/other-manifest.json"
    (release / other).write_bytes((release / EVIDENCE_MANIFEST).read_bytes())
    write_json(release, PROVENANCE, read_json(release, PROVENANCE) | {"evidence_manifest_path": other})
    broken = {f.check: f for f in failed(check_release_evidence(release))}
    link = broken["provenance names the evidence manifest checked"]
    assert (link.expected, link.observed) == (EVIDENCE_MANIFEST, other)


def test_packet_required_minimum_missing_from_items(release: Path) -> None:
    packet = read_json(release, PACKET)
    packet["items"] = [i for i in packet["items"] if i["path"] != RELEASE_VERIFY]
    write_json(release, PACKET, packet)
    broken = [f for f in failed(check_release_evidence(release)) if f.check == "packet required_minimum present"]
    assert [(f.observed, f.message) for f in broken] == [
        (RELEASE_VERIFY, f"{RELEASE_VERIFY!r} is not among the packet items")
    ]


def test_release_verify_not_ok(release: Path) -> None:
    write_json(release, RELEASE_VERIFY, read_json(release, RELEASE_VERIFY) | {"status": "failed", "errors": ["x"]})
    broken = {f.check: f for f in failed(check_release_evidence(release))}
    assert broken["release verification passed"].observed["status"] == "failed"


def test_lock_and_inventory_disagree(release: Path) -> None:
    lock = read_json(release, DATASETS_LOCK)
    dropped = lock["entries"].pop()
    write_json(release, DATASETS_LOCK, lock)
    broken = {f.check: f for f in failed(check_release_evidence(release))}
    link = broken["manifest.lock matches the dataset inventory"]
    assert dropped["id"] in link.expected
    assert dropped["id"] not in link.observed


def test_lock_checksum_of_a_changed_input_fails(release: Path) -> None:
    entry = read_json(release, DATASETS_MANIFEST)["datasets"][-1]
    flip_one_byte(release / entry["paths"]["gff3"])
    locked = [item["id"] for item in read_json(release, DATASETS_LOCK)["entries"]].index(entry["id"])
    assert failed_checks(release) == {
        ("manifest.lock checksum matches input", f"{DATASETS_LOCK}: entries[{locked}].checksums.gff3")
    }


def test_dataset_index_stale_and_wrong_ids(release: Path) -> None:
    index = read_json(release, DATASET_INDEX)
    index["dataset_ids"] = index["dataset_ids"][:1]
    index["stale_dataset_ids"] = ["109/homo_sapiens/GRCh38"]
    write_json(release, DATASET_INDEX, index)
    checks = {check for check, _ in failed_checks(release)}
    assert {"dataset index matches the dataset inventory", "dataset index lists no stale_dataset_ids"} <= checks
    assert "dataset index lists no missing_dataset_ids" not in checks


def test_promotion_rules_naming_another_lock(release: Path) -> None:
    write_json(release, PROMOTION_RULES, read_json(release, PROMOTION_RULES) | {"manifest_lock": "ops/other.lock"})
    assert ("promotion rules name the manifest lock", f"{PROMOTION_RULES}: manifest_lock") in failed_checks(release)


def test_rollback_requirement_that_does_not_resolve(release: Path) -> None:
    (release / PROMOTION_RULES).unlink()
    policy = read_json(release, ROLLBACK_POLICY)
    write_json(release, ROLLBACK_POLICY, policy | {"requires": [*policy["requires"], "pins"]})
    broken = [f for f in failed(check_release_evidence(release)) if f.check == "rollback policy requirement resolves"]
    assert [f.observed for f in broken] == ["promotion-rules", "pins"]
    assert "no such file" in broken[0].message


def test_a_path_the_evidence_policy_requires_is_missing(release: Path) -> None:
    for sbom in (release / "ops/release/evidence/sboms").iterdir():
        sbom.unlink()
    (release / "ops/release/evidence/sboms").rmdir()
    broken = {(f.check, f.where) for f in failed(check_release_evidence(release))}
    policy = "ops/release/evidence/policy.json"
    index = read_json(release, policy)["required_paths"].index("ops/release/evidence/sboms")
    assert ("evidence policy required path present", f"{policy}: required_paths[{index}]") in broken
