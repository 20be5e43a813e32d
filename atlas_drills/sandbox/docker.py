"""The Docker sandbox, through testcontainers: a disposable container per sandbox, on the verified tree.

Sequence (each step timed): create the container from the target image with the verified store mounted (see
`sandbox/store_view.py`: read-only for the shared sandbox, a copy-on-write overlay volume for checks that change
state; or, for an engine that cannot see this machine's files, the store streamed in before it starts); give it an
empty cache root; start it with the restored runtime configuration; wait for the start-up log line (fails fast if
the process exits) and then for `/readyz`; capture its log; remove it, and its overlay volume, in every case.

The container runs as the image's own user (or the target file's `user`): the store is root-owned (or the restore
user's) and read-only to that user, and the empty cache root is that user's, resolved through the image's
/etc/passwd.

On a local Linux engine the container shares the host network and binds 127.0.0.1:<free port>. For an engine that
does not share the job's network (Docker-in-Docker, a remote engine, Docker Desktop) the port is published and
reached at the engine's host instead: `sandbox/network.py` decides, from ATLAS_DRILLS_SANDBOX_NETWORK and DOCKER_HOST.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import secrets
import tarfile
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")  # Ryuk is a registry image: we sweep by label instead

from docker.types import Mount
from testcontainers.core.container import DockerContainer

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
from atlas_drills.sandbox.engine import connect
from atlas_drills.sandbox.network import network_plan, network_plan_from_env
from atlas_drills.sandbox.store_view import (
    STORE_ENV,
    OverlayLayers,
    store_plan,
    store_plan_from_env,
)

LABEL_PREFIX = "org.atlas-drills"
MANAGED_LABEL = f"{LABEL_PREFIX}.managed"
CONTAINER_PORT = 8080  # inside the container, when the port is published rather than shared


def _stream_tree(
    source: Path | None, arcname: str, empty_dirs: tuple[str, ...], owner: tuple[int, int]
) -> tuple[Any, threading.Thread, list[BaseException]]:
    """A pipe fed by a thread writing `source` (None: nothing, the store is mounted) as a tar under `arcname`, plus
    `empty_dirs`: bounded memory whatever the store size, where testcontainers' own copy builds the whole tar in
    memory.

    The store is owned by root and readable by everyone (dirs 0755, files 0644), so a target running as any user
    can read it and, unless it runs as root, not change it. The empty folders (the cache root) belong to `owner`,
    the user the target runs as: Atlas copies each dataset's SQLite into its cache root when it opens it."""
    read_fd, write_fd = os.pipe()
    errors: list[BaseException] = []

    def feed() -> None:
        try:
            with os.fdopen(write_fd, "wb", buffering=1 << 20) as sink, tarfile.open(fileobj=sink, mode="w|") as tar:
                for directory in empty_dirs:
                    info = tarfile.TarInfo(directory)
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    info.uid, info.gid = owner
                    tar.addfile(info)
                root = source if source is not None else Path()
                for path in sorted(root.rglob("*")) if source is not None else []:
                    info = tar.gettarinfo(str(path), arcname=f"{arcname}/{path.relative_to(root).as_posix()}")
                    info.uid = info.gid = 0
                    info.uname = info.gname = "root"
                    if info.isfile():
                        info.mode = 0o644
                        with path.open("rb") as handle:
                            tar.addfile(info, handle)
                    elif info.isdir():
                        info.mode = 0o755
                        tar.addfile(info)
        except BaseException as exc:  # reported by the caller, which owns the error path
            errors.append(exc)

    thread = threading.Thread(target=feed, name="sandbox-transfer", daemon=True)
    thread.start()
    return os.fdopen(read_fd, "rb"), thread, errors


def _read_container_file(wrapped: Any, path: str) -> str:
    """A small text file of a created (not yet started) container, "" when it has none."""
    try:
        chunks, _ = wrapped.get_archive(path)
    except Exception:  # docker.errors.NotFound: a distroless or scratch image may have no /etc/passwd
        return ""
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks)), mode="r") as tar:
        for member in tar:
            handle = tar.extractfile(member)
            if handle is not None:
                return handle.read().decode("utf-8", errors="replace")
    return ""


def resolve_user(user: str, passwd: str, group: str) -> tuple[int, int]:
    """uid and gid of a Docker `user` ("", "name", "uid", "name:group", "uid:gid"), as the engine resolves it:
    names through the image's /etc/passwd and /etc/group; "" is root."""
    name, _, group_name = user.partition(":")
    if not name:
        return 0, 0
    users = {f[0]: (int(f[2]), int(f[3])) for f in _entries(passwd, 4) if f[2].isdigit() and f[3].isdigit()}
    if name.isdigit():
        uid = int(name)
        gid = next((g for u, g in users.values() if u == uid), 0)
    elif name in users:
        uid, gid = users[name]
    else:
        raise SandboxError(f"user {name!r}: not in the image's /etc/passwd; name a uid instead (target.user)")
    if group_name:
        groups = {f[0]: int(f[2]) for f in _entries(group, 3) if f[2].isdigit()}
        if group_name.isdigit():
            gid = int(group_name)
        elif group_name in groups:
            gid = groups[group_name]
        else:
            raise SandboxError(f"group {group_name!r}: not in the image's /etc/group; name a gid instead")
    return uid, gid


