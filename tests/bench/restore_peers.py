"""Restore + verify of a >= 1 GiB backup, side by side: ours (one pass), the two-pass shell baseline (`tar -xf`, then
`sha256sum -c`) and `restic restore --verify` from a local restic repository of the same tree; and our peak RSS
at several backup sizes (it must stay flat).

Every tool restores the same content into an empty folder on the same file system; each is timed as a whole
process, start-up included. The page cache cannot be dropped reliably here, so it is kept warm for every tool
equally: one untimed warm-up run each, then timed runs in rotating order (A B C, B C A, C A B, ...).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.bench.common import (
    GIB,
    MIB,
    BenchError,
    checksum_file,
    our_restore_argv,
    pad_store,
    rates,
    summarize,
    timed,
    tool,
)

Say = Callable[[str], None]
RESTIC_HINT = "Install it with `apt-get install -y restic` (Debian's package), or leave it out with --no-restic."


@dataclass(frozen=True)
class PaddedBackup:
    archives: dict[str, Path]  # kind ("tar", "tar.zst") -> archive
    content_bytes: int
    archive_bytes: dict[str, int]
    files: int


def build_padded_backup(work: Path, size_bytes: int, kinds: tuple[str, ...], say: Say) -> PaddedBackup:
    """The default sample padded with one large real SQLite database up to `size_bytes` of content, backed up by
    `backup create` in each of `kinds`. The source tree is removed afterwards."""
    from atlas_drills.backup.create import create_backup
    from atlas_drills.sample import SampleConfig, build_sample

    source = work / "source"
    release = build_sample(source, SampleConfig())
    pad_store(release.store_root, size_bytes, seed=7)
    archives: dict[str, Path] = {}
    sizes: dict[str, int] = {}
    content = files = 0
    for kind in kinds:
        began = time.perf_counter()
        created = create_backup(
            release.store_root, release.root / "ops", release.config_file, work / f"backup.{kind}", show_progress=False
        )
        archives[kind], sizes[kind] = created.path, created.archive_bytes
        content, files = created.manifest.total_size, len(created.manifest.files)
        say(
            f"  backup.{kind}: {created.archive_bytes / MIB:,.0f} MiB archive, {content / MIB:,.0f} MiB content, "
            f"{files} files, created in {time.perf_counter() - began:.1f}s"
        )
    shutil.rmtree(source)
    return PaddedBackup(archives, content, sizes, files)


def _restic_env(work: Path) -> dict[str, str]:
    password = work / "restic-password"
    if not password.exists():
        password.write_text("atlas-drills-bench\n")
        password.chmod(0o600)
    return {
        **os.environ,
        "RESTIC_REPOSITORY": str(work / "restic-repo"),
        "RESTIC_PASSWORD_FILE": str(password),
        "RESTIC_CACHE_DIR": str(work / "restic-cache"),
    }


def prepare_restic(work: Path, backup: Path, say: Say) -> tuple[str, dict[str, str]]:
    """A local restic repository holding the same tree our backup restores (its manifest included)."""
    restic = tool("restic", RESTIC_HINT)
    env = _restic_env(work)
    tree = work / "restic-source"
    timed(our_restore_argv(backup, tree))
    timed([restic, "init"], env=env)
    began = time.perf_counter()
    timed([restic, "backup", "--quiet", "."], cwd=tree, env=env)
    took = time.perf_counter() - began
    say(f"  restic repository: {_du(work / 'restic-repo') / MIB:,.0f} MiB, backed up in {took:.1f}s")
    shutil.rmtree(tree)
    return restic, env


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _content_of(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def throughput(work: Path, size_gib: float, runs: int, with_restic: bool, say: Say) -> dict[str, Any]:
    """Median MiB/s (min-max) of each side over `runs` alternating runs, after one warm-up run each."""
    tar = tool("tar", "Install GNU tar.")
    sha256sum = tool("sha256sum", "Install coreutils.")
    tool("zstd", "The .tar.zst baseline needs it: apt-get install -y zstd")
    work.mkdir(parents=True, exist_ok=True)
    say(f"restore throughput: building a {size_gib:g} GiB backup")
    backup = build_padded_backup(work, int(size_gib * GIB), ("tar", "tar.zst"), say)
    checksums = work / "checksums.sha256"
    manifest_dir = work / "manifest-only"
    manifest_dir.mkdir()
    subprocess.run(
        [tar, "-xf", str(backup.archives["tar"]), "-C", str(manifest_dir), "backup-manifest.json"],
        check=True,
        timeout=600,
    )
    checksum_file(manifest_dir / "backup-manifest.json", checksums)
    restic_env: dict[str, str] = {}
    restic = ""
    if with_restic:
        restic, restic_env = prepare_restic(work, backup.archives["tar"], say)
    staging = work / "staging"
    rss_mib: dict[str, list[float]] = {"tar": [], "tar.zst": []}

    def ours(kind: str) -> float:
        elapsed, out = timed(our_restore_argv(backup.archives[kind], staging))
        rss_mib[kind].append(int(json.loads(out)["peak_rss_kib"]) / 1024)
        return elapsed

    def shell(kind: str) -> float:
        staging.mkdir()
        extract = [tar, "-xf", str(backup.archives[kind]), "-C", str(staging)]
        if kind == "tar.zst":
            extract.insert(1, "--zstd")
        check = [sha256sum, "-c", "--quiet", str(checksums)]
        script = f"{shlex.join(extract)} && cd {shlex.quote(str(staging))} && {shlex.join(check)}"
        return timed(["/bin/sh", "-c", script])[0]

    def restic_restore(_: str) -> float:
        return timed([restic, "restore", "latest", "--target", str(staging), "--verify"], env=restic_env)[0]

    sides: dict[str, Callable[[str], float]] = {
        "ours .tar": lambda _: ours("tar"),
        "shell .tar": lambda _: shell("tar"),
        "ours .tar.zst": lambda _: ours("tar.zst"),
        "shell .tar.zst": lambda _: shell("tar.zst"),
    }
    if with_restic:
        sides["restic"] = restic_restore
    seconds: dict[str, list[float]] = {name: [] for name in sides}
    names = list(sides)
    for run in range(-1, runs):  # run -1 is the untimed warm-up of every side
        order = names[run % len(names) :] + names[: run % len(names)] if run >= 0 else names
        for name in order:
            shutil.rmtree(staging, ignore_errors=True)
            elapsed = sides[name](name)
            if name == "restic" and run == -1:
                restored = _content_of(staging)
                if restored < backup.content_bytes:
                    raise BenchError(f"restic restored {restored} bytes, expected {backup.content_bytes}")
            if run >= 0:
                seconds[name].append(elapsed)
            label = "warm-up" if run < 0 else f"run {run + 1}"
            say(f"  {label:8} {name:15} {backup.content_bytes / MIB / elapsed:8.1f} MiB/s ({elapsed:.2f}s)")
    shutil.rmtree(staging, ignore_errors=True)
    result: dict[str, Any] = {
        "content_bytes": backup.content_bytes,
        "archive_bytes": backup.archive_bytes,
        "files": backup.files,
        "runs": runs,
        "seconds": seconds,
        "mib_per_s": {name: summarize(rates(values, backup.content_bytes)) for name, values in seconds.items()},
        "peak_rss_mib": {kind: summarize(values) for kind, values in rss_mib.items()},
    }
    rate = {name: result["mib_per_s"][name]["median"] for name in seconds}
    ratios = {
        "ours/shell .tar": rate["ours .tar"] / rate["shell .tar"],
        "ours/shell .tar.zst": rate["ours .tar.zst"] / rate["shell .tar.zst"],
    }
    if with_restic:
        ratios["ours .tar/restic"] = rate["ours .tar"] / rate["restic"]
        ratios["ours .tar.zst/restic"] = rate["ours .tar.zst"] / rate["restic"]
    result["ratios"] = ratios
    for kind in ("tar", "tar.zst"):
        backup.archives[kind].unlink()
    shutil.rmtree(work / "restic-repo", ignore_errors=True)
    return result


def peak_rss(work: Path, sizes_mib: list[int], runs: int, say: Say) -> dict[str, Any]:
    """Our restore's peak RSS (ru_maxrss of the child process) per backup size, for .tar and .tar.zst."""
    work.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {}
    for size in sizes_mib:
        folder = work / f"rss-{size}"
        folder.mkdir()
        say(f"peak RSS: building a {size:,} MiB backup")
        backup = build_padded_backup(folder, size * MIB, ("tar", "tar.zst"), say)
        row: dict[str, Any] = {"content_bytes": backup.content_bytes}
        for kind, archive in backup.archives.items():
            values = []
            for _ in range(runs):
                staging = folder / "staging"
                shutil.rmtree(staging, ignore_errors=True)
                _, out = timed(our_restore_argv(archive, staging))
                values.append(int(json.loads(out)["peak_rss_kib"]) / 1024)
            row[kind] = summarize(values)
            say(f"  {size:>6,} MiB {kind:8} peak RSS {max(values):6.1f} MiB")
        result[str(size)] = row
        shutil.rmtree(folder)
    return result
