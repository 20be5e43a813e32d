"""A real Atlas server, when one is given: the good sample backup passes every criterion and the stand-in agrees
with it on every request the drills make.

    ATLAS_DRILLS_ATLAS_SERVER=/path/to/target/release/bijux-atlas-server   # a native build (local sandbox)
    ATLAS_DRILLS_ATLAS_IMAGE=bijux-atlas-server:<tag>                       # an image of it (Docker sandbox)

Nothing of Atlas is part of this project: without these variables the tests skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from atlas_drills.conformance.run import ServerUnderTest, run_conformance
from atlas_drills.faults.catalog import ALL
from atlas_drills.sample import SampleRelease
from atlas_drills.sandbox.target import load_target
from tests.faults.drill_run import MatrixTarget, run_drills

SERVER = os.environ.get("ATLAS_DRILLS_ATLAS_SERVER", "")
IMAGE = os.environ.get("ATLAS_DRILLS_ATLAS_IMAGE", "")
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
