"""A drill run stopped by SIGTERM, and stopped again while it cleans up, still ends with a complete report that
says it was interrupted (the synthetic drill suite of tests/report, with a slow session teardown)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.report.synthetic import make_suite

SLOW_TEARDOWN = """

@pytest.fixture(scope="session", autouse=True)
def _slow_session_teardown():
    yield
    Path(os.environ["SYNTH_TEARDOWN_FILE"]).write_text("tearing down")
    time.sleep(3)  # a container being removed, a sandbox being swept
"""


def _wait(condition: Callable[[], bool], process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert process.poll() is None, f"the run ended before {what}"
        assert time.monotonic() < deadline, f"never saw {what}"
        time.sleep(0.05)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_second_signal_during_cleanup_still_leaves_a_complete_interrupted_report(
    pytester: pytest.Pytester, signum: int
) -> None:
    root = make_suite(pytester, {"sample://current": {"hold": "test_readiness.py::test_first"}})
    with (root / "conftest.py").open("a") as conftest:
        conftest.write(SLOW_TEARDOWN)
    hold, teardown = root / "holding", root / "tearing-down"
    env = os.environ | {
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "SYNTH_HOLD_FILE": str(hold),
        "SYNTH_TEARDOWN_FILE": str(teardown),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", "drills", "-p", "no:randomly", "-p", "no:cacheprovider"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        _wait(hold.exists, process, "the held check")
        process.send_signal(signum)
        _wait(teardown.exists, process, "the session teardown")
        process.send_signal(signum)
        output, _ = process.communicate(timeout=60)
    finally:
        process.kill()
    text = output.decode(errors="replace")
    assert "INTERNALERROR" not in text, text[-3000:]
    runs = [p for p in (root / "reports").iterdir() if p.is_dir() and not p.is_symlink()]
    assert len(runs) == 1, text[-3000:]
    report = json.loads((runs[0] / "drill-report.json").read_text())
    assert any("interrupted" in problem for problem in report["verdict"]["problems"]), report["verdict"]
    assert report["run"]["pytest_exit_status"] == pytest.ExitCode.INTERRUPTED
    assert (runs[0] / "drill-report.md").is_file()
    assert (runs[0] / "drill-report.html").is_file()
