"""Bad options of a drill run and unprintable text in refusals: a usage error or an escaped line, never a raw
exception, an INTERNALERROR or a forged line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from atlas_drills.backup.errors import Finding, RestoreRefused, printable
from atlas_drills.plan import PROJECT_ROOT, PlanError, load_plan


@pytest.mark.parametrize("kind", ["folder", "binary"])
def test_a_drill_plan_that_is_a_folder_or_binary_is_a_plan_error_naming_it(tmp_path: Path, kind: str) -> None:
    plan = tmp_path / "plan"
    if kind == "folder":
        plan.mkdir()
    else:
        plan.write_bytes(b"\xff\xfe\x00binary" * 10)
    with pytest.raises(PlanError) as caught:
        load_plan(plan)
    assert str(plan) in str(caught.value)


def test_an_unwritable_report_dir_is_a_usage_error_not_an_internal_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATLAS_DRILLS_", "PYTEST_XDIST"))}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "drills", "-q", "-p", "no:cacheprovider",
         f"--drill-report-dir={blocker / 'reports'}"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, output[-2000:]
    assert "INTERNALERROR" not in output
    assert f"--drill-report-dir {blocker / 'reports'}: cannot write there" in output


def test_a_refusal_escapes_control_characters_in_every_field() -> None:
    refused = RestoreRefused("store/a\nstore/b: intact", "digest-mismatch", "\x1b[2Jx", "y\r\u202ez")
    text = str(refused)
    assert "\n" not in text
    assert "\x1b" not in text
    assert "\r" not in text
    assert "\u202e" not in text
    assert "store/a\\nstore/b: intact" in text
    assert text.count("digest-mismatch") == 1


def test_printable_cuts_long_values_and_says_how_much() -> None:
    assert printable("x" * 1000).endswith("...(700 more characters)")
    assert str(Finding("m", "r", "e" * 5000, "o")).count("e") < 400
