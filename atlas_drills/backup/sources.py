"""What goes into a backup: walk the store, ops and config sources, apply the exclusions, refuse links.

The plan is metadata (paths, sizes from lstat), except for the three small files the backup must understand:
`catalog.json` (is this a serving store?), `identity.json` (which release?) and the runtime configuration (where is
the cache?). Those are read once here and their bytes travel in the plan, so the archive holds exactly the bytes
that were checked and the manifest's release identity is the archived one. Every other file is read exactly once,
later, while it is hashed into the archive.
"""

from __future__ import annotations

import fnmatch
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from atlas_drills.backup.errors import BackupCreateError
from atlas_drills.backup.manifest import IDENTITY_PATH, Exclusion, ReleaseIdentity
from atlas_drills.runtime_config import RuntimeConfigError, parse_env_text
from atlas_drills.store.catalog import parse_catalog
from atlas_drills.store.errors import StoreError
from atlas_drills.store.layout import CATALOG_FILE

CONFIG_MEMBER: Final = "config/atlas.env"
SQLITE_SUFFIX: Final = ".sqlite"

_SIDE_FILES = "SQLite side file: the online-backup snapshot already holds every committed page"
_EDITOR = "editor or temporary file, never part of a release"
# (pattern, reason). A pattern ending in '/' matches folders by name; any other matches file names.
EXCLUDED_PATTERNS: Final = (
    (".tmp-atlas-download/", "Atlas's in-flight download staging: partial files, disposable"),
    (".cache/", "cache folder: disposable, and recovery must never depend on cache state"),
    ("*-wal", _SIDE_FILES),
    ("*-shm", _SIDE_FILES),
    ("*-journal", _SIDE_FILES),
    ("*.tmp", "partial write (Atlas and atlas-drills write to *.tmp, then rename)"),
    ("*~", _EDITOR),
    ("*.swp", _EDITOR),
    (".#*", _EDITOR),
    (".DS_Store", _EDITOR),
)
CACHE_REASON: Final = "cache root (ATLAS_CACHE_ROOT) inside the source: disposable, never needed to recover"


@dataclass(frozen=True)
class PlannedFile:
    member: str
    source: Path
    size: int
    executable: bool
    content: bytes | None = None  # already read during planning (small metadata files only)

    @property
    def is_sqlite(self) -> bool:
        return self.member.endswith(SQLITE_SUFFIX)


@dataclass(frozen=True)
class SourcePlan:
    store_root: Path
    ops_root: Path
    config: Path
    files: tuple[PlannedFile, ...]
    exclusions: tuple[Exclusion, ...]
    release: ReleaseIdentity


class _Walk:
    def __init__(self, cache_roots: list[Path]) -> None:
        self.files: list[PlannedFile] = []
        self.matched: dict[str, int] = {pattern: 0 for pattern, _ in EXCLUDED_PATTERNS}
        self.cache_roots = dict.fromkeys(cache_roots, 0)
        self.problems: list[str] = []

    def walk(self, root: Path, member_root: str) -> None:
        for folder, dirs, files in os.walk(root, followlinks=False):
            here = Path(folder)
            dirs.sort()
            kept = []
            for name in dirs:
                path = here / name
                if os.path.islink(path):
                    self._link(path)
                elif path in self.cache_roots:
                    self.cache_roots[path] += 1
                elif not self._excluded(name, folder=True):
                    kept.append(name)
            dirs[:] = kept
            for name in sorted(files):
                self._file(here / name, member_root + "/" + (here / name).relative_to(root).as_posix())

    def _excluded(self, name: str, *, folder: bool) -> bool:
        for pattern, _ in EXCLUDED_PATTERNS:
            if pattern.endswith("/") == folder and fnmatch.fnmatchcase(name, pattern.rstrip("/")):
                self.matched[pattern] += 1
                return True
        return False

    def _link(self, path: Path) -> None:
        self.problems.append(
            f"{path}: symbolic link -> {os.readlink(path)}; the backup format stores regular files only. Replace "
            "it with the file it points to, or move it out of the source."
        )

    def _file(self, path: Path, member: str) -> None:
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            self._link(path)
        elif not stat.S_ISREG(info.st_mode):
            self.problems.append(f"{path}: not a regular file (mode {oct(info.st_mode)}); remove it from the source")
        elif not self._excluded(path.name, folder=False):
            executable = bool(info.st_mode & stat.S_IXUSR)
            self.files.append(PlannedFile(member, path, info.st_size, executable))


