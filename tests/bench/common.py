"""What every benchmark shares: building real backups, timing child processes, summaries, machine facts.

Benchmarks are not tests: nothing here has a `test_` prefix, and `make test` never runs them.
"""

from __future__ import annotations

import json
import os
import platform
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MIB = 1 << 20
GIB = 1 << 30
ROW_BYTES = 4 * MIB
_NUCLEOTIDES = bytes.maketrans(bytes(range(256)), b"ACGT" * 64)
CHILD_TIMEOUT_S = 3600


class BenchError(RuntimeError):
    """A benchmark that cannot run here, with what to do about it."""


def pad_store(store: Path, content_bytes: int, seed: int) -> int:
    """Add one large real SQLite database to the store, so the backup reaches the requested size. Rows are random
    nucleotide text, which compresses about 3-4x like real sequence data."""
    padding = store / "bench-padding" / "sequence_blobs.sqlite"
    padding.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    connection = sqlite3.connect(padding)
    connection.execute("CREATE TABLE sequence_blob (id INTEGER PRIMARY KEY, seqid TEXT NOT NULL, bases BLOB NOT NULL)")
    written = 0
    row = 0
    while written < content_bytes:
        bases = rng.randbytes(ROW_BYTES).translate(_NUCLEOTIDES)
        connection.execute("INSERT INTO sequence_blob VALUES (?, ?, ?)", (row, f"chr{row % 22 + 1}", bases))
        written += len(bases)
        row += 1
    connection.commit()
    connection.close()
    return padding.stat().st_size


def tool(name: str, hint: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BenchError(f"`{name}` not found. {hint}")
    return path


def timed(argv: Sequence[str], cwd: Path | None = None, env: Mapping[str, str] | None = None) -> tuple[float, str]:
    """Wall time of a child process, start-up included; earlier runs' dirty pages are written back first."""
    os.sync()
    started = time.perf_counter()
    done = subprocess.run(
        list(argv), cwd=cwd, env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S, check=False
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise BenchError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return elapsed, done.stdout


def child_restore(archive: str, staging: str) -> int:
    """Runs in a child process so its peak RSS is the restore's own (plus the interpreter)."""
    from atlas_drills.backup.restore import restore_backup

    result = restore_backup(Path(archive), Path(staging))
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"bytes": result.restored_bytes, "timings": result.timings, "peak_rss_kib": peak_kib}))
    return 0


def our_restore_argv(archive: Path, staging: Path) -> list[str]:
    return [sys.executable, "-m", "tests.bench.bench_restore", "--child-restore", str(archive), str(staging)]


def checksum_file(manifest_path: Path, target: Path) -> None:
    """A `sha256sum -c` file of every member the backup manifest lists."""
    manifest = json.loads(manifest_path.read_bytes())
    target.write_text("".join(f"{f['sha256']}  {f['path']}\n" for f in manifest["files"]), encoding="utf-8")


@dataclass(frozen=True)
class Summary:
    median: float
    low: float
    high: float
    runs: int

    def as_dict(self) -> dict[str, float]:
        return {"median": self.median, "min": self.low, "max": self.high, "runs": self.runs}


def summarize(values: Sequence[float]) -> dict[str, float]:
    if not values:
        raise BenchError("no measurements to summarize")
    return Summary(statistics.median(values), min(values), max(values), len(values)).as_dict()


def rates(seconds: Sequence[float], content_bytes: int) -> list[float]:
    return [content_bytes / MIB / s for s in seconds]


def sample_backup(folder: Path, genes: int | None = None) -> tuple[Path, Path]:
    """The embedded default sample, backed up as a drill run backs it up (baseline answers recorded from a live
    stand-in). Returns (backup archive, release folder holding ops/)."""
    from atlas_drills.backup.create import create_backup
    from atlas_drills.sample import SampleConfig, build_sample
    from atlas_drills.sandbox.base import SandboxRequest
    from atlas_drills.sandbox.local import LocalSandbox
    from atlas_drills.sandbox.target import load_target

    config = SampleConfig() if genes is None else SampleConfig(genes=genes)
    release = build_sample(folder / "release", config)
    live = SandboxRequest(load_target("standin"), staging=release.root, work_dir=folder / "live")
    with LocalSandbox(live) as service:
        created = create_backup(
            release.store_root,
            release.root / "ops",
            release.config_file,
            folder / "backup.tar.zst",
            baseline_from=service.base_url,
            show_progress=False,
        )
    shutil.rmtree(folder / "live", ignore_errors=True)
    return created.path, release.root


def _run(argv: Sequence[str]) -> str:
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return (done.stdout or done.stderr).strip() or "unknown"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / (1 << 20):.1f} GiB"
    except (OSError, ValueError):
        pass
    return "unknown"


def _disk(path: Path) -> str:
    usage = shutil.disk_usage(path)
    source = _run(["findmnt", "-n", "-o", "SOURCE,FSTYPE", "--target", str(path)])
    device = source.split()[0].rsplit("/", 1)[-1] if source != "unknown" else ""
    rotational = Path(f"/sys/block/{device}/queue/rotational")
    kind = ""
    if device and rotational.exists():
        kind = ", rotational" if rotational.read_text().strip() == "1" else ", non-rotational"
    return f"{source}{kind}, {usage.total / GIB:.0f} GiB, {usage.free / GIB:.0f} GiB free (at {path})"


def machine_facts(work: Path) -> dict[str, Any]:
    """What a reader needs to weigh the figures: CPU, cores, memory, disk, kernel and tool versions."""
    docker = shutil.which("docker", path="/usr/bin") or "docker"
    restic = shutil.which("restic")
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory": _memory(),
        "disk": _disk(work),
        "kernel": platform.release(),
        "os": _run(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "docker": _run([docker, "version", "--format", "client {{.Client.Version}}, engine {{.Server.Version}}"]),
        "tar": _run(["tar", "--version"]).splitlines()[0],
        "zstd": _run(["zstd", "--version"]).splitlines()[0],
        "restic": _run([restic, "version"]) if restic else "not installed",
        "load_average_at_start": " ".join(f"{v:.2f}" for v in os.getloadavg()),
    }
