"""The detection matrix: the good backup passes every criterion; each known-bad backup fails exactly the criteria
its fault declares (or is refused at restore with the named rule); nothing else changes verdict.

Runs the real drills over the Docker sandbox (the default) and over the local-process sandbox (the fast variant),
in parallel with xdist. Each result is written to `reports/fault-matrix/` for the README's matrix (for another
target than the stand-in, `ATLAS_DRILLS_MATRIX_TARGET*`, to `reports/fault-matrix-<image or command>/`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from atlas_drills.faults import FAULTS, Fault, apply_fault, fault_named
from atlas_drills.faults.catalog import ALL, RECOVERED_BY_REBUILD
from atlas_drills.plan import PROJECT_ROOT
from atlas_drills.sample import SampleRelease
from tests.faults.drill_run import matrix_target, run_drills

MATRIX_DIR = PROJECT_ROOT / "reports" / "fault-matrix"
SANDBOXES = ["docker", "local"]


def _record(sandbox: str, name: str, verdicts: dict[str, str], refused: str | None) -> None:
    target = matrix_target()
    folder = MATRIX_DIR if target.is_standin else MATRIX_DIR.with_name(f"fault-matrix-{target.slug}")
    folder.mkdir(parents=True, exist_ok=True)
    row = {"sandbox": sandbox, "fault": name, "verdicts": verdicts, "refused": refused, "target": target.slug}
    (folder / f"{sandbox}--{name}.json").write_text(json.dumps(row, indent=2, sort_keys=True) + "\n")


@pytest.fixture
def sandbox_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    target = matrix_target()
    if kind == "docker" and target.image:
        from atlas_drills.sandbox.select import SandboxUnavailable, ensure_target_image

        request.getfixturevalue("docker_client")  # skips (or fails in CI) without an engine
        try:
            ensure_target_image(target.image)
        except SandboxUnavailable as exc:
            pytest.fail(f"ATLAS_DRILLS_MATRIX_TARGET_IMAGE: {exc}")
    elif kind == "docker":
        request.getfixturevalue("standin_image")  # skips (or fails in CI) without an engine
    if kind == "local" and not target.is_standin and not target.command:
        pytest.skip(f"target {target.slug} has no native command (set ATLAS_DRILLS_MATRIX_TARGET_COMMAND)")
    if kind == "docker" and target.command and not target.image:
        pytest.skip(f"target {target.slug} has no image (set ATLAS_DRILLS_MATRIX_TARGET_IMAGE)")
    return kind


@pytest.mark.parametrize("sandbox_kind", SANDBOXES, indirect=True)
def test_the_good_backup_passes_every_criterion(
    sandbox_kind: str, sample_backup: Path, sample_release: SampleRelease, tmp_path: Path
) -> None:
    outcome = run_drills(sample_backup, sample_release.root, tmp_path, sandbox_kind)
    _record(sandbox_kind, "none (good backup)", outcome.verdicts, None)
    assert outcome.returncode == 0, outcome.output
    assert outcome.verdicts == dict.fromkeys(sorted(ALL), "pass") | outcome.verdicts
    assert set(outcome.verdicts) == ALL
    assert set(outcome.verdicts.values()) == {"pass"}, outcome.messages


@pytest.mark.parametrize("sandbox_kind", SANDBOXES, indirect=True)
@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_each_fault_is_caught_by_exactly_its_criteria(
    fault: Fault, sandbox_kind: str, sample_backup: Path, sample_release: SampleRelease, tmp_path: Path
) -> None:
    bad = tmp_path / f"{fault.name}.tar.zst"
    apply_fault(fault.name, sample_backup, bad)
    mode = (f"--drill-catalog={fault.drill_catalog}",)
    outcome = run_drills(bad, sample_release.root, tmp_path / "run", sandbox_kind, extra=mode)
    assert outcome.returncode != 0, f"{fault.name}: the drills passed a broken backup\n{outcome.output}"
    if fault.is_archive_fault:
        rule = str(fault.refused_rule)
        refused = [m for m in outcome.messages if rule in m]
        _record(sandbox_kind, fault.name, outcome.verdicts, rule if refused else None)
        assert outcome.checks > 0
        assert len(refused) == outcome.checks, (
            f"{fault.name}: every check must error with the restore refusal '{fault.refused_rule}'\n"
            + "\n".join(outcome.messages[:5])
        )
        return
    _record(sandbox_kind, fault.name, outcome.verdicts, None)
    assert set(outcome.verdicts) == ALL, outcome.output
    assert outcome.failed_criteria == fault.breaks, (
        f"{fault.name}: expected exactly {sorted(fault.breaks)} to fail, observed {sorted(outcome.failed_criteria)}\n"
        + "\n".join(outcome.messages)
    )
    assert any(fault.cause in message for message in outcome.messages), (
        f"{fault.name}: no failure message names the cause ({fault.cause!r})\n" + "\n".join(outcome.messages)
    )
    unchanged = {c: v for c, v in outcome.verdicts.items() if c not in fault.breaks}
    assert set(unchanged.values()) <= {"pass"}, f"{fault.name}: other criteria changed verdict: {unchanged}"


@pytest.mark.parametrize("sandbox_kind", SANDBOXES, indirect=True)
def test_the_good_backup_passes_with_an_always_rebuilt_catalog(
    sandbox_kind: str, sample_backup: Path, sample_release: SampleRelease, tmp_path: Path
) -> None:
    outcome = run_drills(sample_backup, sample_release.root, tmp_path, sandbox_kind, extra=("--drill-catalog=rebuild",))
    _record(sandbox_kind, "none (good backup), catalog rebuilt", outcome.verdicts, None)
    assert outcome.returncode == 0, outcome.output
    assert outcome.verdicts == dict.fromkeys(sorted(ALL), "pass"), outcome.messages
    report = json.loads(next((tmp_path / "reports").glob("*/drill-report.json")).read_text())
    [drill] = report["drills"]
    assert drill["catalog_recovery"]["action"] == "rebuilt"
    assert drill["catalog_recovery"]["epoch_matched"] is True


@pytest.mark.parametrize("sandbox_kind", SANDBOXES, indirect=True)
@pytest.mark.parametrize("name", sorted(RECOVERED_BY_REBUILD))
def test_a_lost_or_broken_catalog_is_recovered_by_a_rebuild(
    name: str, sandbox_kind: str, sample_backup: Path, sample_release: SampleRelease, tmp_path: Path
) -> None:
    """The same faults that fail every criterion with the restored catalog pass them all once rebuilt."""
    bad = tmp_path / f"{name}.tar.zst"
    apply_fault(name, sample_backup, bad)
    mode = (f"--drill-catalog={RECOVERED_BY_REBUILD[name]}",)
    outcome = run_drills(bad, sample_release.root, tmp_path / "run", sandbox_kind, extra=mode)
    assert outcome.returncode == 0, outcome.output
    assert outcome.verdicts == dict.fromkeys(sorted(ALL), "pass"), outcome.messages


@pytest.mark.parametrize("sandbox_kind", SANDBOXES, indirect=True)
@pytest.mark.parametrize("name", ["none", "baseline-mismatch"])
def test_the_cache_rewarm_is_timed_apart_and_lists_its_own_failures(
    name: str, sandbox_kind: str, sample_backup: Path, sample_release: SampleRelease, tmp_path: Path
) -> None:
    """`--drill-rewarm`: on the good backup it warms every dataset without a failure; on a backup whose recorded
    answers no longer match, it lists its own failures while the verdicts stay exactly the fault's."""
    backup = sample_backup
    if name != "none":
        backup = tmp_path / f"{name}.tar.zst"
        apply_fault(name, sample_backup, backup)
    outcome = run_drills(backup, sample_release.root, tmp_path / "run", sandbox_kind, extra=("--drill-rewarm",))
    report = json.loads(next((tmp_path / "run" / "reports").glob("*/drill-report.json")).read_text())
    [drill] = report["drills"]
    rewarm = drill["rewarm"]
    assert rewarm is not None, drill
    assert [d["dataset"] for d in rewarm["datasets"]] == sorted(d.canonical for d in sample_release.datasets)
    assert rewarm["warm_s"] > 0
    assert rewarm["queries"] > len(sample_release.datasets)
    assert "rewarm" not in [p["name"] for p in drill["phases"]]  # never inside the recovery time
    if name == "none":
        assert outcome.returncode == 0, outcome.output
        assert rewarm["failures"] == []
        return
    assert outcome.failed_criteria == fault_named(name).breaks, outcome.messages
    assert rewarm["failures"], rewarm
    assert all("not the recorded answer" in failure for failure in rewarm["failures"]), rewarm["failures"]
