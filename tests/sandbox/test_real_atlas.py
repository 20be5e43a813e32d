"""A real Atlas server, when one is given: the good sample backup passes every criterion and the stand-in agrees
with it on every request the drills make.

    ATLAS_DRILLS_ATLAS_SERVER=/path/to/target/release/bijux-atlas-server   # a native build (local sandbox)
    ATLAS_DRILLS_ATLAS_IMAGE=bijux-atlas-server:<tag>                       # an image of it (Docker sandbox)

Nothing of Atlas is part of this project: without these variables the tests skip.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from atlas_drills.backup.create import create_backup
from atlas_drills.conformance.run import ServerUnderTest, run_conformance
from atlas_drills.faults.catalog import ALL
from atlas_drills.runtime_config import read_env_file, render_env
from atlas_drills.sample import SampleRelease, load_sample
from atlas_drills.sandbox.base import SandboxRequest
from atlas_drills.sandbox.local import LocalSandbox
from atlas_drills.sandbox.target import load_target
from tests.faults.drill_run import MatrixTarget, run_drills

# Settings a real deployment carries that the drills must not hold against a good backup: Atlas's Helm chart sets
# the first two, and the third makes Atlas (and the stand-in) log text instead of JSON.
DEPLOYMENT_SETTINGS = {"ATLAS_AUDIT_ENABLED": "true", "ATLAS_SLOW_QUERY_THRESHOLD_MS": "250", "ATLAS_LOG_JSON": "false"}

SERVER = os.environ.get("ATLAS_DRILLS_ATLAS_SERVER", "")
IMAGE = os.environ.get("ATLAS_DRILLS_ATLAS_IMAGE", "")
WITH_STANDIN = [pytest.param("standin-local")]
KINDS = [
    pytest.param("local", marks=pytest.mark.skipif(not SERVER, reason="set ATLAS_DRILLS_ATLAS_SERVER to a binary")),
    pytest.param("docker", marks=pytest.mark.skipif(not IMAGE, reason="set ATLAS_DRILLS_ATLAS_IMAGE to an image")),
]


def _server(kind: str) -> ServerUnderTest:
    atlas = load_target("atlas")
    return ServerUnderTest(atlas.with_command(SERVER)) if kind == "local" else ServerUnderTest(atlas, IMAGE)


@pytest.mark.parametrize("kind", KINDS)
def test_the_good_backup_is_recoverable_on_atlas(
    kind: str, sample_backup: Path, sample_release: SampleRelease, tmp_path: Path
) -> None:
    target = MatrixTarget("atlas", image=IMAGE, command=SERVER)
    outcome = run_drills(sample_backup, sample_release.root, tmp_path, kind, target)
    assert outcome.verdicts == dict.fromkeys(sorted(ALL), "pass"), "\n".join(outcome.messages) or outcome.output


@pytest.mark.parametrize("kind", KINDS)
def test_the_standin_agrees_with_atlas_on_every_drill_request(kind: str, sample_backup: Path, tmp_path: Path) -> None:
    result = run_conformance(sample_backup, _server(kind), tmp_path)
    assert result.verdict_differences == [], "\n".join(d.render() for d in result.verdict_differences)


@pytest.fixture(scope="module")
def deployment_backup(sample_release: SampleRelease, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The sample with DEPLOYMENT_SETTINGS added to its runtime configuration, backed up with its baseline."""
    folder = tmp_path_factory.mktemp("deployment")
    release = load_sample(Path(shutil.copytree(sample_release.root, folder / "release")))
    settings = {**read_env_file(release.config_file), **DEPLOYMENT_SETTINGS}
    release.config_file.write_text(render_env(settings, "the sample's settings, with a deployment's"))
    request = SandboxRequest(load_target("standin"), staging=release.root, work_dir=folder / "live")
    with LocalSandbox(request) as live:
        backup = create_backup(
            release.store_root, release.root / "ops", release.config_file, folder / "backup.tar.zst",
            baseline_from=live.base_url, show_progress=False,
        ).path  # fmt: skip
    return backup, release.root


@pytest.mark.parametrize("kind", WITH_STANDIN + KINDS)
def test_deployment_settings_and_text_logs_keep_a_good_backup_recoverable(
    kind: str, deployment_backup: tuple[Path, Path], tmp_path: Path
) -> None:
    backup, expect = deployment_backup
    if kind == "standin-local":
        target, sandbox = MatrixTarget(), "local"
    else:
        target, sandbox = MatrixTarget("atlas", image=IMAGE, command=SERVER), kind
    outcome = run_drills(backup, expect, tmp_path, sandbox, target)
    assert outcome.verdicts == dict.fromkeys(sorted(ALL), "pass"), "\n".join(outcome.messages) or outcome.output
