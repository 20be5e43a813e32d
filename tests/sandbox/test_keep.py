"""--drill-keep-on-failure: a failed drill's container and restored tree are kept, labelled with an expiry, with the
way in written beside the report; the sweeps spare them until they expire; `atlas-drills sandbox list|rm|sweep`
finds and removes them. Nothing is kept by default."""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from atlas_drills.cli import main
from atlas_drills.plan import PROJECT_ROOT
from atlas_drills.sample import SampleRelease
from atlas_drills.sandbox.base import free_port
from atlas_drills.sandbox.docker import LABEL_PREFIX, MANAGED_LABEL
from atlas_drills.sandbox.keep import KeepError, KeptSandbox, is_kept, keep_sandbox, kept_sandboxes, parse_duration
from atlas_drills.sandbox.sweep import sweep

KEEP_LABEL = f"{LABEL_PREFIX}.keep-until"


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("30m", 1800), ("24h", 86400), ("2d", 172800), ("45", 45)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "-5m", "soon", "3w", "1h30m"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(KeepError, match="expected a positive duration such as 30m, 24h or 2d"):
        parse_duration(text)


def test_is_kept_until_the_label_expires() -> None:
    now = 1_000_000.0
    assert is_kept({KEEP_LABEL: "1000100"}, now)
    assert not is_kept({KEEP_LABEL: "999999"}, now)
    assert not is_kept({}, now)
    assert not is_kept({KEEP_LABEL: "soon"}, now)


def test_kept_sandboxes_joins_records_and_labelled_containers(tmp_path: Path) -> None:
    record = tmp_path / "run--drill"
    record.mkdir()
    (record / "kept.json").write_text(
        json.dumps({"drill": "file:///b.tar", "container_id": "c" * 64, "expires_epoch": 5.0})
    )
    containers = [
        {"id": "c" * 64, "labels": {KEEP_LABEL: "5"}},  # the recorded one: listed once
        {"id": "d" * 64, "labels": {KEEP_LABEL: "9", f"{LABEL_PREFIX}.drill": "sample://current"}},  # record gone
        {"id": "e" * 64, "labels": {}},  # not kept
    ]
    found = kept_sandboxes(tmp_path, containers)
    assert found == [
        KeptSandbox("run--drill", record, "c" * 64, "file:///b.tar", 5.0),
        KeptSandbox("d" * 12, None, "d" * 64, "sample://current", 9.0),
    ]
    assert [k.expired(7.0) for k in found] == [True, False]


def test_the_sweeps_spare_a_kept_container_until_it_expires(docker_client: Any, standin_image: str) -> None:
    dead_controller = {
        MANAGED_LABEL: "true",
        f"{LABEL_PREFIX}.run": "keep-test",
        f"{LABEL_PREFIX}.controller-host": socket.gethostname(),
        f"{LABEL_PREFIX}.controller-pid": "999999999",  # no such process: an orphan, which a sweep removes
    }
    kept = docker_client.containers.create(
        standin_image, labels={**dead_controller, KEEP_LABEL: str(int(time.time()) + 600)}
    )
    expired = docker_client.containers.create(
        standin_image, labels={**dead_controller, KEEP_LABEL: str(int(time.time()) - 1)}
    )
    try:
        removed = sweep(docker_client) + sweep(docker_client, run_id="keep-test")
        assert expired.id in removed
        assert kept.id not in removed
        docker_client.containers.get(kept.id)  # still there
    finally:
        for container in (kept, expired):
            subprocess.run(["/usr/bin/docker", "rm", "-f", container.id], capture_output=True, check=False)


def _drill(tmp_path: Path, backup: Path, release: SampleRelease, *options: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "drills/test_release_identity.py", "-p", "no:cacheprovider", "-q"]
    command += [
        f"--drill-report-dir={tmp_path / 'reports'}",
        f"--drill-backup={backup}",
        f"--drill-expect={release.root}",
    ]
    env = {**os.environ, "ATLAS_DRILLS_KEPT_DIR": str(tmp_path / "kept")}
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
        env.pop(name, None)
    return subprocess.run(
        [*command, "--drill-sandbox=docker", *options],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )


@pytest.fixture
def broken_backup(sample_backup: Path, tmp_path: Path) -> Path:
    """The small sample's backup with another release's identity: restorable, but its release identity fails."""
    out = tmp_path / "broken.tar.zst"
    assert main(["faults", "apply", "identity-other-release", str(sample_backup), "--out", str(out)]) == 0
    return out


