"""Fixtures for the evidence tests: a private, editable copy of the sample's release files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from atlas_drills.sample import SampleRelease


@pytest.fixture
def release(sample_release: SampleRelease, tmp_path: Path) -> Path:
    """A copy of the session sample's `ops/` (release metadata) and `build/` (dataset inputs), safe to edit.

    The store is left out: the evidence chain never reads it, and copying it would only slow every test down.
    """
    root = tmp_path / "release"
    for name in ("ops", "build"):
        shutil.copytree(sample_release.root / name, root / name, symlinks=True)
    return root


def read_json(root: Path, relpath: str) -> Any:
    return json.loads((root / relpath).read_bytes())


def write_json(root: Path, relpath: str, value: Any) -> None:
    (root / relpath).write_text(json.dumps(value, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def flip_one_byte(path: Path) -> None:
    """Change exactly one byte of `path`, keeping a JSON or text file parseable: its final byte becomes a space
    (or, when it already is one, a newline). Binary files get their last byte's low bit flipped."""
    data = bytearray(path.read_bytes())
    if data[-1] in (ord("\n"), ord(" ")):
        data[-1] = ord(" ") if data[-1] == ord("\n") else ord("\n")
    else:
        data[-1] ^= 1
    path.write_bytes(bytes(data))
