"""`atlas-drills evidence check DIR [--json]`: output and exit codes, run through the real command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from atlas_drills.cli import main
from atlas_drills.evidence.paths import PROVENANCE
from tests.evidence.conftest import flip_one_byte


def test_a_whole_chain_exits_0_with_a_summary(release: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evidence", "check", str(release)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert not any(line.startswith("FAIL") for line in lines)
    assert lines[-1].startswith(f"{release}: evidence chain holds: ")
    assert lines[-1].endswith(" links hold, 0 broken")


def test_a_broken_link_exits_1_and_is_printed_first(release: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flip_one_byte(release / PROVENANCE)
    assert main(["evidence", "check", str(release)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("FAIL provenance digest in evidence manifest at ops/release/evidence/manifest.json")
    assert "evidence chain BROKEN" in lines[-1]
    assert lines[-1].endswith(" 3 broken")
    first_ok = next(i for i, line in enumerate(lines) if line.startswith("ok "))
    assert all(not line.startswith("FAIL") for line in lines[first_ok:])


def test_json_prints_every_finding_as_an_array(release: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flip_one_byte(release / PROVENANCE)
    assert main(["evidence", "check", str(release), "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert isinstance(document, list)
    assert {tuple(sorted(f)) for f in document} == {
        ("check", "criterion", "expected", "message", "observed", "verdict", "where")
    }
    assert sum(f["verdict"] == "fail" for f in document) == 3
    assert sum(f["verdict"] == "pass" for f in document) > 50


def test_a_missing_folder_exits_2_saying_what_to_give(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evidence", "check", str(tmp_path / "absent")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "no such folder; give the release folder that holds ops/" in captured.err


def test_a_folder_without_ops_exits_2(release: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evidence", "check", str(release / "ops")]) == 2
    assert "holds no ops/ folder" in capsys.readouterr().err


def test_the_installed_command_line_runs_it(release: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "atlas_drills", "evidence", "check", str(release), "--json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert all(f["verdict"] == "pass" for f in json.loads(result.stdout))
