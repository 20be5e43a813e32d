"""What every sandbox shares: the request, the effective environment, phase timings, readiness, errors.

A sandbox runs a target on a restored tree (`staging/store`, `staging/config/atlas.env`) and answers on
`http://127.0.0.1:<port>`. The target's environment is the *restored* runtime configuration plus the target's
drill overrides, with bind address, store root and cache root set by the sandbox: so a stale config in the backup
shows up in what the service reports.
"""

from __future__ import annotations

import socket
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

import requests

from atlas_drills.runtime_config import read_env_file, redact
from atlas_drills.sandbox.store_view import OverlayLayers, digest_changes, overlay_changes
from atlas_drills.sandbox.target import TargetSpec

LOOPBACK = "127.0.0.1"
POLL_INTERVAL_S = 0.05
CONFIG_RELPATH = Path("config/atlas.env")
STORE_RELPATH = Path("store")


class SandboxError(RuntimeError):
    """The target could not be started or did not become ready. Carries the target's log."""

    def __init__(self, message: str, log: str = "") -> None:
        super().__init__(message)
        self.log = log
        if log:
            self.add_note(f"--- target log (last 4000 characters) ---\n{log[-4000:]}")


class TargetFailed(SandboxError):
    """The target ran on the restored state but did not become a ready service: a property of what was restored
    (a drill *finding*), unlike a missing engine or image. The sandbox is left as it is for the drill to inspect."""


class TargetNotStarted(TargetFailed):
    """The target exited, or logged no start-up line, before it was up (e.g. a runtime config Atlas rejects)."""


class TargetNotReady(TargetFailed):
    """The target started but its readiness path never answered 200 within the budget (e.g. no valid catalog)."""


@dataclass(frozen=True)
class SandboxRequest:
    """Everything needed to serve one restored tree."""

    target: TargetSpec
    staging: Path  # the restored backup: store/, config/atlas.env, ...
    work_dir: Path  # the drill's own folder: logs, and the local sandbox's cache root
    labels: dict[str, str] = field(default_factory=dict)
    ready_timeout_s: float = 30.0
    extra_env: dict[str, str] = field(default_factory=dict)
    # The checks change the served state (a rollback, a drain): the target gets a copy-on-write view of the verified
    # tree, never the tree itself (`sandbox/store_view.py`). False: the store is shown read-only.
    writable: bool = False

    @property
    def store_dir(self) -> Path:
        return self.staging / STORE_RELPATH

    @property
    def config_file(self) -> Path:
        return self.staging / CONFIG_RELPATH


@dataclass
class PhaseTimings:
    transfer_s: float = 0.0
    start_s: float = 0.0
    ready_s: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {"transfer": self.transfer_s, "start": self.start_s, "ready": self.ready_s}


@dataclass(frozen=True)
class EffectiveEnv:
    values: dict[str, str]
    restored: dict[str, str]  # from the backup's config/atlas.env
    overrides: dict[str, str]  # what the drill set on top (target env, extra env, bind/store/cache)

    def redacted(self) -> dict[str, str]:
        return redact(self.values)


def compose_env(request: SandboxRequest, bind: str, store_root: str, cache_root: str) -> EffectiveEnv:
    restored = read_env_file(request.config_file) if request.config_file.exists() else {}
    target = request.target
    overrides = {
        **target.env,
        **request.extra_env,
        target.bind_env: bind,
        target.store_env: store_root,
        target.cache_env: cache_root,
    }
    return EffectiveEnv({**restored, **overrides}, restored, overrides)


def free_port() -> int:
    """A port free on 127.0.0.1 right now. The target binds it a moment later; a lost race fails loudly."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def wait_for_http(
    url: str, deadline: float, is_alive: Callable[[], bool], logs: Callable[[], str], expect: int = 200
) -> None:
    """Poll `url` until it answers `expect`; fail fast when the target has exited, and at the deadline."""
    last = "no answer"
    while True:
        if not is_alive():
            raise TargetNotStarted(f"the target exited before {url} answered {expect}", logs())
        try:
            response = requests.get(url, timeout=1.0)
            if response.status_code == expect:
                return
            last = f"{response.status_code} {response.text[:200]!r}"
        except requests.RequestException as exc:
            last = type(exc).__name__
        if time.monotonic() >= deadline:
            raise TargetNotReady(f"{url} did not answer {expect} in time (last: {last})", logs())
        time.sleep(POLL_INTERVAL_S)


def wait_for_startup(
    target: TargetSpec, deadline: float, is_alive: Callable[[], bool], logs: Callable[[], str], what: str
) -> None:
    """Wait for the target's start-up log line (JSON or text; nothing when the target file says readiness alone
    tells), failing fast when the process exits first."""
    while not target.started(logs()):
        if not is_alive():
            raise TargetNotStarted(f"{what}: the target exited during start-up", logs())
        if time.monotonic() >= deadline:
            raise TargetNotStarted(
                f"{what}: the target logged no start-up line matching {target.startup_log!r} in time", logs()
            )
        time.sleep(POLL_INTERVAL_S)


class Sandbox(ABC):
    """A running target on restored state. Always used as a context manager: it is removed in every case."""

    kind: str  # "docker" | "local"
    isolation: str  # "container" | "process"

    def __init__(self, request: SandboxRequest) -> None:
        self.request = request
        self.timings = PhaseTimings()
        self.port = 0
        self.env: EffectiveEnv | None = None
        self.overlay: OverlayLayers | None = None  # the copy-on-write view's layers, when the store is served as one

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @abstractmethod
    def start(self) -> None:
        """Create, copy in, start, and wait for readiness. Raises `TargetFailed` when the target itself does not
        come up (the sandbox stays for inspection; `stop` still removes it) and `SandboxError` otherwise."""

    @abstractmethod
    def logs(self) -> str:
        """The target's log so far (stdout and stderr)."""

    @abstractmethod
    def is_running(self) -> bool: ...

    @abstractmethod
    def terminate(self) -> None:
        """Send SIGTERM (drain), without waiting or removing anything."""

    @abstractmethod
    def stop(self) -> None:
        """Stop and remove everything the sandbox created. Idempotent."""

    @abstractmethod
    def write_store_files(self, files: dict[str, bytes]) -> None:
        """Replace files of the *served* store (paths relative to the store root), e.g. a catalog rollback."""

    @abstractmethod
    def store_digests(self) -> dict[str, str]:
        """sha256 of every file of the served store, by path relative to the store root."""

    def store_changes(self, verified: Mapping[str, str]) -> list[str]:
        """Every path of the served store (relative to its root) that is not as the restore verified it: changed,
        added or removed. `verified` is the restore's record (sha256 by store-relative path). This reads the served
        store back, unless it serves a copy-on-write view: then its upper layer holds every change, and nothing else."""
        if self.overlay is not None:
            return overlay_changes(self.overlay.upper)
        return digest_changes(self.store_digests(), verified)

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
