"""What a drill needs before its restore: the backup, the expectation's folder, and where its target will run.

The embedded default (`sample://current`) is built and backed up once per run, under a file lock every process of
the run honours (xdist workers included), from a live stand-in serving the sample, so its baseline answers are
recorded from a running service, as for a real backup. The stand-in image is likewise built at most once per run.
"""

from __future__ import annotations

import fcntl
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from atlas_drills.plan import DrillSpec, uri_path
from atlas_drills.sandbox.select import SandboxChoice, choose_sandbox, ensure_target_image
from atlas_drills.sandbox.target import TargetSpec

SAMPLE_FOLDER = "sample-current"
SAMPLE_BACKUP_NAME = "backup.tar.zst"


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
    from atlas_drills.sample import SampleConfig, build_sample
    from atlas_drills.sandbox.base import SandboxRequest
    from atlas_drills.sandbox.local import LocalSandbox
    from atlas_drills.sandbox.target import load_target

    release = build_sample(folder / "release", SampleConfig())
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
