"""`atlas-drills evidence check DIR [--json]`: output and exit codes, run through the real command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from atlas_drills.cli import main
from atlas_drills.evidence.paths import (
    CHECKSUMS,
    DATASET_INDEX,
    DATASETS_LOCK,
    EVIDENCE_MANIFEST,
    PACKET,
    PROVENANCE,
    RELEASE_FILES,
)
from atlas_drills.store.canonical import sha256_file
from tests.evidence.conftest import flip_one_byte, read_json, write_json


def test_a_whole_chain_exits_0_with_a_summary(release: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evidence", "check", str(release)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert not any(line.startswith("FAIL") for line in lines)
    assert lines[-1].startswith(f"{release}: evidence chain holds: ")
    assert lines[-1].endswith(" links hold, 0 broken")


def test_a_broken_link_exits_1_grouped_by_file_one_line_each(release: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flip_one_byte(release / PROVENANCE)
    assert main(["evidence", "check", str(release)]) == 1
    lines = capsys.readouterr().out.splitlines()
    recorded = read_json(release, EVIDENCE_MANIFEST)["provenance"]["sha256"]
    actual = sha256_file(release / PROVENANCE)
    assert lines[0] == f"FAIL {EVIDENCE_MANIFEST}: 1 broken"
    assert (
        lines[1]
        == f"  provenance.sha256: provenance digest in evidence manifest: expected {recorded}, observed {actual}"
    )
    files = [line.split()[1].rstrip(":") for line in lines if line.startswith("FAIL ")]
    assert files == [EVIDENCE_MANIFEST, PACKET, CHECKSUMS]
    assert "evidence chain BROKEN" in lines[-1]
    assert lines[-1].endswith(" 3 broken")
    assert not any(line.startswith("ok ") for line in lines)  # passed links only with --all


def test_the_schema_judging_each_file_is_named(release: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evidence", "check", str(release)]) == 0
    lines = capsys.readouterr().out.splitlines()
    start = lines.index("schemas:")
    judged = lines[start + 1 : -1]
    assert len(judged) == len(RELEASE_FILES)
    assert f"  {DATASETS_LOCK}: atlas-drills release/datasets-manifest-lock.schema.json" in "\n".join(judged)
    assert all(line.endswith("(atlas-drills schema: the release ships none)") for line in judged)


def test_schema_violations_read_without_python_reprs_and_long_lists_are_cut(
    release: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = read_json(release, DATASET_INDEX)
    many = [f"{n}/homo_sapiens/GRCh38" for n in range(100, 110)]
    write_json(release, DATASET_INDEX, index | {"generated_by": "x", "stale_dataset_ids": many})
    assert main(["evidence", "check", str(release)]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    schema = "schema atlas-drills release/dataset-index.schema.json"
    assert f"  generated_by: {schema}: expected no key the schema does not define, observed [generated_by]" in lines
    stale = next(line for line in lines if line.startswith("  stale_dataset_ids: dataset index lists no"))
    assert stale.endswith(", ... (+6 more)]")
    broken = lines[: lines.index("schemas:")]
    for token in ("'", "None", "True", "{'"):
        assert not any(token in line for line in broken), token
    assert main(["evidence", "check", str(release), "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    [finding] = [f for f in document if f["where"] == f"{DATASET_INDEX}: stale_dataset_ids"]
    assert finding["observed"] == many  # --json stays complete


def test_all_lists_the_links_that_hold_too(release: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evidence", "check", str(release), "--all"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert f"ok   {DATASET_INDEX}: 4 hold" in lines


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
