"""Target images built locally, with no registry: a Debian base image and the stand-in image on top of it.

The base image comes from Debian's packages (mmdebstrap, or debootstrap) and `docker import`. The stand-in image
is tagged by a digest of everything that goes into it, so it is rebuilt only when its contents change. Users with
a registry can name any base with Python 3.11+ instead (`ATLAS_DRILLS_BASE_IMAGE=python:3.12-slim`).
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import atlas_drills

DEFAULT_BASE_IMAGE = "atlas-drills/base:bookworm"
STANDIN_REPOSITORY = "atlas-drills/standin"
BASE_IMAGE_ENV = "ATLAS_DRILLS_BASE_IMAGE"
IMAGE_LABEL = "org.atlas-drills.image"
PATH_ENV = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Only the stdlib-only parts of the package go into the image: that is what makes any `python3` image enough.
STANDIN_SOURCES = ("__init__.py", "atlas_settings.py", "runtime_config.py", "store", "standin")

DOCKERFILE = """\
FROM {base}
ENV PATH={path} PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=/opt/atlas-drills
LABEL {label}=standin
WORKDIR /opt/atlas-drills
COPY atlas_drills /opt/atlas-drills/atlas_drills
ENTRYPOINT ["python3", "-m", "atlas_drills.standin"]
"""

Progress = Callable[[str], None]


class ImageError(RuntimeError):
    """An image that is missing and cannot be built or pulled here, with what to do about it."""


@dataclass(frozen=True)
class ImageInfo:
    tag: str
    image_id: str
    built: bool  # False when an existing image was reused


def base_image_name() -> str:
    return os.environ.get(BASE_IMAGE_ENV) or DEFAULT_BASE_IMAGE


def _find_image(client: Any, name: str) -> Any | None:
    from docker.errors import ImageNotFound

    try:
        return client.images.get(name)
    except ImageNotFound:
        return None


def _bootstrap_command() -> list[str]:
    if shutil.which("mmdebstrap"):
        return ["mmdebstrap", "--variant=minbase", "--include=python3", "--quiet", "bookworm", "-"]
    if os.geteuid() == 0 and Path("/etc/debian_version").exists():
        apt = shutil.which("apt-get") or "/usr/bin/apt-get"
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run([apt, "update", "-q"], env=env, check=True, capture_output=True)
        subprocess.run(
            [apt, "install", "-y", "-q", "--no-install-recommends", "mmdebstrap"],
            env=env,
            check=True,
            capture_output=True,
        )
        return _bootstrap_command()
    raise ImageError(
        "the base image is missing and mmdebstrap is not installed: install it (apt-get install mmdebstrap), "
        f"or set {BASE_IMAGE_ENV} to an image with python3 that your engine has or can pull"
    )


def build_base_image(client: Any, name: str, progress: Progress) -> ImageInfo:
    """Bootstrap a minimal Debian with python3 and import it as `name` (about 20 s with mmdebstrap)."""
    progress(f"building base image {name} from Debian packages (mmdebstrap)...")
    bootstrap = subprocess.Popen(_bootstrap_command(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    repository, _, tag = name.partition(":")
    assert bootstrap.stdout is not None
    try:
        # Streamed (chunked) straight from mmdebstrap into the engine: the root file system never touches disk.
        client.api.import_image_from_stream(
            bootstrap.stdout, repository=repository, tag=tag or "latest", changes=[f"ENV PATH={PATH_ENV}"]
        )
    finally:
        bootstrap.stdout.close()
        _, stderr = bootstrap.communicate()
    if bootstrap.returncode != 0:
        raise ImageError(f"base image bootstrap failed ({bootstrap.returncode}): {stderr.decode()[-2000:]}")
    found = _find_image(client, name)
    if found is None:
        raise ImageError(f"docker import reported success but {name} is not there")
    return ImageInfo(name, found.id, built=True)


def ensure_base_image(client: Any, name: str | None = None, progress: Progress = print) -> ImageInfo:
    """The base image: present already, built here (the default name), or pulled (any other name)."""
    name = name or base_image_name()
    found = _find_image(client, name)
    if found is not None:
        return ImageInfo(name, found.id, built=False)
    if name == DEFAULT_BASE_IMAGE:
        return build_base_image(client, name, progress)
    from docker.errors import DockerException

    progress(f"pulling base image {name}...")
    try:
        image = client.images.pull(name)
    except DockerException as exc:
        raise ImageError(
            f"base image {name} is not present and could not be pulled ({exc}); unset {BASE_IMAGE_ENV} to build "
            f"{DEFAULT_BASE_IMAGE} locally, or load the image into the engine first"
        ) from exc
    return ImageInfo(name, image.id, built=True)


def _standin_files() -> list[tuple[str, bytes]]:
    package = Path(atlas_drills.__file__).parent
    files: list[tuple[str, bytes]] = []
    for source in STANDIN_SOURCES:
        path = package / source
        paths = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        files.extend((f"atlas_drills/{p.relative_to(package).as_posix()}", p.read_bytes()) for p in paths)
    return files


def standin_context(base_image_id: str) -> tuple[str, bytes]:
    """The stand-in build context as a tar (in memory: a few dozen small files) and its content digest."""
    dockerfile = DOCKERFILE.format(base=base_image_id, path=PATH_ENV, label=IMAGE_LABEL).encode()
    files = [("Dockerfile", dockerfile), *_standin_files()]
    digest = hashlib.sha256()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in files:
            digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return digest.hexdigest()[:16], buffer.getvalue()


def ensure_standin_image(client: Any, base: ImageInfo, progress: Progress = print) -> ImageInfo:
    """The stand-in image for the current sources on `base`; built only when no image has this content digest."""
    content_digest, context = standin_context(base.image_id)
    tag = f"{STANDIN_REPOSITORY}:{content_digest}"
    found = _find_image(client, tag)
    if found is not None:
        return ImageInfo(tag, found.id, built=False)
    progress(f"building stand-in image {tag} on {base.tag}...")
    from docker.errors import BuildError

    try:
        image, _ = client.images.build(
            fileobj=io.BytesIO(context), custom_context=True, tag=tag, pull=False, rm=True, forcerm=True
        )
    except BuildError as exc:
        log = "".join(str(chunk.get("stream", "")) for chunk in exc.build_log)
        raise ImageError(f"building {tag} failed: {exc}\n{log[-2000:]}") from exc
    return ImageInfo(tag, image.id, built=True)
