"""The Docker sandbox, through testcontainers: a disposable container per restore.

Sequence (each step timed): create the container from the target image; stream the restored store into it before
it starts (no bind mount: the container gets its own copy, so nothing it does reaches the staging tree); start it
with the restored runtime configuration; wait for the start-up log line (fails fast if the process exits) and then
for `/readyz`; capture its log; remove it in every case.

On a local Linux engine the container shares the host network and binds 127.0.0.1:<free port>. For an engine that
does not share the job's network (Docker-in-Docker, a remote engine, Docker Desktop) the port is published and
reached at the engine's host instead: `sandbox/network.py` decides, from ATLAS_DRILLS_SANDBOX_NETWORK and DOCKER_HOST.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tarfile
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")  # Ryuk is a registry image: we sweep by label instead

from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import LogMessageWaitStrategy

from atlas_drills.sandbox.base import (
    LOOPBACK,
    POLL_INTERVAL_S,
    Sandbox,
    SandboxError,
    SandboxRequest,
    TargetNotStarted,
    compose_env,
    free_port,
    wait_for_http,
)
from atlas_drills.sandbox.network import network_plan, network_plan_from_env

LABEL_PREFIX = "org.atlas-drills"
MANAGED_LABEL = f"{LABEL_PREFIX}.managed"
CONTAINER_PORT = 8080  # inside the container, when the port is published rather than shared


def _stream_tree(
    source: Path, arcname: str, empty_dirs: tuple[str, ...]
) -> tuple[Any, threading.Thread, list[BaseException]]:
    """A pipe fed by a thread writing `source` as a tar under `arcname` (plus `empty_dirs`): bounded memory
    whatever the store size, where testcontainers' own copy builds the whole tar in memory."""
    read_fd, write_fd = os.pipe()
    errors: list[BaseException] = []

    def feed() -> None:
        try:
            with os.fdopen(write_fd, "wb", buffering=1 << 20) as sink, tarfile.open(fileobj=sink, mode="w|") as tar:
                for directory in empty_dirs:
                    info = tarfile.TarInfo(directory)
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    tar.addfile(info)
                for path in sorted(source.rglob("*")):
                    info = tar.gettarinfo(str(path), arcname=f"{arcname}/{path.relative_to(source).as_posix()}")
                    info.uid = info.gid = 0
                    info.uname = info.gname = "root"
                    if info.isfile():
                        with path.open("rb") as handle:
                            tar.addfile(info, handle)
                    elif info.isdir():
                        tar.addfile(info)
        except BaseException as exc:  # reported by the caller, which owns the error path
            errors.append(exc)

    thread = threading.Thread(target=feed, name="sandbox-transfer", daemon=True)
    thread.start()
    return os.fdopen(read_fd, "rb"), thread, errors


class _ChunkReader(io.RawIOBase):
    """A file object over the engine's archive chunks, so tarfile can stream them without holding them all."""

    def __init__(self, chunks: Any) -> None:
        self._chunks = iter(chunks)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


class _TargetContainer(DockerContainer):
    """A container reached on 127.0.0.1 (with host networking the port is the container's own), whose restored
    store is streamed in between create and start."""

    def __init__(self, image: str, port: int, published: bool, cache_path: str, **kwargs: Any) -> None:
        super().__init__(image, **kwargs)
        self._port = port
        self._published = published
        self._cache_path = cache_path
        self.transfer_s = 0.0

    def get_container_host_ip(self) -> str:
        return LOOPBACK

    def get_exposed_port(self, port: int) -> int:
        if self._published:
            return int(super().get_exposed_port(port))
        return self._port

    def _transfer_into_container(self, transferable: Any, destination_in_container: str, mode: int) -> None:
        if not isinstance(transferable, Path) or not transferable.is_dir():
            super()._transfer_into_container(transferable, destination_in_container, mode)
            return
        began = time.monotonic()
        wrapped = self.get_wrapped_container()
        arcname = f"{destination_in_container.strip('/')}/{transferable.name}".lstrip("/")
        stream, thread, errors = _stream_tree(transferable, arcname, (self._cache_path.strip("/"),))
        with stream:
            accepted = wrapped.put_archive("/", stream)
        thread.join(timeout=60)
        if errors or not accepted:
            raise SandboxError(f"copying {transferable} into the container failed: {errors or 'refused'}")
        self.transfer_s += time.monotonic() - began


