"""Hostile release folders: every problem comes back as a failed finding, never as an exception."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from pathlib import Path
from typing import Any

import pytest

from atlas_drills.evidence import check_release_evidence, validate_release_files
from atlas_drills.evidence.paths import (
    BUNDLE,
    CHECKSUMS,
    EVIDENCE_MANIFEST,
    EVIDENCE_POLICY,
    IDENTITY,
    PACKET,
    PROVENANCE,
    RELEASE_FILES,
)
from atlas_drills.findings import Finding
from tests.evidence.conftest import read_json, write_json


def failed(root: Path) -> list[Finding]:
    return [f for f in check_release_evidence(root) if not f.ok]


def _add_packet_item(release: Path, path: str, data: bytes) -> list[Finding]:
    """Point a packet item at `path` with the *correct* digest of `data`: only the path itself can fail it."""
    packet = read_json(release, PACKET)
    packet["items"].append({"path": path, "sha256": hashlib.sha256(data).hexdigest()})
    write_json(release, PACKET, packet)
    where = f"{PACKET}: items[{len(packet['items']) - 1}] ({path})"
    return [f for f in failed(release) if f.where == where]


def test_a_packet_item_escaping_the_folder_is_refused(release: Path) -> None:
    secret = b"outside the release\n"
    (release.parent / "outside").write_bytes(secret)
    [finding] = _add_packet_item(release, "../outside", secret)
    assert finding.check == "packet item digest"
    assert finding.observed is None
    assert "escapes the release folder" in finding.message


def test_an_absolute_packet_item_is_refused(release: Path) -> None:
    target = release.parent / "absolute"
    target.write_bytes(b"x")
    [finding] = _add_packet_item(release, str(target), b"x")
    assert "is absolute" in finding.message


def test_a_symlink_out_of_the_folder_is_refused(release: Path) -> None:
    (release.parent / "elsewhere").write_bytes(b"y")
    os.symlink(release.parent / "elsewhere", release / "ops" / "link")
    [finding] = _add_packet_item(release, "ops/link", b"y")
    assert "resolves outside the release folder" in finding.message


def test_a_fifo_is_not_read(release: Path) -> None:
    os.mkfifo(release / "ops" / "fifo")
    [finding] = _add_packet_item(release, "ops/fifo", b"")
    assert "not a regular file" in finding.message


@pytest.mark.parametrize("relpath", [release_file.relpath for release_file in RELEASE_FILES])
def test_each_missing_release_file_is_a_finding(release: Path, relpath: str) -> None:
    (release / relpath).unlink()
    broken = failed(release)
    assert any(f.where == relpath and "no such file" in f.message for f in broken)


@pytest.mark.parametrize("content", [b"", b"{", b"\xff\xfe", b"[" * 100_000, b"null", b"[]", b'"text"', b"42"])
@pytest.mark.parametrize("relpath", [IDENTITY, PROVENANCE, EVIDENCE_MANIFEST, PACKET, CHECKSUMS])
def test_garbage_release_files_are_findings(release: Path, relpath: str, content: bytes) -> None:
    (release / relpath).write_bytes(content)
    broken = failed(release)
    assert any(f.where.startswith(relpath) for f in broken)


@pytest.mark.parametrize(
    "mutation",
    [
        {"items": [1, "x", None, {"path": 3, "sha256": []}, {"path": "", "sha256": "0" * 64}]},
        {"items": {"path": "x"}, "required_minimum": "ops", "contracts": [], "evidence_root": 7},
        {"items": [{"path": "ops/\0nul", "sha256": "0" * 64}, {"path": "C:/windows", "sha256": "0" * 64}]},
    ],
)
def test_wrongly_shaped_packet_values_are_findings(release: Path, mutation: dict[str, Any]) -> None:
    write_json(release, PACKET, read_json(release, PACKET) | mutation)
    assert any(f.where.startswith(PACKET) for f in failed(release))


def test_wrongly_shaped_evidence_manifest_values_are_findings(release: Path) -> None:
    manifest = read_json(release, EVIDENCE_MANIFEST)
    manifest |= {
        "provenance": "ops/release/provenance.json",
        "sboms": {"path": 1},
        "image_artifacts": "x",
        "dataset_assets": [None, "../../etc/passwd", "ops/*.nothing", "artifacts/none/*"],
        "ops_evidence": ["x"],
        "identity_path": {"x": 1},
    }
    write_json(release, EVIDENCE_MANIFEST, manifest)
    checks = {f.check for f in failed(release)}
    assert {"provenance digest in evidence manifest", "sbom digest in evidence manifest"} <= checks
    assert "evidence manifest asset exists" in checks


def _write_tar(path: Path, members: list[tarfile.TarInfo], data: bytes = b"{}\n") -> None:
    with tarfile.open(path, "w") as tar:
        for info in members:
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)


def _file(name: str, size: int = 3) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    return info


def _link(name: str, target: str, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


def test_links_escapes_and_duplicates_in_the_bundle_are_refused(release: Path) -> None:
    members = [
        _link("artifacts/ingest/ingest-plan.json", "/etc/passwd", tarfile.SYMTYPE),
        _link("artifacts/ingest/ingest-run.json", "artifacts/ops/x", tarfile.LNKTYPE),
        _file("../escape.json"),
        _file("/abs.json"),
        _file("artifacts/ingest/endtoend-ingest-query.json"),
        _file("artifacts/ingest/endtoend-ingest-query.json"),
    ]
    _write_tar(release / BUNDLE, members)
    (release / "ops" / "extracted-nothing").mkdir()
    broken = failed(release)
    safety = next(f for f in broken if f.check == "evidence tarball members are safe")
    assert len(safety.observed) == 5
    messages = " ".join(f.message for f in broken)
    assert "member is a link to '/etc/passwd'" in messages
    assert "appears more than once" in messages
    assert not (release.parent / "escape.json").exists()
    assert not Path("/abs.json").exists()


def test_a_bundle_that_is_not_a_tar_is_a_finding(release: Path) -> None:
    (release / BUNDLE).write_bytes(b"not a tar archive at all" * 100)
    broken = failed(release)
    assert any(f.check == "evidence tarball readable" for f in broken)
    assert any(f.check == "packet item digest" and "cannot be read" in f.message for f in broken)


def test_a_truncated_bundle_is_a_finding(release: Path) -> None:
    data = (release / BUNDLE).read_bytes()
    with tarfile.open(release / BUNDLE) as tar:
        member = next(m for m in tar.getmembers() if m.size > 1)
    (release / BUNDLE).write_bytes(data[: member.offset_data + 1])  # cut inside a member's data
    broken = failed(release)
    assert any(f.check == "evidence tarball readable" and "cannot read as a tar archive" in f.message for f in broken)


def test_an_empty_ops_folder_fails_everything_without_raising(tmp_path: Path) -> None:
    (tmp_path / "ops").mkdir()
    findings = check_release_evidence(tmp_path)
    assert findings
    assert not any(f.ok for f in validate_release_files(tmp_path))
    assert {f.criterion for f in findings} == {"evidence"}


def test_a_release_file_that_is_a_folder_or_a_dangling_link(release: Path) -> None:
    (release / EVIDENCE_POLICY).unlink()
    (release / EVIDENCE_POLICY).mkdir()
    (release / IDENTITY).unlink()
    os.symlink(release / "nowhere", release / IDENTITY)
    broken = failed(release)
    assert any(f.where == EVIDENCE_POLICY and "not a regular file" in f.message for f in broken)
    assert any(f.where == IDENTITY and "no such file" in f.message for f in broken)


def test_a_contracts_map_pointing_outside_the_release_is_a_finding(release: Path) -> None:
    (release.parent / "outside.schema.json").write_text("{}")
    (release / "ops/inventory").mkdir(parents=True, exist_ok=True)
    write_json(
        release,
        "ops/inventory/contracts-map.json",
        {"items": [{"path": IDENTITY, "schema": "../outside.schema.json"}]},
    )
    schema_findings = [f for f in failed(release) if f.check.startswith(f"{IDENTITY} matches ")]
    assert [(f.check, f.observed) for f in schema_findings] == [(f"{IDENTITY} matches ../outside.schema.json", None)]
    assert "escapes the release folder" in schema_findings[0].message


@pytest.mark.parametrize("content", [b"[]", b"{", b'{"items": {"path": 1}}', b'{"items": [1, {"path": 2}]}'])
def test_a_malformed_contracts_map_leaves_the_other_pairings_in_force(release: Path, content: bytes) -> None:
    (release / "ops/inventory").mkdir(parents=True, exist_ok=True)
    (release / "ops/inventory/contracts-map.json").write_bytes(content)
    assert failed(release) == []
