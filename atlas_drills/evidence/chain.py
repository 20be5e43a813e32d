"""The release evidence chain (contract 4.8): identity <-> provenance -> evidence manifest -> packet and ledger.

Each function checks one file's outgoing links and returns one finding per link, passed or failed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from atlas_drills.evidence.links import blocked, digest_link, field, link, path_link, text
from atlas_drills.evidence.paths import (
    BUNDLE,
    CHECKSUMS,
    EVIDENCE_MANIFEST,
    EVIDENCE_POLICY,
    EVIDENCE_ROOT,
    IDENTITY,
    PACKET,
    PROVENANCE,
    RELEASE_ID_PREFIX,
    RELEASE_ID_SHA_DIGITS,
    RELEASE_VERIFY,
)
from atlas_drills.evidence.release_dir import ReleaseDir, path_problem
from atlas_drills.findings import Finding

IDENTITY_FIELDS: Final = ("release_id", "git_sha", "governance_version")
# Named digests of the evidence manifest: top-level key -> (check name, file it must name, or None for any).
NAMED_DIGESTS: Final = {
    "provenance": ("provenance digest in evidence manifest", PROVENANCE),
    "evidence_tarball": ("evidence tarball digest in evidence manifest", BUNDLE),
    "chart_package": ("chart package digest in evidence manifest", None),
}
# Evidence-manifest keys whose string values (or list of strings) are paths that must resolve.
PATH_FIELDS: Final = ("toolchain_inventory", "docker_bases_lock", "runtime_env_allowlist", "index_html")


def check_identity(release: ReleaseDir) -> list[Finding]:
    """identity.json <-> provenance.json: the same release, and release_id/governance_version derived from git_sha."""
    identity, provenance = release.load_json(IDENTITY), release.load_json(PROVENANCE)
    if not identity.ok:
        return [blocked("release identity", IDENTITY, identity.problem)]
    findings = _identity_consistent(identity.value, IDENTITY)
    if not provenance.ok:
        return [*findings, blocked("provenance matches identity", PROVENANCE, provenance.problem)]
    for name in IDENTITY_FIELDS:
        want, got = field(identity.value, name), field(provenance.value, name)
        findings.append(
            link(
                f"provenance {name} matches identity",
                want is not None and want == got,
                text(want),
                text(got),
                f"{PROVENANCE}: {name}",
                "" if want == got else f"{PROVENANCE} and {IDENTITY} name different releases",
            )
        )
    return findings


def _identity_consistent(identity: Any, where: str) -> list[Finding]:
    git_sha, release_id = field(identity, "git_sha"), field(identity, "release_id")
    governance = field(identity, "governance_version")
    if not isinstance(git_sha, str):
        return [link("release_id derived from git_sha", False, "a git_sha", text(git_sha), f"{where}: git_sha")]
    derived = RELEASE_ID_PREFIX + git_sha[:RELEASE_ID_SHA_DIGITS]
    expected_governance = f"<ref>@{git_sha}"
    governance_ok = isinstance(governance, str) and "@" in governance and governance.rsplit("@", 1)[1] == git_sha
    return [
        link(
            "release_id derived from git_sha", release_id == derived, derived, text(release_id), f"{where}: release_id"
        ),
        link(
            "governance_version names git_sha",
            governance_ok,
            expected_governance,
            text(governance),
            f"{where}: governance_version",
            "" if governance_ok else "governance_version must be <ref>@<git_sha> of this release",
        ),
    ]


def check_provenance(release: ReleaseDir) -> list[Finding]:
    """provenance.json -> the evidence manifest checked, the signing ledger, the signing policy, the toolchain."""
    provenance = release.load_json(PROVENANCE)
    if not provenance.ok:
        return [blocked("provenance paths resolve", PROVENANCE, provenance.problem)]
    doc = provenance.value
    findings = [
        path_link(
            release,
            "provenance names the evidence manifest checked",
            field(doc, "evidence_manifest_path"),
            f"{PROVENANCE}: evidence_manifest_path",
            EVIDENCE_MANIFEST,
        ),
        path_link(
            release,
            "provenance signing policy resolves",
            field(doc, "signing_policy_path"),
            f"{PROVENANCE}: signing_policy_path",
        ),
        path_link(
            release,
            "provenance toolchain inventory resolves",
            field(doc, "toolchain_inventory"),
            f"{PROVENANCE}: toolchain_inventory",
        ),
    ]
    if isinstance(doc, dict) and "checksum_list_path" in doc:
        findings.append(
            path_link(
                release,
                "provenance names the signing ledger checked",
                doc["checksum_list_path"],
                f"{PROVENANCE}: checksum_list_path",
                CHECKSUMS,
            )
        )
    return findings


def _path_sha_pairs(value: Any, location: str) -> Iterator[tuple[str, Any, Any]]:
    """Every object with both `path` and `sha256` anywhere in `value`, as (location, path, sha256)."""
    if isinstance(value, dict):
        if "path" in value and "sha256" in value:
            yield location, value["path"], value["sha256"]
        for key, item in value.items():
            yield from _path_sha_pairs(item, f"{location}.{key}" if location else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _path_sha_pairs(item, f"{location}[{index}]")


def check_evidence_manifest(release: ReleaseDir) -> list[Finding]:
    """Every path+sha256 pair in the evidence manifest matches its bytes; every path it names resolves."""
    manifest = release.load_json(EVIDENCE_MANIFEST)
    if not manifest.ok:
        return [blocked("evidence manifest digests", EVIDENCE_MANIFEST, manifest.problem)]
    doc = manifest.value
    findings = [
        path_link(
            release,
            "evidence manifest identity_path is the identity checked",
            field(doc, "identity_path"),
            f"{EVIDENCE_MANIFEST}: identity_path",
            IDENTITY,
        ),
        path_link(
            release,
            "evidence manifest policy_path is the policy checked",
            field(doc, "policy_path"),
            f"{EVIDENCE_MANIFEST}: policy_path",
            EVIDENCE_POLICY,
        ),
    ]
    for key, (check, required_path) in NAMED_DIGESTS.items():
        pair = field(doc, key)
        where = f"{EVIDENCE_MANIFEST}: {key}"
        if not isinstance(pair, dict) or "path" not in pair or "sha256" not in pair:
            findings.append(link(check, False, "{path, sha256}", text(pair), where, f"{where}: no path+sha256 pair"))
        elif required_path is not None and pair.get("path") != required_path:
            findings.append(
                link(
                    check,
                    False,
                    required_path,
                    text(pair.get("path")),
                    f"{where}.path",
                    f"{where}.path: names {pair.get('path')!r}, not {required_path}",
                )
            )
    for location, path, digest in _path_sha_pairs(doc, ""):
        if location in NAMED_DIGESTS:
            check = NAMED_DIGESTS[location][0]
        elif location.startswith("sboms["):
            check = "sbom digest in evidence manifest"
        else:
            check = "path digest in evidence manifest"
        where = f"{EVIDENCE_MANIFEST}: {location + '.' if location else ''}sha256"
        findings.append(digest_link(release, check, path, digest, where))
    sboms = field(doc, "sboms")
    if not isinstance(sboms, list) or not sboms:
        findings.append(
            link(
                "sbom digest in evidence manifest",
                False,
                "at least one SBOM",
                text(sboms),
                f"{EVIDENCE_MANIFEST}: sboms",
                "the evidence manifest lists no SBOM",
            )
        )
    findings.extend(_named_paths(release, doc))
    return findings


def _named_paths(release: ReleaseDir, doc: Any) -> list[Finding]:
    """Paths the evidence manifest names without a digest: each must resolve in DIR or the tarball."""
    check = "evidence manifest path resolves"
    findings = []
    for key in PATH_FIELDS:
        value = field(doc, key)
        if isinstance(value, str):
            findings.append(path_link(release, check, value, f"{EVIDENCE_MANIFEST}: {key}"))
    images = field(doc, "image_artifacts")
    for index, image in enumerate(images if isinstance(images, list) else []):
        source = field(image, "source_path")
        findings.append(path_link(release, check, source, f"{EVIDENCE_MANIFEST}: image_artifacts[{index}].source_path"))
    ops_evidence = field(doc, "ops_evidence")
    for key, value in sorted(ops_evidence.items()) if isinstance(ops_evidence, dict) else []:
        if isinstance(value, str):
            findings.append(path_link(release, check, value, f"{EVIDENCE_MANIFEST}: ops_evidence.{key}"))
    return findings


def check_policy(release: ReleaseDir) -> list[Finding]:
    """Every path the evidence policy requires exists in DIR and in the evidence tarball, as Atlas checks them.

    Atlas's `ops evidence verify` (`evidence_commands.rs`) asks only that `repo_root.join(path).exists()`, so a
    folder counts with or without a trailing slash, and, when the tarball exists, that `tar -tf` lists the path or
    something under it.
    """
    policy = release.load_json(EVIDENCE_POLICY)
    if not policy.ok:
        return [blocked("evidence policy required path present", EVIDENCE_POLICY, policy.problem)]
    required = field(policy.value, "required_paths")
    findings = []
    tarball_present = not release.is_absent(BUNDLE)
    for index, path in enumerate(required if isinstance(required, list) else []):
        where = f"{EVIDENCE_POLICY}: required_paths[{index}]"
        problem = release.exists(path)
        findings.append(
            link("evidence policy required path present", not problem, "a file or folder", text(path), where, problem)
        )
        if tarball_present and isinstance(path, str) and not path_problem(path):
            problem = release.bundle_holds(path)
            findings.append(link("evidence tarball holds required path", not problem, "a member", path, where, problem))
    return findings


def check_bundle(release: ReleaseDir) -> list[Finding]:
    """The evidence tarball reads as a tar archive whose members are all safe regular files."""
    bundle = release.bundle
    if bundle.error:
        return [link("evidence tarball readable", False, "a readable tar archive", None, BUNDLE, bundle.error)]
    refused = [f"{name}: {why}" for name, why in sorted(bundle.refused.items())]
    return [
        link("evidence tarball readable", True, "a readable tar archive", f"{len(bundle.digests)} members", BUNDLE),
        link(
            "evidence tarball members are safe", not refused, [], refused, BUNDLE, "; ".join(refused) if refused else ""
        ),
    ]


def check_packet(release: ReleaseDir) -> list[Finding]:
    """Every packet item matches its bytes; every required_minimum path is an item and resolves."""
    packet = release.load_json(PACKET)
    if not packet.ok:
        return [blocked("packet items", PACKET, packet.problem)]
    doc = packet.value
    findings = [
        path_link(
            release,
            "packet evidence_root",
            _folder(field(doc, "evidence_root")),
            f"{PACKET}: evidence_root",
            EVIDENCE_ROOT + "/",
        )
    ]
    contract = field(field(doc, "contracts"), "REL-PACK-001")
    findings.append(
        link(
            "packet contract REL-PACK-001 holds",
            contract is True,
            True,
            text(contract),
            f"{PACKET}: contracts.REL-PACK-001",
        )
    )
    items = field(doc, "items")
    listed = set()
    for index, item in enumerate(items if isinstance(items, list) else []):
        path = field(item, "path")
        listed.add(path if isinstance(path, str) else None)
        findings.append(
            digest_link(
                release, "packet item digest", path, field(item, "sha256"), f"{PACKET}: items[{index}] ({text(path)})"
            )
        )
    required = field(doc, "required_minimum")
    for index, path in enumerate(required if isinstance(required, list) else []):
        where = f"{PACKET}: required_minimum[{index}]"
        problem = "" if path in listed else f"{path!r} is not among the packet items"
        problem = problem or release.resolves(path)
        findings.append(
            link("packet required_minimum present", not problem, "listed and present", text(path), where, problem)
        )
    return findings


def _folder(value: Any) -> Any:
    return value + "/" if isinstance(value, str) and not value.endswith("/") else value


def check_ledger(release: ReleaseDir) -> list[Finding]:
    """Every `signing/checksums.json` item matches its file, or its bundle member for artifacts/ paths."""
    ledger = release.load_json(CHECKSUMS)
    if not ledger.ok:
        return [blocked("signing ledger entry digest", CHECKSUMS, ledger.problem)]
    items = field(ledger.value, "items")
    findings = []
    for index, item in enumerate(items if isinstance(items, list) else []):
        path, kind = field(item, "path"), field(item, "kind")
        where = f"{CHECKSUMS}: items[{index}] ({text(kind)} {text(path)})"
        findings.append(digest_link(release, "signing ledger entry digest", path, field(item, "sha256"), where))
    if not findings:
        findings.append(
            link(
                "signing ledger entry digest",
                False,
                "at least one item",
                text(items),
                f"{CHECKSUMS}: items",
                "the signing ledger lists nothing",
            )
        )
    return findings


def check_release_verify(release: ReleaseDir) -> list[Finding]:
    """`release-verify.json` says the signed release verified: status ok, no errors, every contract true."""
    verify = release.load_json(RELEASE_VERIFY)
    if not verify.ok:
        return [blocked("release verification passed", RELEASE_VERIFY, verify.problem)]
    doc = verify.value
    status, errors, contracts = field(doc, "status"), field(doc, "errors"), field(doc, "contracts")
    failed = sorted(str(k) for k, v in contracts.items() if v is not True) if isinstance(contracts, dict) else []
    observed = {
        "status": text(status),
        "errors": len(errors) if isinstance(errors, list) else text(errors),
        "failed_contracts": failed,
    }
    ok = status == "ok" and errors == [] and not failed
    return [
        link(
            "release verification passed",
            ok,
            {"status": "ok", "errors": 0, "failed_contracts": []},
            observed,
            f"{RELEASE_VERIFY}: status",
            "" if ok else f"{RELEASE_VERIFY} does not report a clean verification",
        )
    ]
