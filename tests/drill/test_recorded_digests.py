"""Drill checks take a restored file's digest from the restore's record (`RestoreResult.digests`, plus what the catalog
recovery wrote), never from the restored bytes: the restore hashed every byte once while writing it and refused the
backup unless each digest was the listed one.

Each check below runs on a real restore served by a local stand-in. It passes on a faithful restore, fails on a
backup broken the way the check exists to catch (a known fault), and proves it reads nothing again: the restored
SQLite files are overwritten after the restore with bytes of the same size, which every check that hashed them would
have caught, and an audit hook records every file this process opens while the check runs.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from atlas_drills.client import AtlasClient
from atlas_drills.drill.catalog_recovery import recover_catalog
from atlas_drills.drill.life import DrillLife, DrillSetup, RestoredAtlas
from atlas_drills.drill.prepare import PreparedBackup
from atlas_drills.drill.restored import recorded_digests, sidecar_problems
from atlas_drills.evidence.release_dir import ReleaseDir
from atlas_drills.expectation import ROLLBACK_POLICY, Expectation
from atlas_drills.faults.apply import apply_fault
from atlas_drills.findings import Finding
from atlas_drills.plan import DrillSpec
from atlas_drills.sample import SampleRelease
from atlas_drills.store.canonical import sha256_file
from atlas_drills.store.catalog import read_catalog
from atlas_drills.store.layout import sqlite_relpath
from atlas_drills.store.rebuild import QUARANTINED, SEALED, classify
from atlas_drills.store.recorded import NOT_RECORDED, RecordedDigests
from drills import test_evidence as evidence_checks
from drills import test_rollback_policy as policy_checks
from fixtures.evidence import DrillEvidence

# -- what this process opens -------------------------------------------------------------------------------------

_watching: list[list[str]] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    # `open` is raised by open()/io.open()/os.open(), `sqlite3.connect` by every SQLite connection.
    if _watching and event in {"open", "sqlite3.connect"} and args and isinstance(args[0], str | bytes | os.PathLike):
        _watching[-1].append(os.fsdecode(args[0]))


sys.addaudithook(_audit)  # an audit hook cannot be removed; it records nothing outside `opened_files`


@contextlib.contextmanager
def opened_files() -> Iterator[list[str]]:
    """Every file path this process opens inside the block."""
    opened: list[str] = []
    _watching.append(opened)
    try:
        yield opened
    finally:
        _watching.remove(opened)


def sqlite_files(staging: Path) -> list[Path]:
    return sorted(staging.rglob("*.sqlite"))


def overwrite_keeping_size(path: Path) -> None:
    """Other bytes of the same size: what a check that re-hashed the file would notice, and one that trusts the
    restore's record would not."""
    path.write_bytes(bytes(b ^ 0xFF for b in path.read_bytes()))


# -- a real drill life, and running one check on it --------------------------------------------------------------


@contextlib.contextmanager
def served(backup: Path, release: SampleRelease, work: Path, catalog: str = "restore") -> Iterator[RestoredAtlas]:
    """`backup` restored and served by a local stand-in, as a drill gets it."""
    uri = f"file://{backup}"
    drill = DrillSpec(uri, uri, f"file://{release.root}", sandbox="local", catalog=catalog)
    (work / "shared").mkdir(parents=True, exist_ok=True)
    setup = DrillSetup(
        drill, PreparedBackup(backup, release.root, 0.01), work / "drill", work / "shared", {}, startup_timeout_s=20.0
    )
    (work / "drill").mkdir()
    with DrillLife(setup, failed=lambda: False) as atlas:
        assert atlas.not_ready is None, atlas.not_ready
        yield atlas


def failed_checks(check: Callable[..., None], **fixtures: Any) -> list[Finding]:
    """Run a drill check with these fixtures; the findings it failed ([] when it passed)."""
    evidence = DrillEvidence(cast(pytest.Item, SimpleNamespace(user_properties=[])), "evidence")
    with contextlib.suppress(pytest.fail.Exception):
        check(**fixtures, evidence=evidence)
    assert evidence.asserted, "the check ended without asserting its findings"
    return evidence.failed


@pytest.fixture
def faulty(sample_backup: Path, tmp_path: Path) -> Callable[[str], Path]:
    """The sample backup broken by the named fault (`atlas-drills faults list`)."""

    def make(name: str) -> Path:
        out = tmp_path / "faults" / f"{name}.tar"
        out.parent.mkdir(exist_ok=True)
        apply_fault(name, sample_backup, out)
        return out

    return make


# -- every restored file is explained ----------------------------------------------------------------------------


def test_explained_passes_on_a_faithful_restore_reading_no_restored_file(
    sample_backup: Path, sample_release: SampleRelease, tmp_path: Path
) -> None:
    with served(sample_backup, sample_release, tmp_path) as atlas:
        for path in sqlite_files(atlas.staging):
            overwrite_keeping_size(path)
        with opened_files() as opened:
            failed = failed_checks(evidence_checks.test_every_restored_file_is_explained, restored_atlas=atlas)
        assert failed == []
        assert [p for p in opened if p.startswith(str(atlas.staging))] == []


