"""A writer killed mid-write leaves the previous complete report or the new complete one, never half of one."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from plugins.drill_report.files import EventLog, atomic_write_text, update_latest

WRITER = r"""
import hashlib, json, os, sys, time
from pathlib import Path
from plugins.drill_report import files

mode, path, signal_file = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])

def document(version):
    body = "x" * (4 * 1024 * 1024) + str(version)
    return json.dumps({"version": version, "sha256": hashlib.sha256(body.encode()).hexdigest(), "body": body})

if mode == "naive":  # the control: what a plain open(..., "w") leaves behind
    text = document(1)
    with path.open("w") as handle:
        handle.write(text[: len(text) // 2])
        handle.flush()
        signal_file.write_text("mid")
        time.sleep(60)
elif mode == "pause-before-replace":
    real_replace = os.replace
    def paused(src, dst):
        signal_file.write_text("mid")
        time.sleep(60)
        real_replace(src, dst)
    os.replace = paused
    files.atomic_write_text(path, document(1))
else:  # loop: write new versions as fast as possible until killed
    version = 1
    signal_file.write_text("started")
    while True:
        files.atomic_write_text(path, document(version))
        version += 1
"""


def complete_version(path: Path) -> int:
    """The version of a complete document at `path`; fails on a truncated or corrupted one."""
    __tracebackhide__ = True
    document = json.loads(path.read_text())
    assert hashlib.sha256(document["body"].encode()).hexdigest() == document["sha256"]
    return int(document["version"])


def start_writer(tmp_path: Path, mode: str, target: Path) -> tuple[subprocess.Popen[bytes], Path]:
    signal_file = tmp_path / f"signal-{mode}-{time.monotonic_ns()}"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    process = subprocess.Popen([sys.executable, str(script), mode, str(target), str(signal_file)])
    deadline = time.monotonic() + 30
    while not signal_file.exists():
        assert process.poll() is None, "the writer died on its own"
        assert time.monotonic() < deadline, "the writer never started"
        time.sleep(0.005)
    return process, signal_file


def kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def previous(target: Path) -> None:
    target.write_text(json.dumps({"version": 0, "sha256": hashlib.sha256(b"old").hexdigest(), "body": "old"}))


def test_the_control_a_plain_write_killed_midway_leaves_a_truncated_file(tmp_path: Path) -> None:
    target = tmp_path / "drill-report.json"
    previous(target)
    process, _ = start_writer(tmp_path, "naive", target)
    kill(process)
    with pytest.raises(json.JSONDecodeError):
        complete_version(target)


def test_a_kill_before_the_replace_leaves_the_previous_complete_file(tmp_path: Path) -> None:
    target = tmp_path / "drill-report.json"
    previous(target)
    process, _ = start_writer(tmp_path, "pause-before-replace", target)
    kill(process)
    assert complete_version(target) == 0


def test_kills_at_random_moments_always_leave_a_complete_file(tmp_path: Path) -> None:
    target = tmp_path / "drill-report.json"
    previous(target)
    rng = random.Random(20261124)
    seen = set()
    for _ in range(12):
        process, _ = start_writer(tmp_path, "loop", target)
        time.sleep(rng.uniform(0.0, 0.25))
        kill(process)
        seen.add(complete_version(target))
    assert seen - {0}, "no kill ever landed after a complete write: the test proves nothing"
    # What killed writes left behind never reaches a reader: `latest`, copied where symlinks fail, holds the
    # complete report and nothing else.
    process, _ = start_writer(tmp_path, "pause-before-replace", target)
    kill(process)  # one leftover for certain, whatever the random kills left
    run = tmp_path / "run"
    run.mkdir()
    for leftover in tmp_path.glob(".drill-report.json.*"):
        leftover.rename(run / leftover.name)
    target.rename(run / target.name)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "symlink", _no_symlinks)
        latest = update_latest(tmp_path, run)
    assert sorted(p.name for p in latest.iterdir()) == ["drill-report.json"]
    assert complete_version(latest / "drill-report.json") in seen


def _no_symlinks(*args: object, **kwargs: object) -> None:
    raise OSError("symlinks are not supported here")


def test_latest_is_replaced_atomically_and_falls_back_to_a_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for run in ("run-1", "run-2"):
        atomic_write_text(tmp_path / run / "drill-report.json", json.dumps({"run": run}))
    latest = update_latest(tmp_path, tmp_path / "run-1")
    assert latest.is_symlink()
    assert os.readlink(latest) == "run-1"
    update_latest(tmp_path, tmp_path / "run-2")
    assert os.readlink(latest) == "run-2"

    monkeypatch.setattr(os, "symlink", _no_symlinks)
    update_latest(tmp_path, tmp_path / "run-1")
    assert not latest.is_symlink()
    assert json.loads((latest / "drill-report.json").read_text()) == {"run": "run-1"}
    update_latest(tmp_path, tmp_path / "run-2")
    assert json.loads((latest / "drill-report.json").read_text()) == {"run": "run-2"}


def test_the_event_log_is_flushed_line_by_line(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "events.jsonl")
    log.write({"event": "one"})
    assert json.loads((tmp_path / "events.jsonl").read_text()) == {"event": "one"}  # before close
    log.close()
