"""`atlas-drills conformance --image IMAGE | --command PATH`: compare a server with the stand-in, request by request.

Exit 0 when no difference could change a drill's verdict (cosmetic differences are printed, and allowed); 1 when
one could; 2 when the comparison could not run (no engine, no image, a server that never became ready).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any


def _say(message: str) -> None:
    print(f"atlas-drills conformance: {message}", file=sys.stderr, flush=True)


def _run(args: argparse.Namespace) -> int:
    from atlas_drills.backup.errors import BackupError
    from atlas_drills.conformance.compare import COSMETIC
    from atlas_drills.conformance.run import ServerUnderTest, run_conformance, sample_backup
    from atlas_drills.sandbox.base import SandboxError
    from atlas_drills.sandbox.select import SandboxUnavailable, ensure_target_image
    from atlas_drills.sandbox.target import TargetError, load_target

    try:
        target = load_target(args.target)
        if args.command_path:
            server = ServerUnderTest(target.with_command(str(args.command_path)))
        else:
            server = ServerUnderTest(target, ensure_target_image(args.image))
        with tempfile.TemporaryDirectory(prefix="atlas-conformance-") as folder:
            work = Path(folder)
            backup = args.backup or sample_backup(work / "sample")
            result = run_conformance(backup, server, work / "run")
    except (TargetError, SandboxUnavailable, SandboxError, BackupError) as exc:
        _say(f"could not compare: {exc}")
        log = getattr(exc, "log", "")
        if log:
            _say("server log ends:\n" + log[-3000:])
        return 2
    for difference in result.differences:
        print(difference.render(limit=args.detail))
    verdict = len(result.verdict_differences)
    cosmetic = sum(1 for d in result.differences if d.kind == COSMETIC)
    print(f"{result.requests} requests compared: {verdict} verdict difference(s), {cosmetic} cosmetic difference(s)")
    return 1 if verdict else 0


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "conformance",
        help="compare a server with the stand-in on every request the drills make",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--image", help="the server's image (run in Docker, as the drills run it)")
    which.add_argument("--command", dest="command_path", type=Path, help="a native server binary (run locally)")
    parser.add_argument("--target", default="atlas", help="target file for the server (default: atlas)")
    parser.add_argument("--backup", type=Path, help="the backup to serve (default: the embedded sample, built here)")
    parser.add_argument("--detail", type=int, default=12, help="differing spots shown per difference (default 12)")
    parser.set_defaults(handler=_run)
