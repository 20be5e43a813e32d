"""Choosing the sandbox for a drill: Docker when asked for (or when `auto` finds an engine), else a local process.

The choice and the reason travel into the report: a drill that fell back to a local process says so, and a release
gate refuses it unless allowed explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from atlas_drills.sandbox.base import Sandbox, SandboxRequest


class SandboxUnavailable(RuntimeError):
    """The sandbox asked for cannot be had here (no engine, no image): the drill is inconclusive, not failed."""


@dataclass(frozen=True)
class SandboxChoice:
    kind: str  # docker | local
    image: str  # the image a Docker sandbox runs ("" for local)
    reason: str  # why this kind was chosen, for the report


def choose_sandbox(preference: str, image: str, work_dir: Path, *, native: bool = False) -> SandboxChoice:
    """Resolve `docker | local | auto` into a sandbox kind. `image` is the target image ("" means the stand-in
    image, built here when missing); `native` says a server binary was given to run as a local process."""
    if preference == "local":
        return SandboxChoice("local", "", "asked for a local process (--drill-sandbox=local)")
    if native and preference == "auto":
        return SandboxChoice("local", "", "a native server binary was given (--drill-target-command)")
    from atlas_drills.sandbox.engine import EngineUnavailable, ensure_engine

    try:
        ensure_engine(work_dir / "engine", allow_start=False)
    except EngineUnavailable as exc:
        if preference == "docker":
            raise SandboxUnavailable(f"--drill-sandbox=docker, but {exc}. Run `make engine` or pick local.") from exc
        return SandboxChoice("local", "", f"no Docker engine answers ({exc}); fell back to a local process")
    return SandboxChoice("docker", image, "a Docker engine answers")


def ensure_target_image(image: str) -> str:
    """The image to run: the given one (must exist or be pullable), or the stand-in image built for these sources."""
    from atlas_drills.sandbox.engine import EngineUnavailable, connect
    from atlas_drills.sandbox.images import ImageError, ensure_base_image, ensure_standin_image

    try:
        client = connect()
        if image:
            from docker.errors import ImageNotFound

            try:
                client.images.get(image)
            except ImageNotFound as exc:
                # testcontainers would try to pull it on start; a missing image must be said plainly instead.
                raise SandboxUnavailable(
                    f"target image {image} is not in the engine: build or load it first (docker load / docker build)"
                ) from exc
            return image
        base = ensure_base_image(client, progress=lambda message: None)
        return ensure_standin_image(client, base, progress=lambda message: None).tag
    except (EngineUnavailable, ImageError) as exc:
        raise SandboxUnavailable(str(exc)) from exc


def make_sandbox(choice: SandboxChoice, request: SandboxRequest) -> Sandbox:
    if choice.kind == "docker":
        from atlas_drills.sandbox.docker import DockerSandbox

        return DockerSandbox(request, choice.image)
    from atlas_drills.sandbox.local import LocalSandbox

    return LocalSandbox(request)


def image_identity(image: str) -> tuple[str | None, str | None]:
    """The engine's id of `image` and its registry digest (None for a locally built image, which has none)."""
    from atlas_drills.sandbox.engine import EngineUnavailable, connect

    try:
        found = connect().images.get(image)
    except (EngineUnavailable, Exception):  # an unknown image is reported by the drill itself, not here
        return None, None
    digests = found.attrs.get("RepoDigests") or []
    return str(found.id), (str(digests[0]) if digests else None)