def test_explained_fails_on_files_the_restore_did_not_write_or_did_not_verify(
    sample_backup: Path, sample_release: SampleRelease, tmp_path: Path
) -> None:
    with served(sample_backup, sample_release, tmp_path) as atlas:
        sqlite = next(p for p in atlas.restore.digests if p.endswith(".sqlite"))
        policy = ROLLBACK_POLICY
        del atlas.restore.digests[sqlite]  # on disk, listed, but not in the record: not verified
        atlas.restore.digests[policy] = "0" * 64  # recorded with a digest the manifest does not list
        (atlas.staging / "store" / "stray.txt").write_text("written after the restore\n")
        failed = {f.check: f.observed for f in failed_checks(
            evidence_checks.test_every_restored_file_is_explained, restored_atlas=atlas
        )}  # fmt: skip
    assert failed == {
        "no unlisted file present": ["store/stray.txt"],
        "every file belongs to Atlas's layout": ["store/stray.txt"],
        "every file matches its listed digest": [
            f"{policy} (restored with another digest)",
            f"{sqlite} ({NOT_RECORDED})",
        ],
    }


# -- served digests trace to restored bytes ----------------------------------------------------------------------


def test_served_digests_come_from_the_record_and_fail_when_the_service_serves_other_bytes(
    sample_backup: Path, sample_release: SampleRelease, tmp_path: Path
) -> None:
    with served(sample_backup, sample_release, tmp_path) as atlas:
        client = AtlasClient(atlas.base_url)
        try:
            with opened_files() as opened:
                passed = failed_checks(
                    evidence_checks.test_served_digests_trace_to_restored_bytes, restored_atlas=atlas, atlas=client
                )
            newest = read_catalog(atlas.staging / "store").dataset_ids()[-1]
            atlas.restore.digests[f"store/{sqlite_relpath(newest)}"] = "f" * 64  # what the restore would have seen
            failed = failed_checks(
                evidence_checks.test_served_digests_trace_to_restored_bytes, restored_atlas=atlas, atlas=client
            )
        finally:
            client.close()
    assert passed == []
    assert not [p for p in opened if p.endswith(".sqlite")]
    [finding] = failed
    assert finding.check == f"{newest.canonical} served SQLite digest is the restored file's and the backup's"
    assert finding.expected["served"] == "f" * 64


# -- publish sidecars match the artifact bytes -------------------------------------------------------------------


def test_sidecars_are_checked_against_the_record_without_opening_an_artifact(
    sample_backup: Path, sample_release: SampleRelease, tmp_path: Path
) -> None:
    check = policy_checks.test_every_manifest_lock_and_marker_matches_the_artifact_bytes
    with served(sample_backup, sample_release, tmp_path) as atlas:
        for path in sqlite_files(atlas.staging):
            overwrite_keeping_size(path)
        with opened_files() as opened:
            failed = failed_checks(check, restored_atlas=atlas)
        assert failed == []
        assert not [p for p in opened if p.endswith((".sqlite", "manifest.json"))]


@pytest.mark.parametrize("fault", ["sqlite-page-flipped", "manifest-lock-mismatch", "immutability-marker-mismatch"])
def test_sidecars_fail_on_a_backup_whose_seal_does_not_match_its_artifact(
    fault: str, faulty: Callable[[str], Path], sample_release: SampleRelease, tmp_path: Path
) -> None:
    check = policy_checks.test_every_manifest_lock_and_marker_matches_the_artifact_bytes
    with served(faulty(fault), sample_release, tmp_path) as atlas:
        failed = failed_checks(check, restored_atlas=atlas)
    assert [f.check for f in failed] == ["publish sidecars match the artifact bytes"]
    assert any("matches the artifact bytes" in problem for problem in failed[0].observed)


def test_an_artifact_the_record_does_not_vouch_for_is_a_sidecar_problem(
    sample_backup: Path, sample_release: SampleRelease, tmp_path: Path
) -> None:
    with served(sample_backup, sample_release, tmp_path) as atlas:
        dataset = read_catalog(atlas.staging / "store").dataset_ids()[0]
        recorded = recorded_digests(atlas)
        assert sidecar_problems(atlas.staging, dataset, recorded) == []
        gone = RecordedDigests(atlas.staging, {k: v for k, v in recorded.by_path.items() if not k.endswith(".sqlite")})
        problems = sidecar_problems(atlas.staging, dataset, gone)
    assert problems == [f"{atlas.staging}/store/{sqlite_relpath(dataset)}: gene_summary.sqlite: present (expected "
                        f"'a file the restore verified', observed '{NOT_RECORDED}')"]  # fmt: skip


# -- the restored rollback policy is the expected one ------------------------------------------------------------


