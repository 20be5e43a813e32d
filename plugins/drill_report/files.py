"""Writing report files so that a kill never leaves half a file, and an event log that survives one.

Each file is written to a temporary file in the same folder, flushed and fsynced, then `os.replace`d over the
target: a reader sees the previous complete file or the new complete one. `reports/latest` is a symlink replaced the
same way (a copy where symlinks are not possible). The event log is appended one JSON line at a time and flushed
after each, so a killed run still leaves every event it lived through.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import IO, Any

LATEST = "latest"
JSON_NAME = "drill-report.json"
MD_NAME = "drill-report.md"
HTML_NAME = "drill-report.html"
JUNIT_NAME = "junit.xml"
EVENTS_NAME = "events.jsonl"
ARTEFACTS_FOLDER = "artifacts"


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as temp:
            temp.write(data)
            temp.flush()
            os.fsync(temp.fileno())
        os.chmod(temp_name, 0o644)
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    return path


def atomic_write_text(path: Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def slug(drill_id: str) -> str:
    """A drill id as a folder name (`sample://current` -> `sample_current`)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", drill_id).strip("_")


def atomic_move(source: Path, target: Path) -> Path:
    """Move a finished file (pytest's JUnit XML) into place in one step, copying first across file systems."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(source, target)
    except OSError:
        atomic_write_bytes(target, source.read_bytes())
        source.unlink()
    return target


def update_latest(report_dir: Path, run_folder: Path) -> Path:
    """Point `report_dir/latest` at `run_folder`: a relative symlink swapped in atomically, or a copy."""
    latest = report_dir / LATEST
    temp = report_dir / f".{LATEST}.{os.getpid()}.tmp"
    with contextlib.suppress(FileNotFoundError):
        _remove(temp)
    try:
        os.symlink(run_folder.name, temp, target_is_directory=True)
        if latest.is_dir() and not latest.is_symlink():
            shutil.rmtree(latest)  # an earlier copy: os.replace cannot put a link over a directory
        os.replace(temp, latest)
    except OSError:
        with contextlib.suppress(FileNotFoundError):
            _remove(temp)
        shutil.copytree(run_folder, temp, ignore=shutil.ignore_patterns(".*.tmp"))
        if latest.exists() or latest.is_symlink():
            _remove(latest)
        os.replace(temp, latest)
    return latest


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


class EventLog:
    """`events.jsonl`: one JSON object per line, appended and flushed per event."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file: IO[str] | None = path.open("a", encoding="utf-8")

    def write(self, event: dict[str, Any]) -> None:
        if self._file is None:
            return
        self._file.write(json.dumps(event, sort_keys=True, default=str) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
