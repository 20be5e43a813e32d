"""What a drill needs before its restore: the backup, the expectation's folder, and where its target will run.

The embedded default (`sample://current`) is backed up once per run, under a file lock every process of the run
honours (xdist workers included), from a live stand-in serving the sample, so its baseline answers are recorded from
a running service, as for a real backup. The sample release itself (the synthetic store and its evidence: the same
bytes for the same code) is built once per version of the code that builds it and kept in the sample cache
(`ATLAS_DRILLS_SAMPLE_CACHE`, default `.work/sample-cache` in the checkout; `off` builds it in every run). The backup
is always taken afresh. The stand-in image is likewise built at most once per run.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from atlas_drills.plan import PROJECT_ROOT, DrillSpec, uri_path
from atlas_drills.sandbox.select import SandboxChoice, choose_sandbox, ensure_target_image
from atlas_drills.sandbox.target import TargetSpec

SAMPLE_FOLDER = "sample-current"
SAMPLE_BACKUP_NAME = "backup.tar.zst"
SAMPLE_CACHE_ENV = "ATLAS_DRILLS_SAMPLE_CACHE"
_KEPT_SAMPLES = 3  # releases of other code versions beyond these are removed from the cache


def once_per_run(shared: Path, name: str, build: Callable[[Path], None]) -> Path:
    """Build `shared/name` once for the whole run: the first process to take the lock builds, the rest reuse it."""
    folder = shared / name
    with (shared / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if this process dies
        if not (folder / ".done").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            build(folder)
            (folder / ".done").touch()
    return folder


@dataclass(frozen=True)
class PreparedBackup:
    """A backup ready to restore, and the release folder (holding ops/) that should be serving after recovery."""

    path: Path
    expect_root: Path
    fetch_s: float


def build_sample_backup(folder: Path) -> None:
    """The embedded sample built into `folder/release` and backed up to `folder/backup.tar.zst`, with its baseline
    answers recorded from a live local stand-in."""
    from atlas_drills.backup.create import create_backup
    from atlas_drills.sample import SampleConfig, build_sample, load_sample
    from atlas_drills.sandbox.base import SandboxRequest
    from atlas_drills.sandbox.local import LocalSandbox
    from atlas_drills.sandbox.target import load_target

    cache = sample_cache()
    if cache is None:
        release = build_sample(folder / "release", SampleConfig())
    else:
        release = load_sample(cached_sample_release(cache, lambda into: build_sample(into, SampleConfig())))
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "release").symlink_to(release.root, target_is_directory=True)
    live = SandboxRequest(load_target("standin"), staging=release.root, work_dir=folder / "live")
    with LocalSandbox(live) as service:
        create_backup(
            release.store_root,
            release.root / "ops",
            release.config_file,
            folder / SAMPLE_BACKUP_NAME,
            baseline_from=service.base_url,
            show_progress=False,
        )
    shutil.rmtree(folder / "live", ignore_errors=True)


def sample_cache(environ: Mapping[str, str] | None = None) -> Path | None:
    """The sample cache folder, or None when `ATLAS_DRILLS_SAMPLE_CACHE=off`."""
    value = (os.environ if environ is None else environ).get(SAMPLE_CACHE_ENV, "")
    if value.strip().lower() in {"off", "0", "no", "false"}:
        return None
    return Path(value).absolute() if value else PROJECT_ROOT / ".work" / "sample-cache"


def code_version() -> str:
    """A digest of everything that decides the sample's bytes: the package's own files and ops/ (schemas, data)."""
    digest = hashlib.sha256()
    for root in (PROJECT_ROOT / "atlas_drills", PROJECT_ROOT / "ops"):
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(path.relative_to(PROJECT_ROOT).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def cached_sample_release(cache: Path, build: Callable[[Path], object]) -> Path:
    """The sample release of this code version, built into the cache on first use (under a lock, into a temporary
    folder renamed into place, so a reader never sees half a release); older versions beyond a few are removed."""
    cache.mkdir(parents=True, exist_ok=True)
    folder = cache / code_version()
    with (cache / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not folder.is_dir():
            building = cache / f".building-{folder.name}-{os.getpid()}"
            shutil.rmtree(building, ignore_errors=True)
            try:
                build(building)
                building.rename(folder)
            finally:
                shutil.rmtree(building, ignore_errors=True)
        os.utime(folder)  # most recently used
        others = sorted((p for p in cache.iterdir() if p.is_dir() and p != folder), key=lambda p: p.stat().st_mtime)
        for old in others[: max(len(others) - (_KEPT_SAMPLES - 1), 0)]:
            shutil.rmtree(old, ignore_errors=True)
    return folder


def release_folder(uri: str, shared: Path) -> Path:
    """The folder an expectation URI names (the embedded sample's release is built on first use)."""
    if uri.startswith("sample://"):
        return once_per_run(shared, SAMPLE_FOLDER, build_sample_backup) / "release"
    return uri_path(uri)


def prepare_backup(drill: DrillSpec, shared: Path) -> PreparedBackup:
    """The drill's backup: the embedded default built and backed up on demand, or the file the drill names. The
    time it takes is the drill's fetch phase."""
    began = time.monotonic()
    if drill.is_sample:
        folder = once_per_run(shared, SAMPLE_FOLDER, build_sample_backup)
        return PreparedBackup(folder / SAMPLE_BACKUP_NAME, folder / "release", time.monotonic() - began)
    return PreparedBackup(uri_path(drill.backup), release_folder(drill.expect, shared), time.monotonic() - began)


def sandbox_choice(drill: DrillSpec, target: TargetSpec, shared: Path) -> SandboxChoice:
    """Where the drill's target runs, with the image a Docker sandbox runs (the stand-in's is built once per run)."""
    image = drill.target_image or target.image
    choice = choose_sandbox(drill.sandbox, image, shared, native=bool(drill.target_command))
    if choice.kind != "docker":
        return choice
    if image:
        return SandboxChoice("docker", ensure_target_image(image), choice.reason)

    def build(folder: Path) -> None:
        (folder / "tag").write_text(ensure_target_image(""))

    tag = (once_per_run(shared, "standin-image", build) / "tag").read_text()
    return SandboxChoice("docker", tag, choice.reason)
