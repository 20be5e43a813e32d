"""The drill fixtures in real pytest runs: xdist, destructive checks' own sandboxes, failure artefacts, signals, sweeps.

Each test runs pytest in a subprocess over a small drill module that uses `restored_atlas`, with Docker sandboxes,
and then asks the engine which containers of that run still exist.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from atlas_drills.plan import PROJECT_ROOT
from atlas_drills.sandbox.sweep import RUN_LABEL

DRILL_MODULE = """
import os, time
from pathlib import Path
import pytest, requests

def test_ready(restored_atlas):
    assert requests.get(restored_atlas.base_url + "/readyz", timeout=5).status_code == 200

def test_same_restore_is_shared(restored_atlas):
    marker = restored_atlas.staging / "shared-marker"
    marker.write_text(str(os.getpid()))
    assert restored_atlas.choice.kind == "docker"

@pytest.mark.destructive
def test_destructive_gets_its_own_sandbox_over_the_one_restore(restored_atlas, _shared_restored_atlas):
    shared = _shared_restored_atlas
    assert restored_atlas.restore is shared.restore, "a destructive check must not restore again"
    assert restored_atlas.sandbox is not shared.sandbox and restored_atlas.base_url != shared.base_url
    assert restored_atlas.sandbox.request.writable and not shared.sandbox.request.writable
    restored_atlas.sandbox.write_store_files({"drill-marker": b"changed"})
    assert restored_atlas.sandbox.store_changes(restored_atlas.verified_store) == ["drill-marker"]
    assert not (shared.staging / "store" / "drill-marker").exists(), "the verified tree must never change"

def test_hold(restored_atlas):
    hold = os.environ.get("DRILL_HOLD")
    if hold:
        Path(hold).write_text("up")
        time.sleep(300)

def test_fail_on_request(restored_atlas):
    assert not os.environ.get("DRILL_FAIL"), "failing on request"
"""

CONFTEST = (
    'pytest_plugins = ["plugins.options", "plugins.run", "fixtures.drills", "fixtures.restore", '
    '"plugins.drill_report.plugin"]\n'
)
RUN_TIMEOUT_S = 240


@pytest.fixture
def drill_dir(tmp_path: Path, docker_client: Any, standin_image: str) -> Path:
    """A folder holding a conftest that loads the drill fixtures and a small drill module."""
    del docker_client, standin_image  # requested so a missing engine skips (or fails, in CI) before any run
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_drill.py").write_text(DRILL_MODULE)
    return tmp_path


@pytest.fixture
def run_id(docker_client: Any) -> Iterator[str]:
    value = f"selftest-{secrets.token_hex(4)}"
    yield value
    for container in _containers(docker_client, value):
        container.remove(force=True)
    shutil.rmtree(PROJECT_ROOT / "reports" / value, ignore_errors=True)


def _containers(client: Any, run_id: str) -> list[Any]:
    return list(client.containers.list(all=True, filters={"label": f"{RUN_LABEL}={run_id}"}))


def _command(drill_dir: Path, *args: str) -> list[str]:
    # --rootdir pins reports/ to the drill folder, whatever the working directory's common ancestor with it is.
    return [
        sys.executable, "-m", "pytest", str(drill_dir), f"--rootdir={drill_dir}", "-p", "no:cacheprovider",
        "--drill-sandbox=docker",
        f"--basetemp={drill_dir / 'basetemp'}", *args,
    ]  # fmt: skip


def _env(run_id: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "ATLAS_DRILLS_RUN_ID": run_id, **extra}


def _run(drill_dir: Path, run_id: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _command(drill_dir, *args),
        env=_env(run_id, **env),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )


def test_drills_share_a_restore_under_xdist_and_leave_no_container(
    drill_dir: Path, run_id: str, docker_client: Any
) -> None:
    result = _run(drill_dir, run_id, "-n", "2", "--dist", "loadgroup", "-k", "not fail_on_request")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout
    assert _containers(docker_client, run_id) == []


def test_a_failed_drill_keeps_its_log_and_restore_output(drill_dir: Path, run_id: str, docker_client: Any) -> None:
    result = _run(drill_dir, run_id, "-k", "fail_on_request", DRILL_FAIL="1")
    assert result.returncode == 1, result.stdout + result.stderr
    # Beside the run's drill report: reports/ under the rootdir, which here is the drill folder.
    artifacts = drill_dir / "reports" / run_id / "artifacts" / "sample_current"
    assert '"event_id":"startup"' in (artifacts / "target.log").read_text().replace(" ", "")
    assert "store/catalog.json" in (artifacts / "restore.json").read_text()
    assert _containers(docker_client, run_id) == []


def _start_holding_run(drill_dir: Path, run_id: str, hold: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        _command(drill_dir, "-n", "2", "--dist", "loadgroup", "-k", "hold"),
        env=_env(run_id, DRILL_HOLD=str(hold)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while not hold.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            output = process.communicate(timeout=10)[0] if process.poll() is not None else ""
            process.kill()
            pytest.fail(f"the drill run never reached its hold point:\n{output}")
        time.sleep(0.1)
    return process


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signalled_run_leaves_no_container(
    signum: signal.Signals, drill_dir: Path, run_id: str, docker_client: Any
) -> None:
    process = _start_holding_run(drill_dir, run_id, drill_dir / "held")
    assert len(_containers(docker_client, run_id)) == 1
    os.kill(process.pid, signum)  # the controller only, as a CI runner's cancel does
    try:
        process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode != 0
    assert _containers(docker_client, run_id) == []


def test_a_sigkilled_runs_leftovers_are_swept_by_the_next_run(drill_dir: Path, run_id: str, docker_client: Any) -> None:
    process = _start_holding_run(drill_dir, run_id, drill_dir / "held")
    os.killpg(process.pid, signal.SIGKILL)  # nothing of the run survives to clean up
    process.wait(timeout=30)
    assert process.stdout is not None
    process.stdout.close()
    assert len(_containers(docker_client, run_id)) == 1
    shutil.rmtree(drill_dir / "basetemp", ignore_errors=True)
    second = f"{run_id}-next"
    try:
        result = _run(drill_dir, second, "-k", "test_ready")
        assert result.returncode == 0, result.stdout + result.stderr
    finally:
        for container in _containers(docker_client, second):
            container.remove(force=True)
    assert _containers(docker_client, run_id) == []
