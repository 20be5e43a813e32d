"""Running `atlas-drills backup ...` in a subprocess under hard resource limits, as an attacker's input would run.

Limits are set in the child with `resource.setrlimit` before exec: address space (a runaway allocation dies with
MemoryError instead of swapping the machine), CPU seconds (an endless loop is killed), file size (a full disk is
simulated with EFBIG, SIGXFSZ ignored so the write fails instead of killing the process), and a wall-clock timeout.
Optionally the child runs without the capabilities that let root ignore file permissions (CAP_DAC_OVERRIDE,
CAP_DAC_READ_SEARCH), so a `chmod 000` is a real permission error even when the tests run as root.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from atlas_drills.plan import PROJECT_ROOT

_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE = 1
_CAP_DAC_READ_SEARCH = 2
DEFAULT_MEMORY = 1 << 30  # address space: Python, zstandard and jsonschema need ~300 MiB of it
DEFAULT_CPU_S = 60


@dataclass(frozen=True)
class Limits:
    memory: int = DEFAULT_MEMORY
    cpu_s: int = DEFAULT_CPU_S
    file_size: int | None = None
    permissions_apply: bool = False  # drop root's power to bypass file permissions


@dataclass(frozen=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def _limiter(limits: Limits) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory, limits.memory))
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s))
        if limits.file_size is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size, limits.file_size))
        if limits.permissions_apply and os.geteuid() == 0:
            # Dropped from the bounding set, the capabilities are gone from the program exec'd next.
            libc = ctypes.CDLL(None, use_errno=True)
            for capability in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
                if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
                    raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")

    return apply


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "atlas_drills", "backup", *args]


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_DRILLS_")}
    return {**env, "PYTHONPATH": str(PROJECT_ROOT), **extra}


def run_backup_cli(*args: str, limits: Limits | None = None, timeout: float = 60, **env: str) -> CliResult:
    """`atlas-drills backup ARGS` under `limits`; a timeout is a failure of the property under test, not a skip."""
    began = time.monotonic()
    result = subprocess.run(
        command(*args),
        env=environment(**env),
        capture_output=True,
        text=True,
        errors="backslashreplace",
        timeout=timeout,
        check=False,
        preexec_fn=_limiter(limits or Limits()),  # setrlimit must run in the child, before exec
        cwd=PROJECT_ROOT,
    )
    return CliResult(result.returncode, result.stdout, result.stderr, time.monotonic() - began)


def start_backup_cli(*args: str, limits: Limits | None = None, **env: str) -> subprocess.Popen[str]:
    """The same, started in the background (for signal tests)."""
    return subprocess.Popen(
        command(*args),
        env=environment(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="backslashreplace",
        preexec_fn=_limiter(limits or Limits()),  # noqa: PLW1509 - setrlimit must run in the child, before exec
        cwd=PROJECT_ROOT,
    )
