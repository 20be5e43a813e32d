"""Sample backups for the cost curves, built once and cached in the bench's work folder.

A cached entry is `WORK/samples/<key>/` holding `backup.tar` (a real `backup create` of the sample, its baseline
answers recorded from a live local stand-in, so every check of a drill runs), `release/` (the expectation: the
sample's ops/ and config/; its store's SQLite files and raw build inputs are removed once backed up, they are what
makes the sample large) and `entry.json` (what was built and how long it took). The key names the recipe (genes,
releases, second species) and the code version: a digest of every source file of the `atlas_drills` package, so a
change to the sample builder, the backup writer or the stand-in that records the baseline rebuilds. An entry is also
rebuilt when its backup is older than `MAX_AGE_H`: the drill plan's recovery point objective (26 hours) fails a
drill of an older backup.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
MAX_AGE_H = 20.0  # below the plan's max_backup_age_hours (26), with room for a long bench run
BACKUP_NAME = "backup.tar"
Say = Callable[[str], None]


@dataclass(frozen=True)
class Recipe:
    """What to build: genes of the newest release, the primary species' releases, and whether the newest release
    has a second species' dataset (a tenth as many genes)."""

    genes: int | None  # None: the embedded default (2,000 genes)
    releases: tuple[str, ...] = ("110", "111", "112")
    second_species: bool = True

    @property
    def datasets(self) -> int:
        return len(self.releases) + (1 if self.second_species else 0)

    def label(self) -> str:
        return "default" if self.genes is None else f"{self.genes:,}"

    def key(self, version: str | None = None) -> str:
        return f"{self.stem()}-{version or code_version()}"

    def stem(self) -> str:
        genes = "default" if self.genes is None else str(self.genes)
        second = "mm" if self.second_species else "none"
        return f"g{genes}-r{len(self.releases)}-{second}"


@dataclass(frozen=True)
class CachedBackup:
    recipe: Recipe
    folder: Path
    backup: Path
    release: Path
    backup_bytes: int
    build_s: float  # building the sample and backing it up (0 when reused from an earlier run)
    reused: bool
    code_version: str  # of the atlas_drills code that built the sample and wrote the backup


_CODE_VERSION: list[str] = []


def code_version() -> str:
    """A digest of the atlas_drills package's sources: 12 hex digits."""
    if not _CODE_VERSION:
        digest = hashlib.sha256()
        package = REPO_ROOT / "atlas_drills"
        for path in sorted(package.rglob("*")):
            if path.is_file() and path.suffix in (".py", ".json", ".toml", ".sql") and "__pycache__" not in path.parts:
                digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
        _CODE_VERSION.append(digest.hexdigest()[:12])
    return _CODE_VERSION[0]


def releases_for(datasets: int) -> tuple[str, ...]:
    """`datasets` successive releases of the primary species (110, 111, ...)."""
    return tuple(str(110 + index) for index in range(datasets))


def _usable(folder: Path) -> dict[str, Any] | None:
    entry_file = folder / "entry.json"
    if not entry_file.is_file() or not (folder / BACKUP_NAME).is_file():
        return None
    entry = dict(json.loads(entry_file.read_bytes()))
    built = datetime.fromisoformat(entry["built_at"])
    if (datetime.now(UTC) - built).total_seconds() > MAX_AGE_H * 3600:
        return None
    return entry


def _older(samples: Path, recipe: Recipe) -> tuple[Path, dict[str, Any]] | None:
    """The most recently built fresh entry of the recipe written by any code version."""
    found = [(folder, _usable(folder)) for folder in samples.glob(f"{recipe.stem()}-*") if folder.is_dir()]
    usable = [(folder, entry) for folder, entry in found if entry is not None]
    return max(usable, key=lambda item: str(item[1]["built_at"])) if usable else None


