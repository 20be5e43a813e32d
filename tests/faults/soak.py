"""`make soak`: the good drill 20 times and every fault 5 times; any verdict that flips between runs is a failure.

    python -m tests.faults.soak [--good 20] [--each 5] [--sandbox docker|local] [--jobs 2]

Flaky drills are worse than none: a verdict must be a property of the backup, not of timing. Prints a line per
backup (runs, distinct verdict sets, median seconds) and exits 1 if any verdict flipped.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from atlas_drills.backup.create import create_backup
from atlas_drills.faults import FAULTS, apply_fault
from atlas_drills.sample import SampleConfig, build_sample
from atlas_drills.sandbox.base import SandboxRequest
from atlas_drills.sandbox.local import LocalSandbox
from atlas_drills.sandbox.target import load_target
from tests.faults.drill_run import run_drills


def _good_backup(work: Path) -> tuple[Path, Path]:
    release = build_sample(work / "release", SampleConfig(seed=7, genes=300))
    with LocalSandbox(SandboxRequest(load_target("standin"), release.root, work / "live")) as live:
        backup = create_backup(
            release.store_root, release.root / "ops", release.config_file, work / "good.tar.zst",
            baseline_from=live.base_url, show_progress=False,
        ).path  # fmt: skip
    return backup, release.root


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.faults.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--good", type=int, default=20, help="runs of the good backup (default 20)")
    parser.add_argument("--each", type=int, default=5, help="runs of every fault (default 5)")
    parser.add_argument("--sandbox", choices=("docker", "local"), default="docker")
    parser.add_argument("--jobs", type=int, default=2, help="drill runs at once (default 2)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="atlas-drills-soak-") as folder:
        work = Path(folder)
        good, expect = _good_backup(work)
        backups = {"good": (good, args.good)}
        for fault in FAULTS:
            bad = work / f"{fault.name}.tar.zst"
            apply_fault(fault.name, good, bad)
            backups[fault.name] = (bad, args.each)
        jobs = [(name, path, index) for name, (path, runs) in backups.items() for index in range(runs)]

        def run(job: tuple[str, Path, int]) -> tuple[str, str, float]:
            name, path, index = job
            began = time.monotonic()
            outcome = run_drills(path, expect, work / "runs" / f"{name}-{index}", args.sandbox)
            signature = json.dumps({"rc": outcome.returncode != 0, "verdicts": outcome.verdicts}, sort_keys=True)
            return name, signature, time.monotonic() - began

        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            results = list(pool.map(run, jobs))
    flipped = 0
    for name in backups:
        signatures = [s for n, s, _ in results if n == name]
        seconds = [d for n, _, d in results if n == name]
        distinct = sorted(set(signatures))
        flipped += len(distinct) > 1
        state = "STABLE" if len(distinct) == 1 else "FLIPPED"
        shown = distinct[0] if len(distinct) == 1 else distinct
        timing = f"median={statistics.median(seconds):6.2f}s min={min(seconds):6.2f}s max={max(seconds):6.2f}s"
        print(f"{state:8} {name:32} runs={len(signatures):3} {timing} verdicts={shown}")
    print(f"soak: {len(results)} drill runs, {len(backups)} backups, {flipped} with a flipped verdict")
    return 1 if flipped else 0


if __name__ == "__main__":
    sys.exit(main())