def test_policy_digest_comes_from_the_record(
    sample_backup: Path, faulty: Callable[[str], Path], sample_release: SampleRelease, tmp_path: Path
) -> None:
    check = policy_checks.test_the_restored_policy_is_the_expected_one
    expectation = Expectation.load(sample_release.root)
    with served(sample_backup, sample_release, tmp_path / "good") as atlas:
        with opened_files() as opened:
            assert failed_checks(check, restored_atlas=atlas, expectation=expectation) == []
        # The policy is opened once, to parse it; its digest is the record's.
        assert opened.count(str(atlas.staging / ROLLBACK_POLICY)) == 1
    with served(faulty("rollback-policy-changed"), sample_release, tmp_path / "bad") as atlas:
        failed = failed_checks(check, restored_atlas=atlas, expectation=expectation)
        assert [f.check for f in failed] == ["policy byte-identical to the expected release's"]
        assert (
            failed[0].observed == atlas.restore.digests[ROLLBACK_POLICY] == sha256_file(atlas.staging / ROLLBACK_POLICY)
        )


# -- the release evidence chain ----------------------------------------------------------------------------------


def test_the_evidence_chain_takes_digests_from_the_record(
    sample_backup: Path, faulty: Callable[[str], Path], sample_release: SampleRelease, tmp_path: Path
) -> None:
    check = evidence_checks.test_the_release_evidence_chain_holds
    with served(sample_backup, sample_release, tmp_path / "good") as atlas:
        with opened_files() as opened:
            assert failed_checks(check, restored_atlas=atlas) == []
        # Files the chain only pins by digest (SBOMs, packages, images, security policies) are not opened at all;
        # only the documents it parses and the evidence tarball (whose members it hashes) are.
        pinned_only = {"sboms", "packages", "images", "security"}
        assert not [p for p in opened if Path(p).parent.name in pinned_only]
    with served(faulty("evidence-digest-mismatch"), sample_release, tmp_path / "bad") as atlas:
        failed = failed_checks(check, restored_atlas=atlas)
    assert failed
    assert all("digest" in f.check for f in failed), [f.check for f in failed]


def test_a_release_file_the_restore_did_not_write_has_no_digest(tmp_path: Path) -> None:
    (tmp_path / "ops").mkdir()
    (tmp_path / "ops/recorded.json").write_text("{}")
    (tmp_path / "ops/unrecorded.json").write_text("{}")
    release = ReleaseDir(tmp_path, RecordedDigests(tmp_path, {"ops/recorded.json": "a" * 64}))
    assert release.digest("ops/recorded.json") == ("a" * 64, "")
    assert release.digest("ops/unrecorded.json") == (None, f"ops/unrecorded.json: {NOT_RECORDED}")
    assert release.digest("ops/absent.json")[0] is None
    assert ReleaseDir(tmp_path).digest("ops/unrecorded.json") == (sha256_file(tmp_path / "ops/unrecorded.json"), "")


# -- the catalog recovery ----------------------------------------------------------------------------------------


def test_a_rebuild_seals_datasets_by_the_record_and_records_what_it_writes(
    sample_backup: Path, sample_release: SampleRelease, tmp_path: Path
) -> None:
    with served(sample_backup, sample_release, tmp_path, catalog="rebuild") as atlas:
        recovery = atlas.catalog
        assert recovery is not None
        assert recovery.rebuilt
        assert recovery.ok
        store = atlas.staging / "store"
        assert recovery.written == {name: sha256_file(store / name) for name in ("catalog.json", "catalog.sha256")}
        assert recorded_digests(atlas).get("store/catalog.json") == recovery.written["catalog.json"]
        assert failed_checks(evidence_checks.test_every_restored_file_is_explained, restored_atlas=atlas) == []
        for path in sqlite_files(atlas.staging):
            overwrite_keeping_size(path)
        with opened_files() as opened:
            again = recover_catalog(
                "rebuild", store, sample_release.root, atlas.restore.manifest, atlas.restore.digests
            )
        assert again.ok
        assert again.datasets == recovery.datasets
        assert not [p for p in opened if p.endswith(".sqlite")]


def test_a_dataset_whose_recorded_bytes_break_its_seal_is_quarantined(
    sample_backup: Path, sample_release: SampleRelease, tmp_path: Path
) -> None:
    with served(sample_backup, sample_release, tmp_path) as atlas:
        store = atlas.staging / "store"
        oldest = read_catalog(store).dataset_ids()[0]
        record = recorded_digests(atlas).under("store")
        assert classify(store, oldest, record).state == SEALED
        broken = RecordedDigests(store, {**record.by_path, sqlite_relpath(oldest): "0" * 64})
        assert classify(store, oldest, broken).state == QUARANTINED
        unrecorded = RecordedDigests(store, {k: v for k, v in record.by_path.items() if k != sqlite_relpath(oldest)})
        folder = classify(store, oldest, unrecorded)
        restored_digests = {f"store/{path}": sha for path, sha in broken.by_path.items()}
        recovery = recover_catalog("rebuild", store, sample_release.root, atlas.restore.manifest, restored_digests)
    assert (folder.state, folder.reasons) == (QUARANTINED, (f"gene_summary.sqlite: {NOT_RECORDED}",))
    assert recovery.matched is False
    assert recovery.differing[0].startswith(f"{oldest.canonical} expected, not in the catalog (quarantined:")