class DockerSandbox(Sandbox):
    kind = "docker"
    isolation = "container"

    def __init__(self, request: SandboxRequest, image: str, *, published: bool | None = None) -> None:
        super().__init__(request)
        self.image = image
        # How the drills reach the container (see sandbox/network.py): from the environment unless forced here.
        self.network = network_plan_from_env()
        if published is not None:
            self.network = network_plan("published" if published else "host", os.environ.get("DOCKER_HOST"))
        self.published = self.network.published
        self.container: _TargetContainer | None = None
        self.container_id = ""
        self._final_log = ""

    def start(self) -> None:
        request, target = self.request, self.request.target
        if request.store_dir.name != target.store_path.rstrip("/").rsplit("/", 1)[-1]:
            raise SandboxError(f"target {target.name}: store_path must end in /{request.store_dir.name}")
        began = time.monotonic()
        self.port = free_port()
        bind = f"0.0.0.0:{CONTAINER_PORT}" if self.published else f"{LOOPBACK}:{self.port}"
        self.env = compose_env(request, bind, target.store_path, target.cache_path)
        kwargs: dict[str, Any] = {
            "labels": {MANAGED_LABEL: "true", **{f"{LABEL_PREFIX}.{k}": v for k, v in request.labels.items()}},
            "init": True,  # tini: SIGTERM reaches the server and the container stops in milliseconds
        }
        if target.entrypoint is not None:
            kwargs["entrypoint"] = list(target.entrypoint)
        if self.published:
            kwargs["ports"] = {f"{CONTAINER_PORT}/tcp": (self.network.publish_ip, self.port)}
        else:
            kwargs["network_mode"] = "host"
        container = _TargetContainer(
            self.image,
            self.port,
            self.published,
            target.cache_path,
            command=list(target.command) or None,
            env=self.env.values,
        )
        container.with_kwargs(**kwargs)  # one call: with_kwargs replaces, it does not merge
        store_parent = target.store_path.rstrip("/").rsplit("/", 1)[0] or "/"
        container.with_copy_into_container(request.store_dir, store_parent)
        self.container = container
        try:
            container.start()  # create, stream the store in, start
        except SandboxError:
            raise
        except Exception as exc:
            raise SandboxError(f"{self.image}: the container could not be started: {exc}", self.logs()) from exc
        self.container_id = container.get_container_id()
        self.timings.transfer_s = container.transfer_s
        self.timings.start_s = time.monotonic() - began - container.transfer_s
        began = time.monotonic()
        deadline = began + request.ready_timeout_s
        wait = LogMessageWaitStrategy(target.startup_pattern).with_poll_interval(POLL_INTERVAL_S)
        try:
            wait.with_startup_timeout(max(1, int(request.ready_timeout_s))).wait_until_ready(container)
        except (TimeoutError, RuntimeError) as exc:
            raise TargetNotStarted(f"{self.image}: {exc}", self.logs()) from exc
        self.timings.start_s += time.monotonic() - began
        began = time.monotonic()
        wait_for_http(self.base_url + target.ready_path, deadline, self.is_running, self.logs)
        self.timings.ready_s = time.monotonic() - began

    @property
    def base_url(self) -> str:
        return f"http://{self.network.reach_host}:{self.port}"

    def write_store_files(self, files: dict[str, bytes]) -> None:
        """One archive, so the files land together: a reader sees the old pair or the new pair for as short a time
        as the engine allows (Atlas's own CLI writes them one after the other)."""
        wrapped = self._wrapped()
        if wrapped is None:
            raise SandboxError("the container is not running")
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            for relpath, data in files.items():
                info = tarfile.TarInfo(f"{self.request.target.store_path.strip('/')}/{relpath}")
                info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
                tar.addfile(info, io.BytesIO(data))
        if not wrapped.put_archive("/", buffer.getvalue()):
            raise SandboxError(f"the engine refused to write {sorted(files)} into the container")

    def store_digests(self) -> dict[str, str]:
        """Read the served store back out of the container as a tar stream and hash every file."""
        wrapped = self._wrapped()
        if wrapped is None:
            raise SandboxError("the container is not running")
        chunks, _ = wrapped.get_archive(self.request.target.store_path)
        reader = _ChunkReader(chunks)
        digests: dict[str, str] = {}
        with tarfile.open(fileobj=reader, mode="r|") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                handle = tar.extractfile(member)
                assert handle is not None
                digest = hashlib.sha256()
                while block := handle.read(1 << 20):
                    digest.update(block)
                digests[member.name.split("/", 1)[1] if "/" in member.name else member.name] = digest.hexdigest()
        return digests

    def _wrapped(self) -> Any | None:
        if self.container is None or self.container._container is None:
            return None
        return self.container.get_wrapped_container()

    def logs(self) -> str:
        wrapped = self._wrapped()
        if wrapped is None:
            return self._final_log
        # The container may be gone already: the last captured log is then the best there is.
        with contextlib.suppress(Exception):
            self._final_log = wrapped.logs(stdout=True, stderr=True).decode("utf-8", errors="replace")
        return self._final_log

    def is_running(self) -> bool:
        wrapped = self._wrapped()
        if wrapped is None:
            return False
        try:
            wrapped.reload()
        except Exception:
            return False
        return bool(wrapped.status in {"created", "running"})

    def terminate(self) -> None:
        wrapped = self._wrapped()
        if wrapped is not None:
            wrapped.kill(signal="SIGTERM")

    def stop(self) -> None:
        self.logs()  # keep the final log: the report and failure artefacts read it after removal
        container, self.container = self.container, None
        if container is not None and container._container is not None:
            container.stop(force=True, delete_volume=True)
