"""The local-process sandbox: the target's local command (the stand-in, or a native server binary given with
`--drill-target-command`) as a subprocess on 127.0.0.1, serving the restored tree in place.

A sandbox whose checks change state (`SandboxRequest.writable`) serves a copy-on-write view of the verified tree
instead: an overlay mounted under its work folder when this process may mount one (root), else a copy of the store.
Either way the verified tree is never modified.

Used when no Docker engine can be had. It isolates nothing beyond a process boundary, which the report records;
a release gate refuses it unless allowed explicitly.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import IO

from atlas_drills.sandbox.base import (
    LOOPBACK,
    Sandbox,
    SandboxError,
    SandboxRequest,
    compose_env,
    free_port,
    wait_for_http,
    wait_for_startup,
)
from atlas_drills.sandbox.store_view import OverlayLayers
from atlas_drills.store.canonical import sha256_file
from atlas_drills.store.catalog import atomic_write

_STOP_TIMEOUT_S = 10.0
_MOUNT_TIMEOUT_S = 30.0


def _clean_environment() -> dict[str, str]:
    """The parent's environment without any ATLAS_*/BIJUX_* name: only the restored config may set those."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("ATLAS_", "BIJUX_"))}


class LocalSandbox(Sandbox):
    kind = "local"
    isolation = "process"

    def __init__(self, request: SandboxRequest) -> None:
        super().__init__(request)
        self._process: subprocess.Popen[bytes] | None = None
        self._log_handle: IO[bytes] | None = None
        self.log_path = self.request.work_dir / "target.log"
        self.cache_dir = self.request.work_dir / "cache"
        self.store_dir = request.store_dir  # what the target serves: the verified tree, or a view of it
        self._mounted: Path | None = None

    def start(self) -> None:
        request = self.request
        began = time.monotonic()
        if self.cache_dir.exists() and any(self.cache_dir.iterdir()):
            raise SandboxError(f"{self.cache_dir}: the cache root must start empty; use a fresh work folder")
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        if request.writable:
            self.store_dir = self._writable_view()
        self.port = free_port()
        self.env = compose_env(
            request, f"{LOOPBACK}:{self.port}", str(self.store_dir.resolve()), str(self.cache_dir.resolve())
        )
        self.timings.transfer_s = time.monotonic() - began  # nothing copied, unless no overlay could be mounted
        began = time.monotonic()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_handle = self.log_path.open("wb")
        argv = request.target.local_argv()
        self._process = subprocess.Popen(
            argv,
            env={**_clean_environment(), **self.env.values},
            stdin=subprocess.DEVNULL,
            stdout=self._log_handle,
            stderr=subprocess.STDOUT,
            cwd=request.work_dir,
        )
        deadline = began + request.ready_timeout_s
        process = self._process
        wait_for_startup(request.target, deadline, self.is_running, self.logs, f"{argv[0]} (pid {process.pid})")
        self.timings.start_s = time.monotonic() - began
        began = time.monotonic()
        wait_for_http(self.base_url + request.target.ready_path, deadline, self.is_running, self.logs)
        self.timings.ready_s = time.monotonic() - began

    def _writable_view(self) -> Path:
        """A copy-on-write view of the verified store under the work folder: an overlay when this process may
        mount one, else a copy (the slow way, but the verified tree stays untouched either way)."""
        folder = self.request.work_dir / "overlay"
        layers = OverlayLayers.under(self.request.store_dir, folder)
        view = folder / "store"
        view.mkdir()
        if os.geteuid() == 0:
            with contextlib.suppress(ValueError):
                if _system("mount", "-t", "overlay", "overlay", "-o", layers.mount_options(), str(view)):
                    self.overlay, self._mounted = layers, view
                    return view
        shutil.copytree(self.request.store_dir, view, dirs_exist_ok=True)
        return view

    def write_store_files(self, files: dict[str, bytes]) -> None:
        for relpath, data in files.items():
            atomic_write(self.store_dir / relpath, data)

    def store_digests(self) -> dict[str, str]:
        root = self.store_dir
        return {p.relative_to(root).as_posix(): sha256_file(p) for p in sorted(root.rglob("*")) if p.is_file()}

    def logs(self) -> str:
        try:
            return Path(self.log_path).read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def terminate(self) -> None:
        if self.is_running():
            assert self._process is not None
            self._process.terminate()

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()  # teardown, not a drain drill: no reason to wait for a graceful stop
            process.wait(timeout=_STOP_TIMEOUT_S)
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None
        mounted, self._mounted = self._mounted, None
        if mounted is not None and not _system("umount", str(mounted)):
            _system("umount", "-l", str(mounted))  # lazily if busy: the view must not outlive the work folder


def _system(tool: str, *args: str) -> bool:
    """Run a system tool (mount, umount) quietly; True when it succeeded, False when it failed or is missing."""
    path = shutil.which(tool)
    if path is None:
        return False
    try:
        done = subprocess.run([path, *args], capture_output=True, timeout=_MOUNT_TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0