def read_release_identity(ops_root: Path) -> tuple[ReleaseIdentity, bytes]:
    """The release the backup is bound to, from `ops/release/evidence/identity.json`, and that file's bytes."""
    path = ops_root / IDENTITY_PATH.removeprefix("ops/")
    try:
        data = path.read_bytes()
        raw = json.loads(data)
    except FileNotFoundError as exc:
        raise BackupCreateError(
            f"{path}: missing. A backup is bound to its release identity; pass --ops the folder that holds "
            "release/evidence/identity.json"
        ) from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackupCreateError(f"{path}: not valid JSON ({exc})") from exc
    fields = ("release_id", "git_sha", "governance_version")
    bad = [name for name in fields if not isinstance(raw, dict) or not isinstance(raw.get(name), str) or not raw[name]]
    if bad:
        raise BackupCreateError(f"{path}: fields {', '.join(bad)} must be non-empty strings (Atlas identity.json)")
    return ReleaseIdentity(raw["release_id"], raw["git_sha"], raw["governance_version"]), data


def _check_source(store_root: Path, ops_root: Path, config: Path) -> bytes:
    """Check the three roots; return the bytes of `catalog.json`, parsed to make sure it is a serving store."""
    problems = []
    for label, path in (("--store", store_root), ("--ops", ops_root)):
        if not path.is_dir():
            problems.append(f"{label} {path}: not a folder")
    if not config.is_file():
        problems.append(f"--config {config}: not a file")
    if problems:
        raise BackupCreateError("; ".join(problems))
    catalog = store_root / CATALOG_FILE
    try:
        data = catalog.read_bytes()
        parse_catalog(data, str(catalog))
    except FileNotFoundError as exc:
        raise BackupCreateError(
            f"{catalog}: missing. --store must be a serving store root (catalog.json beside release=*/), "
            "not a build root"
        ) from exc
    except StoreError as exc:
        raise BackupCreateError(f"{exc}\nFix the catalog before backing up: Atlas would not serve it.") from exc
    return data


def plan_sources(store_root: Path, ops_root: Path, config: Path) -> SourcePlan:
    """Everything to back up, sorted by member path, with the exclusions that applied. Raises
    `BackupCreateError` listing every symlink or special file found."""
    # The roots themselves are resolved (a symlinked mount point is fine); links *inside* them are refused.
    store_root, ops_root, config = store_root.resolve(), ops_root.resolve(), config.resolve()
    catalog_bytes = _check_source(store_root, ops_root, config)
    config_bytes = config.read_bytes()
    try:
        env = parse_env_text(config_bytes.decode("utf-8"), str(config))
    except (UnicodeDecodeError, RuntimeConfigError) as exc:
        raise BackupCreateError(f"{exc}\nThe runtime configuration must be one Atlas can load.") from exc
    cache_roots = [Path(env[name]).resolve() for name in ("ATLAS_CACHE_ROOT", "BIJUX_CACHE_DIR") if env.get(name)]
    walk = _Walk(cache_roots)
    walk.walk(store_root, "store")
    walk.walk(ops_root, "ops")
    if walk.problems:
        raise BackupCreateError("cannot back up this source:\n  " + "\n  ".join(walk.problems))
    release, identity_bytes = read_release_identity(ops_root)
    preloaded = {f"store/{CATALOG_FILE}": catalog_bytes, IDENTITY_PATH: identity_bytes}
    files = [
        PlannedFile(f.member, f.source, len(preloaded[f.member]), f.executable, preloaded[f.member])
        if f.member in preloaded
        else f
        for f in walk.files
    ]
    files.append(PlannedFile(CONFIG_MEMBER, config, len(config_bytes), False, config_bytes))
    files.sort(key=lambda planned: planned.member)
    exclusions = [Exclusion(pattern, reason, walk.matched[pattern]) for pattern, reason in EXCLUDED_PATTERNS]
    for root, matched in walk.cache_roots.items():
        for source_root, member_root in ((store_root, "store"), (ops_root, "ops")):
            if root.is_relative_to(source_root):
                pattern = f"{member_root}/{root.relative_to(source_root).as_posix()}/"
                exclusions.append(Exclusion(pattern, CACHE_REASON, matched))
    return SourcePlan(store_root, ops_root, config, tuple(files), tuple(exclusions), release)