def _entries(text: str, fields: int) -> list[list[str]]:
    rows = [line.split(":") for line in text.splitlines() if line and not line.startswith("#")]
    return [row for row in rows if len(row) >= fields]


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

    def __init__(
        self, image: str, port: int, published: bool, cache_path: str, user: str, *, copy_store: bool, **kwargs: Any
    ) -> None:
        super().__init__(image, **kwargs)
        self._port = port
        self._published = published
        self._cache_path = cache_path
        self._user = user  # the target file's user, else the image's own (Config.User), else root
        self._copy_store = copy_store  # False: the store is mounted, only the empty cache root is streamed in
        self.owner = (0, 0)
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
        user = self._user or str(wrapped.image.attrs.get("Config", {}).get("User") or "")
        passwd, group = (
            (_read_container_file(wrapped, "/etc/passwd"), _read_container_file(wrapped, "/etc/group"))
            if user
            else ("", "")
        )
        self.owner = resolve_user(user, passwd, group)
        arcname = f"{destination_in_container.strip('/')}/{transferable.name}".lstrip("/")
        source = transferable if self._copy_store else None
        stream, thread, errors = _stream_tree(source, arcname, (self._cache_path.strip("/"),), self.owner)
        with stream:
            accepted = wrapped.put_archive("/", stream)
        thread.join(timeout=60)
        if errors or not accepted:
            raise SandboxError(f"copying {transferable} into the container failed: {errors or 'refused'}")
        self.transfer_s += time.monotonic() - began


class DockerSandbox(Sandbox):
    kind = "docker"
    isolation = "container"

    def __init__(
        self, request: SandboxRequest, image: str, *, published: bool | None = None, store: str | None = None
    ) -> None:
        super().__init__(request)
        self.image = image
        # How the drills reach the container (see sandbox/network.py): from the environment unless forced here.
        self.network = network_plan_from_env()
        if published is not None:
            self.network = network_plan("published" if published else "host", os.environ.get("DOCKER_HOST"))
        self.published = self.network.published
        # How the container sees the verified store (see sandbox/store_view.py): likewise.
        self.store_plan = store_plan_from_env() if store is None else store_plan(store, os.environ.get("DOCKER_HOST"))
        self._volume: Any | None = None
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
        if target.user:
            kwargs["user"] = target.user
        if self.published:
            kwargs["ports"] = {f"{CONTAINER_PORT}/tcp": (self.network.publish_ip, self.port)}
        else:
            kwargs["network_mode"] = "host"
        container = _TargetContainer(
            self.image,
            self.port,
            self.published,
            target.cache_path,
            target.user,
            copy_store=not self.store_plan.mounted,
            command=list(target.command) or None,
            env=self.env.values,
        )
        if self.store_plan.mounted:
            kwargs["mounts"] = [self._store_mount(kwargs["labels"])]
        container.with_kwargs(**kwargs)  # one call: with_kwargs replaces, it does not merge
        store_parent = target.store_path.rstrip("/").rsplit("/", 1)[0] or "/"
        container.with_copy_into_container(request.store_dir, store_parent)  # the store (copy) or the cache root
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
        wait_for_startup(target, deadline, self.is_running, self.logs, self.image)
        self.timings.start_s += time.monotonic() - began
        began = time.monotonic()
        wait_for_http(self.base_url + target.ready_path, deadline, self.is_running, self.logs)
        self.timings.ready_s = time.monotonic() - began

    def _store_mount(self, labels: dict[str, str]) -> Mount:
        """The verified store at the target's store path: read-only, or (writable) an overlay volume whose lower
        layer is the verified tree and whose upper layer is this sandbox's own, under its work folder. A `Mount`,
        not a `-v` string, which a path holding ':' would break."""
        request, store_path = self.request, self.request.target.store_path
        if not request.writable:
            return Mount(store_path, str(request.store_dir.resolve()), type="bind", read_only=True)
        self.overlay = OverlayLayers.under(request.store_dir, request.work_dir / "overlay")
        try:
            options = self.overlay.mount_options()
        except ValueError as exc:
            raise SandboxError(f"{exc}; set {STORE_ENV}=copy to copy the store into the container instead") from exc
        self._volume = connect().volumes.create(
            name=f"atlas-drills-{secrets.token_hex(8)}",
            driver="local",
            driver_opts={"type": "overlay", "device": "overlay", "o": options},
            labels=labels,
        )
        return Mount(store_path, self._volume.name, type="volume")

    @property
    def mounts_store(self) -> bool:
        """The container sees the restored tree itself (a mount), not a copy of it."""
        return self.store_plan.mounted

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
        volume, self._volume = self._volume, None
        if volume is not None:  # after its container: a volume in use cannot be removed
            with contextlib.suppress(Exception):  # already gone (a sweep); the label lets the next sweep find it
                volume.remove(force=True)
