"""Finding a Docker engine that answers, or starting one on a Debian machine where we are root.

The engine is started with `--bridge=none --iptables=false`: no docker0, no 172.x addresses, no firewall changes.
Every drill container uses host networking and binds 127.0.0.1, so drill traffic never leaves the loopback.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Debian's client and daemon. Another `docker` (a newer client only) may come first in PATH, so name them fully.
DOCKER_CLIENT = "/usr/bin/docker"
DOCKERD = "/usr/sbin/dockerd"
START_TIMEOUT_S = 60.0
PING_TIMEOUT_S = 5


class EngineUnavailable(RuntimeError):
    """No Docker engine answers and none can be started here; the message says why and what to do."""


@dataclass(frozen=True)
class EngineInfo:
    version: str
    api_version: str
    started_pid: int | None  # set when this process started the daemon
    log_path: Path | None


def connect(timeout: int = PING_TIMEOUT_S) -> Any:
    """A docker SDK client that has answered a ping, or raise `EngineUnavailable`."""
    import docker
    from docker.errors import DockerException

    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except DockerException as exc:
        raise EngineUnavailable(f"no Docker engine answers ({exc})") from exc
    return client


def _describe(client: Any, started_pid: int | None, log_path: Path | None) -> EngineInfo:
    version = client.version()
    return EngineInfo(str(version.get("Version")), str(version.get("ApiVersion")), started_pid, log_path)


def _can_start_local_engine() -> str | None:
    """None when we may install/start Debian's engine here; otherwise the reason we may not."""
    if os.environ.get("DOCKER_HOST"):
        return f"DOCKER_HOST={os.environ['DOCKER_HOST']} names an engine that does not answer; start it or unset it"
    if os.geteuid() != 0:
        return "not root: start a Docker engine yourself (or run as root on Debian/Ubuntu to have one started)"
    if not Path("/etc/debian_version").exists():
        return "not a Debian/Ubuntu machine: install and start a Docker engine yourself"
    return None


def install_engine() -> None:
    """Install Debian's `docker.io` (client and daemon)."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    apt = shutil.which("apt-get") or "/usr/bin/apt-get"
    for command in ([apt, "update", "-q"], [apt, "install", "-y", "-q", "--no-install-recommends", "docker.io"]):
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise EngineUnavailable(f"{' '.join(command)} failed ({result.returncode}): {result.stderr[-2000:]}")


def start_engine(work_dir: Path) -> tuple[int, Path]:
    """Start dockerd detached (own session and stdio, so it never holds a CI log open). Returns pid and log."""
    work_dir.mkdir(parents=True, exist_ok=True)
    log_path = work_dir / "dockerd.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [DOCKERD, "--bridge=none", "--iptables=false", "--ip6tables=false"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    (work_dir / "dockerd.pid").write_text(f"{process.pid}\n")
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-3000:]
            raise EngineUnavailable(f"dockerd exited with {process.returncode}; its log ({log_path}):\n{tail}")
        try:
            connect(timeout=2)
        except EngineUnavailable:
            time.sleep(0.25)
            continue
        return process.pid, log_path
    process.terminate()
    raise EngineUnavailable(f"dockerd did not answer within {START_TIMEOUT_S:.0f} s; see {log_path}")


def ensure_engine(work_dir: Path, *, allow_start: bool = True) -> EngineInfo:
    """An engine that answers: the one configured (DOCKER_HOST or the local socket), or one we start."""
    try:
        return _describe(connect(), None, None)
    except EngineUnavailable as first:
        reason = _can_start_local_engine() if allow_start else "starting an engine was not allowed"
        if reason is not None:
            raise EngineUnavailable(f"{first}; {reason}") from first
    if not Path(DOCKERD).exists():
        install_engine()
    pid, log_path = start_engine(work_dir)
    return _describe(connect(), pid, log_path)


def stop_started_engine(work_dir: Path) -> bool:
    """Stop a daemon that `ensure_engine` started (its pid file is in `work_dir`). True if one was stopped."""
    pid_file = work_dir / "dockerd.pid"
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return False
    pid_file.unlink()
    try:
        os.kill(pid, 15)
    except ProcessLookupError:
        return False
    return True
