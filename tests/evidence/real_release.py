"""Atlas's real release at 09b857200c15 (`../shared/atlas-real/`), and editable copies of it made at test time.

The real folder is read-only and never copied into the project: tests that need it find it beside the checkout and
skip, saying why, where it is absent (set ATLAS_DRILLS_REQUIRE_ATLAS_REAL=1 to make its absence a failure, as CI
does). `repair` turns a copy into a release whose every link holds, by fixing exactly the defects the real release
is known to carry (see test_real_release.py); `reseal` recomputes the ledger and packet digests after an edit, the
way Atlas's `release sign` and `release packet` would. Digests here are computed with hashlib and tarfile directly,
not with the code under test.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
from pathlib import Path
from typing import Any, Final

import pytest

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
REAL: Final = REPO_ROOT.parent / "shared" / "atlas-real" / "release-09b857200c15"
REQUIRE_ENV: Final = "ATLAS_DRILLS_REQUIRE_ATLAS_REAL"

BUNDLE: Final = "ops/release/evidence/bundle.tar"
MANIFEST: Final = "ops/release/evidence/manifest.json"
LEDGER: Final = "ops/release/signing/checksums.json"
PACKET: Final = "ops/release/packet/packet.json"
VERIFY: Final = "ops/release/signing/release-verify.json"
INDEX: Final = "ops/datasets/generated/dataset-index.json"
# The ops evidence reports Atlas's `ops evidence collect` writes and the real manifest lacks.
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
MISSING_MEMBER: Final = "artifacts/datasets/datasets-manifest.json"


def real_release() -> Path:
    """The real release folder, or skip (fail under ATLAS_DRILLS_REQUIRE_ATLAS_REAL) when it is not beside us."""
    if not (REAL / "ops").is_dir():
        why = f"{REAL}: Atlas's real release (09b857200c15) is not beside this checkout; see ../shared/atlas-real/"
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(f"{why} ({REQUIRE_ENV} is set)")
        pytest.skip(why)
    return REAL


def copy_of_real(destination: Path) -> Path:
    shutil.copytree(real_release(), destination, symlinks=True)
    for path in destination.rglob("*"):  # the shared copy is read-only; ours must not be
        path.chmod(path.stat().st_mode | 0o200)
    destination.chmod(destination.stat().st_mode | 0o200)
    return destination


def load(root: Path, relpath: str) -> Any:
    return json.loads((root / relpath).read_bytes())


def save(root: Path, relpath: str, value: Any) -> None:
    (root / relpath).write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")


def bundle_members(root: Path) -> dict[str, bytes]:
    with tarfile.open(root / BUNDLE) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]


def digest_of(root: Path, relpath: str) -> str:
    """sha256 of a release path: a file under the folder, or an evidence tarball member for `artifacts/...`."""
    data = bundle_members(root)[relpath] if relpath.startswith("artifacts/") else (root / relpath).read_bytes()
    return hashlib.sha256(data).hexdigest()


def rewrite_bundle(root: Path, add: dict[str, bytes] | None = None, drop: tuple[str, ...] = ()) -> None:
    members = {name: data for name, data in bundle_members(root).items() if name not in drop} | (add or {})
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted(members):
            info = tarfile.TarInfo(name)
            info.size = len(members[name])
            tar.addfile(info, io.BytesIO(members[name]))
    (root / BUNDLE).write_bytes(buffer.getvalue())


def _redigest(root: Path, relpath: str) -> None:
    document = load(root, relpath)
    for item in document["items"]:
        item["sha256"] = digest_of(root, item["path"])
    save(root, relpath, document)


def reseal(root: Path) -> None:
    """After an edit: the evidence manifest's tarball digest, then the signing ledger, then the packet."""
    manifest = load(root, MANIFEST)
    manifest["evidence_tarball"]["sha256"] = digest_of(root, BUNDLE)
    save(root, MANIFEST, manifest)
    _redigest(root, LEDGER)
    _redigest(root, PACKET)


def repair(root: Path) -> None:
    """Fix every defect the real release carries, and nothing else."""
    index = load(root, INDEX)
    del index["generated_by"]
    save(root, INDEX, index)
    verify = load(root, VERIFY)
    del verify["contracts"]["REL-OPS-001"]
    save(root, VERIFY, verify)
    reports = {f"artifacts/ops/evidence/repaired/{key}.json": b'{"schema_version": 1}\n' for key in OPS_EVIDENCE_KEYS}
    rewrite_bundle(root, add=reports | {MISSING_MEMBER: (root / "ops/datasets/manifest.json").read_bytes()})
    manifest = load(root, MANIFEST)
    for key, path in zip(OPS_EVIDENCE_KEYS, reports, strict=True):
        manifest["ops_evidence"][key] = {"path": path, "sha256": digest_of(root, path)}
    for pair in (
        manifest["auth_policy"]["auth_model"],
        manifest["toolchain_inventory"],
        *manifest["supply_chain"]["docs_toolchain_inventory"],
    ):
        pair["sha256"] = digest_of(root, pair["path"])
    save(root, MANIFEST, manifest)
    reseal(root)
