"""How a sandbox shows the target the verified tree: in place, never copied, and never changed.

The restore has read, hashed and verified every byte of the store once; copying it again into each sandbox would
cost a second full read and write per sandbox, and as much disk. So a sandbox serves the verified tree itself:

- `mount` (the default wherever the engine sees this machine's files): the shared sandbox gets the store through a
  read-only bind mount; a sandbox whose checks change state (`destructive`) gets a copy-on-write view of it, an
  overlay whose lower layer is the verified tree and whose upper layer is the sandbox's own, so every change lands
  in the upper layer and the verified tree is never modified. The upper layer is also the exact record of what the
  target or a check changed: no digest of the served store is needed to know.
- `copy`: the store is streamed into the container (its own copy), for an engine that cannot see this machine's
  files (Docker-in-Docker, a remote engine, Docker Desktop outside its shared folders).

`ATLAS_DRILLS_SANDBOX_STORE` chooses (`auto`, `mount`, `copy`); `auto` follows the network plan: an engine that
shares this machine's network (a local socket or a loopback DOCKER_HOST) runs on it and sees its files.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from atlas_drills.sandbox.network import network_plan

STORE_ENV = "ATLAS_DRILLS_SANDBOX_STORE"
MODES = ("auto", "mount", "copy")
MOUNT = "mount"
COPY = "copy"
# Characters the overlay's mount options cannot carry unescaped: a path holding one is shown by copy instead.
_OPTION_SEPARATORS = (",", ":", "\\", "\n")


class StoreSettingError(ValueError):
    """An ATLAS_DRILLS_SANDBOX_STORE the sandbox cannot use."""


@dataclass(frozen=True)
class StorePlan:
    mode: str  # mount | copy
    reason: str

    @property
    def mounted(self) -> bool:
        return self.mode == MOUNT


def store_plan(setting: str | None, docker_host: str | None, network_setting: str | None = None) -> StorePlan:
    """The plan for a setting (None or "" means auto), given where the engine is (DOCKER_HOST) and how it is
    reached (ATLAS_DRILLS_SANDBOX_NETWORK)."""
    mode = (setting or "auto").strip().lower()
    if mode not in MODES:
        raise StoreSettingError(f"{STORE_ENV}={setting!r}: expected one of {', '.join(MODES)}")
    if mode != "auto":
        return StorePlan(mode, f"{STORE_ENV}={mode}")
    if network_plan(network_setting, docker_host).mode == "host":
        return StorePlan(MOUNT, "the engine runs on this machine: the verified tree is mounted, never copied")
    where = f"DOCKER_HOST={docker_host}" if docker_host else f"ATLAS_DRILLS_SANDBOX_NETWORK={network_setting}"
    return StorePlan(COPY, f"the engine may not see this machine's files ({where}): the store is copied in")


def store_plan_from_env(environ: Mapping[str, str] | None = None) -> StorePlan:
    environ = os.environ if environ is None else environ
    return store_plan(environ.get(STORE_ENV), environ.get("DOCKER_HOST"), environ.get("ATLAS_DRILLS_SANDBOX_NETWORK"))


@dataclass(frozen=True)
class OverlayLayers:
    """The folders of one copy-on-write view: `lower` is the verified tree (read only), `upper` takes every change,
    `work` is the overlay's own scratch folder (on the same file system as `upper`)."""

    lower: Path
    upper: Path
    work: Path

    @classmethod
    def under(cls, lower: Path, folder: Path) -> OverlayLayers:
        """Fresh, empty upper and work folders under `folder` (the sandbox's own work folder)."""
        upper, work = folder / "upper", folder / "work"
        for path in (upper, work):
            path.mkdir(parents=True, exist_ok=False)
            path.chmod(0o755)  # the upper layer's root is the store's root in the view: readable by the target
        return cls(lower.resolve(), upper.resolve(), work.resolve())

    def mount_options(self) -> str:
        """The overlay's mount options; `ValueError` when a path cannot be carried in them."""
        for path in (self.lower, self.upper, self.work):
            if any(sep in str(path) for sep in _OPTION_SEPARATORS):
                raise ValueError(f"{path}: an overlay cannot name a folder whose path holds ',' ':' or '\\'")
        return f"lowerdir={self.lower},upperdir={self.upper},workdir={self.work}"


def overlay_changes(upper: Path) -> list[str]:
    """Every path of the view that differs from the verified tree, relative to the store root: each file, link or
    deletion (a whiteout: a 0/0 character device) in the upper layer, and each folder made opaque (replaced whole).
    Folders copied up only to hold a changed file are not changes themselves."""
    changed: list[str] = []
    for folder, dirs, files in os.walk(upper):
        relative = Path(folder).relative_to(upper)
        # Files, links and whiteouts alike: os.walk lists everything that is not a folder among the files.
        changed.extend((relative / name).as_posix() for name in files)
        changed.extend((relative / name).as_posix() for name in dirs if _opaque(Path(folder) / name))
    return sorted(changed)


def _opaque(path: Path) -> bool:
    for attribute in ("trusted.overlay.opaque", "user.overlay.opaque"):
        try:
            if os.getxattr(path, attribute, follow_symlinks=False) == b"y":
                return True
        except OSError:
            continue
    return False


def digest_changes(served: Mapping[str, str], verified: Mapping[str, str]) -> list[str]:
    """Every path whose served digest differs from the verified one, or that is in only one of the two: for a
    store shown by copy, where no upper layer records the changes."""
    return sorted(path for path in set(served) | set(verified) if served.get(path) != verified.get(path))