def test_a_failed_drill_is_kept_and_listed_and_removed(  # noqa: PLR0917 - fixtures
    broken_backup: Path,
    sample_release: SampleRelease,
    tmp_path: Path,
    docker_client: Any,
    standin_image: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    del standin_image
    done = _drill(tmp_path, broken_backup, sample_release, "--drill-keep-on-failure=10m")
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    (record_path,) = (tmp_path / "reports" / "latest" / "artifacts").glob("*/kept.json")
    record = json.loads(record_path.read_text())
    assert record["kind"] == "docker"
    assert 590 <= record["expires_epoch"] - time.time() <= 600
    container = docker_client.containers.get(record["container_id"])
    assert container.status == "running"
    assert container.labels[KEEP_LABEL] == str(int(record["expires_epoch"]))
    assert record["base_url"].startswith("http://127.0.0.1:")
    assert requests.get(record["base_url"] + "/healthz", timeout=5).status_code == 200  # enter it: it still serves
    # ... the kept tree: the container mounts it, and it moved along
    assert container.exec_run(["ls", "/srv/atlas/store/catalog.json"]).exit_code == 0
    assert (Path(record["staging"]) / "store" / "catalog.json").is_file()
    assert f"docker exec -it {record['container_id'][:12]} sh" in record["enter"]

    monkeypatch.setenv("ATLAS_DRILLS_KEPT_DIR", str(tmp_path / "kept"))
    assert main(["sandbox", "list"]) == 0
    listing = capsys.readouterr().out
    name = Path(record["staging"]).parent.name
    assert name in listing
    assert "container + restored tree" in listing
    assert main(["sandbox", "sweep"]) == 0  # nothing has expired yet
    assert "no kept sandbox has expired" in capsys.readouterr().out
    assert main(["sandbox", "rm", name, "no-such-name"]) == 1
    out = capsys.readouterr()
    assert f"removed {name}: container {record['container_id'][:12]}" in out.out
    assert "no-such-name: no kept sandbox by that name" in out.err
    assert not Path(record["staging"]).exists()
    assert record["container_id"] not in [c.id for c in docker_client.containers.list(all=True)]


def test_nothing_is_kept_by_default(
    broken_backup: Path, sample_release: SampleRelease, tmp_path: Path, docker_client: Any, standin_image: str
) -> None:
    del standin_image
    done = _drill(tmp_path, broken_backup, sample_release)
    assert done.returncode == 1, done.stdout[-3000:]
    assert not list((tmp_path / "reports" / "latest" / "artifacts").glob("*/kept.json"))
    assert not (tmp_path / "kept").exists()
    run_id = (tmp_path / "reports" / "latest").resolve().name
    left = docker_client.containers.list(all=True, filters={"label": f"{LABEL_PREFIX}.run={run_id}"})
    assert left == []


def test_a_bad_duration_is_a_setup_error(tmp_path: Path, sample_release: SampleRelease, sample_backup: Path) -> None:
    done = _drill(tmp_path, sample_backup, sample_release, "--drill-keep-on-failure=soon")
    assert done.returncode == 4
    assert "--drill-keep-on-failure='soon': expected a positive duration" in done.stdout + done.stderr


def test_a_local_process_sandbox_keeps_its_restored_tree(
    broken_backup: Path, sample_release: SampleRelease, tmp_path: Path
) -> None:
    done = _drill(tmp_path, broken_backup, sample_release, "--drill-sandbox=local", "--drill-keep-on-failure=1h")
    assert done.returncode == 1, done.stdout[-3000:]
    (record_path,) = (tmp_path / "reports" / "latest" / "artifacts").glob("*/kept.json")
    record = json.loads(record_path.read_text())
    assert record["kind"] == "local"
    assert record["container_id"] is None
    assert (Path(record["staging"]) / "config" / "atlas.env").is_file()
    (serve,) = [command for command in record["enter"] if "ATLAS_STORE_ROOT=" in command]
    assert f". {record['staging']}/config/atlas.env" in serve  # the restored configuration, as the drill used it
    assert f"{sys.executable} -m atlas_drills.standin" in serve  # the same target: the stand-in's local command
    # Its own session, so the whole group (the shell and the server it starts) is stopped by this test alone.
    port = free_port()  # the hint says 18080; a parallel test run may hold that one
    serve = serve.replace("127.0.0.1:18080", f"127.0.0.1:{port}")
    log = tmp_path / "serve-again.log"
    with log.open("wb") as sink:
        again = subprocess.Popen(["/bin/bash", "-c", serve], stdout=sink, stderr=sink, start_new_session=True)
    try:  # it serves the kept tree again
        assert _answers(f"http://127.0.0.1:{port}/healthz"), f"the kept tree was not served again: {log.read_text()}"
    finally:
        os.killpg(again.pid, signal.SIGTERM)
        again.wait(timeout=10)


def _answers(url: str, tries: int = 300) -> bool:  # up to about 30 s: a loaded CI machine starts it slowly
    for _ in range(tries):
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return True
        except requests.ConnectionError:
            time.sleep(0.1)
    return False


class _MountingSandbox:
    """What keep_sandbox asks of a Docker sandbox whose container mounts the restored tree."""

    kind = "docker"
    mounts_store = True
    container_id = "c0ffee" * 10
    base_url = "http://127.0.0.1:1"

    def __init__(self) -> None:
        self.stopped = False

    def stop(self) -> None:
        self.stopped = True


def test_a_mounting_container_is_not_kept_when_its_tree_must_cross_file_systems(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    staging = tmp_path / "work" / "staging"
    (staging / "store").mkdir(parents=True)
    (staging / "store" / "catalog.json").write_text("{}")

    def cross_device(self: Path, target: Path) -> Path:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(Path, "rename", cross_device)
    sandbox = _MountingSandbox()
    record = keep_sandbox(
        sandbox, staging, drill_id="d", run_id="r", slug="d", until=time.time() + 60, root=tmp_path / "kept"
    )
    assert sandbox.stopped, "a container whose mounted tree is gone would serve nothing"
    assert record["container_id"] is None
    assert record["base_url"] is None
    assert "ATLAS_DRILLS_KEPT_DIR" in record["note"]
    assert (Path(record["staging"]) / "store" / "catalog.json").read_text() == "{}"
    assert not staging.exists()


def test_a_mounting_container_is_kept_when_its_tree_is_renamed(tmp_path: Path) -> None:
    staging = tmp_path / "work" / "staging"
    (staging / "store").mkdir(parents=True)
    sandbox = _MountingSandbox()
    record = keep_sandbox(
        sandbox, staging, drill_id="d", run_id="r", slug="d", until=time.time() + 60, root=tmp_path / "kept"
    )
    assert not sandbox.stopped
    assert record["container_id"] == sandbox.container_id
    assert "note" not in record
