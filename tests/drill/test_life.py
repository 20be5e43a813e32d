"""One drill's life (`atlas_drills.drill.life`) over real restores and local targets: what each step leaves behind
when it, or a later one, fails, and what is kept to explain a failure."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from atlas_drills.backup.errors import RestoreRefused
from atlas_drills.drill.life import DrillLife, DrillSetup
from atlas_drills.drill.phases import RECOVERY_PHASES
from atlas_drills.drill.prepare import PreparedBackup
from atlas_drills.plan import DrillSpec
from atlas_drills.sample import SampleRelease
from atlas_drills.sandbox.target import TARGETS_DIR


def target_file(folder: Path, local_command: str) -> Path:
    """The stand-in's target file with another local command (a TOML list)."""
    text = (TARGETS_DIR / "standin.toml").read_text()
    path = folder / "target.toml"
    path.write_text(text.replace('local_command = ["{python}", "-m", "atlas_drills.standin"]', local_command))
    return path


def life(
    backup: Path, release: SampleRelease, work: Path, target: str = "standin", *, failed: bool = False
) -> DrillLife:
    """A life for the backup in a local sandbox; `failed` is what the drill's checks say."""
    uri = f"file://{backup}"
    drill = DrillSpec(uri, uri, f"file://{release.root}", target=target, sandbox="local")
    (work / "shared").mkdir(exist_ok=True)
    setup = DrillSetup(
        drill, PreparedBackup(backup, release.root, 0.01), work / "drill", work / "shared", {}, startup_timeout_s=20.0
    )
    (work / "drill").mkdir()
    return DrillLife(setup, failed=lambda: failed)


def test_a_life_serves_the_restore_times_every_phase_and_leaves_nothing(
    sample_backup: Path, sample_release: SampleRelease, tmp_path: Path
) -> None:
    drill = life(sample_backup, sample_release, tmp_path)
    with drill as atlas:
        assert atlas.not_ready is None
        assert (atlas.staging / "store/catalog.json").is_file()
        assert atlas.sandbox.is_running()
        assert all(atlas.phases[name] > 0 for name in RECOVERY_PHASES), atlas.phases
    assert not atlas.sandbox.is_running()
    assert not (tmp_path / "drill").exists()
    assert drill.clock.seconds["teardown"] > 0
    assert drill.artefacts == {}  # nothing failed: nothing kept


def test_a_failed_drill_keeps_the_log_and_restore_summary_before_the_sandbox_goes(
    sample_backup: Path, sample_release: SampleRelease, tmp_path: Path
) -> None:
    drill = life(sample_backup, sample_release, tmp_path, failed=True)
    with drill:
        pass
    assert '"event_id":"startup"' in drill.artefacts["target.log"].replace(" ", "")
    assert "store/catalog.json" in drill.artefacts["restore.json"]
    assert not (tmp_path / "drill").exists()


def test_a_target_that_never_comes_up_is_a_finding_and_the_life_goes_on(
    sample_backup: Path, sample_release: SampleRelease, tmp_path: Path
) -> None:
    target = target_file(tmp_path, """local_command = ["sh", "-c", "echo 'refusing this config' >&2; exit 2"]""")
    drill = life(sample_backup, sample_release, tmp_path, target=str(target))
    with drill as atlas:
        assert atlas.not_ready is not None
        assert "refusing this config" in atlas.not_ready
        assert (atlas.staging / "store/catalog.json").is_file()  # the restored state is still there to inspect
    assert not (tmp_path / "drill").exists()


def test_a_failing_start_undoes_the_restore_and_keeps_what_explains_it(
    sample_backup: Path, sample_release: SampleRelease, tmp_path: Path
) -> None:
    target = target_file(tmp_path, 'local_command = ["/nonexistent/atlas-server"]')
    drill = life(sample_backup, sample_release, tmp_path, target=str(target))
    with pytest.raises(FileNotFoundError), drill:
        pytest.fail("the life must not start")
    assert not (tmp_path / "drill").exists(), "the restored tree was left behind"
    assert "store/catalog.json" in drill.artefacts["restore.json"]


def test_a_refused_restore_leaves_nothing(sample_release: SampleRelease, tmp_path: Path) -> None:
    broken = tmp_path / "broken.tar"
    broken.write_bytes(b"not a tar archive" * 100)
    drill = life(broken, sample_release, tmp_path)
    with pytest.raises(RestoreRefused), drill:
        pytest.fail("the life must not start")
    assert not (tmp_path / "drill").exists()
    assert drill.artefacts == {}


def test_a_target_ready_after_the_ready_budget_still_comes_up(
    sample_backup: Path, sample_release: SampleRelease, tmp_path: Path
) -> None:
    """The start-up timeout, not the ready budget, bounds the wait: a slow target is measured, not cut off."""
    slow = 'local_command = ["sh", "-c", "sleep 2 && exec \\"$0\\" -m atlas_drills.standin", "{python}"]'
    drill = life(sample_backup, sample_release, tmp_path, target=str(target_file(tmp_path, slow)))
    began = time.monotonic()
    with drill as atlas:
        assert atlas.not_ready is None
        assert atlas.phases["start"] + atlas.phases["ready"] >= 2
    assert time.monotonic() - began >= 2
