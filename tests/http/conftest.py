"""Fixtures that run the stand-in as a real process on 127.0.0.1 and talk to it over real HTTP.

The stand-in binds port 0 and reports the port it got in its `startup` log line, so parallel workers never race for
a port. Every wait is bounded; every process started here is stopped at teardown, and its log is attached to any
failure it causes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from atlas_drills.sample import SampleRelease

LOOPBACK = "127.0.0.1"
STARTUP_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0
# Small enough that a catalog change is seen within a fraction of a second; the tick follows min(15 s, TTL).
TEST_TTL_MS = "200"
TEST_DRAIN_MS = "300"


class StandInFailed(AssertionError):
    """The stand-in did not start, or exited unexpectedly; the message carries its log."""


@dataclass
class StandIn:
    """One running stand-in process, its collected log lines and an HTTP session bound to it."""

    process: subprocess.Popen[str]
    store_root: Path
    cache_root: Path
    lines: list[str] = field(default_factory=list)
    base_url: str = ""
    session: requests.Session = field(default_factory=requests.Session)
    _started: threading.Event = field(default_factory=threading.Event)
    _pump_thread: threading.Thread | None = None

    def start_pump(self) -> None:
        self._pump_thread = threading.Thread(target=self._pump, name="standin-log", daemon=True)
        self._pump_thread.start()

    def _pump(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))
            if '"event_id":"startup"' in line:
                bind = json.loads(line)["fields"]["bind_addr"]
                self.base_url = f"http://{bind}"
                self._started.set()
        self._started.set()  # the process ended: wake any waiter

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    def events(self, event_id: str) -> list[dict[str, Any]]:
        """The parsed JSON log records with this `event_id`."""
        found = []
        for line in list(self.lines):
            if line.startswith("{"):
                record = json.loads(line)
                if record.get("event_id") == event_id:
                    found.append(record)
        return found

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        kwargs.setdefault("allow_redirects", False)
        return self.session.get(self.base_url + path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return self.session.post(self.base_url + path, **kwargs)

    def wait_until(self, predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
        """Poll `predicate` until true; fail with the log after `timeout_s`."""
        __tracebackhide__ = True
        deadline = time.monotonic() + timeout_s
        while not predicate():
            if time.monotonic() >= deadline:
                raise StandInFailed(f"waited {timeout_s}s for {what}\n--- stand-in log ---\n{self.log}")
            time.sleep(0.02)

    def wait_exit(self, timeout_s: float) -> int:
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired as exc:
            raise StandInFailed(f"the stand-in did not exit within {timeout_s}s\n{self.log}") from exc

    def stop(self) -> None:
        self.session.close()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=STOP_TIMEOUT_S)
        if self._pump_thread is not None:
            self._pump_thread.join(timeout=STOP_TIMEOUT_S)
        if self.process.stderr is not None:
            self.process.stderr.close()


def standin_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The test process's environment without ATLAS_*/BIJUX_* names, plus fast test defaults and `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATLAS_", "BIJUX_"))}
    env.update({"ATLAS_REGISTRY_TTL_MS": TEST_TTL_MS, "ATLAS_SHUTDOWN_DRAIN_MS": TEST_DRAIN_MS})
    env.update(extra or {})
    return env


def standin_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "atlas_drills.standin", *args]


StartStandIn = Callable[..., StandIn]


def launch(
    store_root: Path, cache_root: Path, env: dict[str, str] | None = None, args: tuple[str, ...] = ()
) -> StandIn:
    """Start `python -m atlas_drills.standin` on 127.0.0.1:0 and wait (bounded) for its `startup` line."""
    __tracebackhide__ = True
    argv = standin_argv(
        "--bind", f"{LOOPBACK}:0", "--store-root", str(store_root), "--cache-root", str(cache_root), *args
    )
    process = subprocess.Popen(
        argv,
        env=standin_env(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    standin = StandIn(process, store_root, cache_root)
    standin.start_pump()
    if not standin._started.wait(STARTUP_TIMEOUT_S) or not standin.base_url:
        standin.stop()
        raise StandInFailed(
            f"the stand-in logged no startup line within {STARTUP_TIMEOUT_S}s "
            f"(exit code {process.poll()})\n--- stand-in log ---\n{standin.log}"
        )
    return standin


@pytest.fixture
def start_standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartStandIn]:
    """Start stand-in processes on 127.0.0.1 (fresh empty cache each); all are stopped at teardown.

    `start_standin(store_root, env={...}, args=(...))` returns a `StandIn` once its `startup` line is logged.
    """
    started: list[StandIn] = []

    def start(store_root: Path, env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> StandIn:
        standin = launch(store_root, tmp_path_factory.mktemp("cache"), env, args)
        started.append(standin)
        return standin

    yield start
    for standin in started:
        standin.stop()


@pytest.fixture
def store_copy(sample_release: SampleRelease, tmp_path: Path) -> Path:
    """A private copy of the sample store, for tests that change or corrupt it."""
    target = tmp_path / "store"
    shutil.copytree(sample_release.store_root, target)
    return target


@pytest.fixture(scope="module")
def shared_standin(sample_release: SampleRelease, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandIn]:
    """One stand-in per module over the shared sample store, for read-only checks (admin routes enabled)."""
    env = {
        "ATLAS_ENABLE_ADMIN_ENDPOINTS": "true",
        "ATLAS_ENABLE_DEBUG_DATASETS": "true",
        "ATLAS_RELEASE_ID": sample_release.release_id,
        "ATLAS_GOVERNANCE_VERSION": sample_release.governance_version,
    }
    standin = launch(sample_release.store_root, tmp_path_factory.mktemp("shared-cache"), env)
    try:
        standin.wait_until(lambda: standin.get("/readyz").status_code == 200, 10, "/readyz 200")
        yield standin
    finally:
        standin.stop()