def cached_backup(samples: Path, recipe: Recipe, say: Say, reuse_older: bool = False) -> CachedBackup:
    """The recipe's backup from the cache, built first when absent, stale or (unless `reuse_older`) written by other
    code. With `reuse_older` a backup written by an earlier version of the code is drilled as it is, as a user's
    older backups are."""
    folder = samples / recipe.key()
    entry = _usable(folder)
    older = _older(samples, recipe) if entry is None and reuse_older else None
    if older is not None:
        folder, entry = older
    if entry is not None:
        say(f"  {recipe.label()} genes, {recipe.datasets} datasets: reusing {folder}")
        return _cached(recipe, folder, entry, reused=True)
    shutil.rmtree(folder, ignore_errors=True)
    building = folder.with_name(folder.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    say(f"  {recipe.label()} genes, {recipe.datasets} datasets: building sample and backup in {folder}")
    began = time.monotonic()
    sample_s, backup_s = _build(building, recipe, say)
    entry = {
        "recipe": {"genes": recipe.genes, "releases": list(recipe.releases), "second_species": recipe.second_species},
        "code_version": code_version(),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "sample_s": sample_s,
        "backup_s": backup_s,
        "build_s": time.monotonic() - began,
    }
    (building / "entry.json").write_text(json.dumps(entry, indent=2) + "\n")
    building.rename(folder)
    say(f"  built in {entry['build_s']:.0f} s (sample {sample_s:.0f} s, backup {backup_s:.0f} s)")
    return _cached(recipe, folder, entry, reused=False)


def _cached(recipe: Recipe, folder: Path, entry: dict[str, Any], reused: bool) -> CachedBackup:
    backup = folder / BACKUP_NAME
    return CachedBackup(
        recipe=recipe,
        folder=folder,
        backup=backup,
        release=folder / "release",
        backup_bytes=backup.stat().st_size,
        build_s=0.0 if reused else float(entry["build_s"]),
        reused=reused,
        code_version=str(entry.get("code_version", "unknown")),
    )


def _build(folder: Path, recipe: Recipe, say: Say) -> tuple[float, float]:
    from atlas_drills.backup.create import create_backup
    from atlas_drills.sample import SampleConfig, build_sample
    from atlas_drills.sandbox.base import SandboxRequest
    from atlas_drills.sandbox.local import LocalSandbox
    from atlas_drills.sandbox.target import load_target

    began = time.monotonic()
    config = SampleConfig(
        genes=recipe.genes if recipe.genes is not None else SampleConfig().genes,
        releases=recipe.releases,
        second_species=SampleConfig().second_species if recipe.second_species else None,
    )
    release = build_sample(folder / "release", config)
    sample_s = time.monotonic() - began
    say(f"    sample built in {sample_s:.0f} s; backing it up (baseline answers from a live local stand-in)")
    began = time.monotonic()
    # The first query of each dataset makes the stand-in verify its SQLite file, as Atlas does: minutes at 1M genes.
    live = SandboxRequest(load_target("standin"), staging=release.root, work_dir=folder / "live", ready_timeout_s=600.0)
    with LocalSandbox(live) as service:
        create_backup(
            release.store_root,
            release.root / "ops",
            release.config_file,
            folder / BACKUP_NAME,
            baseline_from=service.base_url,
            show_progress=False,
        )
    backup_s = time.monotonic() - began
    shutil.rmtree(folder / "live", ignore_errors=True)
    # The expectation is the release's ops/ (and its catalog); the bulk is only needed to make the backup.
    shutil.rmtree(release.root / "build", ignore_errors=True)
    for sqlite in release.store_root.rglob("*.sqlite"):
        sqlite.unlink()
    return sample_s, backup_s


def prune(samples: Path) -> None:
    """Remove cached entries of other code versions (built or half-built), so a kept cache does not grow forever.
    Entries of this code version stay, also half-built ones: another bench run may be building them."""
    if not samples.is_dir():
        return
    for child in samples.iterdir():
        if child.is_dir() and not child.name.removesuffix(".building").endswith(code_version()):
            shutil.rmtree(child, ignore_errors=True)
