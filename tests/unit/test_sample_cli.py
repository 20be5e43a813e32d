"""`atlas-drills sample build`: happy path, refusals and usage errors, through the real entry point."""

from __future__ import annotations

from pathlib import Path

import pytest

from atlas_drills.cli import main
from atlas_drills.sample import load_sample


def test_build_prints_the_sample_path_and_reports_progress(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sample"
    code = main(["sample", "build", str(out), "--genes", "40", "--seed", "11", "--second-species", "none"])
    captured = capsys.readouterr()
    assert code == 0
    assert captured.out.strip() == str(out)
    assert "dataset 3/3 built" in captured.err
    release = load_sample(out)
    assert [d.canonical for d in release.datasets] == [
        "110/homo_sapiens/GRCh38",
        "111/homo_sapiens/GRCh38",
        "112/homo_sapiens/GRCh38",
    ]


def test_build_options_shape_the_release(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sample"
    argv = ["sample", "build", str(out), "--genes", "30", "--releases", "7,8", "--species", "danio_rerio"]
    argv += ["--assembly", "GRCz11", "--second-species", "mus_musculus", "--second-assembly", "GRCm39", "--quiet"]
    assert main(argv) == 0
    assert capsys.readouterr().err == ""
    release = load_sample(out)
    assert [d.canonical for d in release.datasets] == ["7/danio_rerio/GRCz11", "8/danio_rerio/GRCz11",
                                                       "8/mus_musculus/GRCm39"]  # fmt: skip
    assert release.current.canonical == "8/danio_rerio/GRCz11"


def test_a_non_empty_out_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("x")
    assert main(["sample", "build", str(tmp_path / "taken"), "--genes", "20"]) == 2
    assert "not an empty folder" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("releases", "message"),
    [("110", "at least two"), ("112,111", "strictly increasing"), ("110,x1", "release 'x1'")],
)
def test_bad_releases_exit_2_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], releases: str, message: str
) -> None:
    assert main(["sample", "build", str(tmp_path / "out"), "--releases", releases]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_malformed_arguments_are_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["sample", "build", str(tmp_path / "out"), "--releases", "110,,112"])
    assert exited.value.code == 2
    assert "comma-separated release numbers" in capsys.readouterr().err


def test_help_describes_the_layout(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["sample", "build", "--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    for words in ("--genes", "--releases", "--second-species", "config/atlas.env", "byte-identical"):
        assert words in text
