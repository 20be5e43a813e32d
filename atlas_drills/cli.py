"""`atlas-drills`: the command line. Each area registers its own subcommands."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from atlas_drills import __version__
from atlas_drills.backup.errors import printable


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="atlas-drills",
        description="Recovery drills for Atlas serving stores: build samples, serve them with the stand-in, "
        "and (in the pytest suite) prove a backup restores into a working service.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    from atlas_drills import catalog_cli, plan_cli, report_cli
    from atlas_drills.backup import cli as backup_cli
    from atlas_drills.conformance import cli as conformance_cli
    from atlas_drills.evidence import cli as evidence_cli
    from atlas_drills.faults import cli as faults_cli
    from atlas_drills.sample import cli as sample_cli
    from atlas_drills.sandbox import cli as sandbox_cli
    from atlas_drills.sandbox import kept_cli
    from atlas_drills.standin import cli as standin_cli

    sample_cli.register(commands)
    backup_cli.register(commands)
    sandbox_cli.register(commands)
    kept_cli.register(commands)
    standin_cli.register(commands)
    plan_cli.register(commands)
    report_cli.register(commands)
    evidence_cli.register(commands)
    faults_cli.register(commands)
    conformance_cli.register(commands)
    catalog_cli.register(commands)
    return parser


# Exit codes every command shares for what no command handled itself.
ENVIRONMENT_EXIT = 3  # the machine: permission denied, disk full, a folder that cannot be made
INTERNAL_EXIT = 70  # a defect of atlas-drills (EX_SOFTWARE)


def absolute_paths(args: argparse.Namespace) -> argparse.Namespace:
    """Every path argument made absolute against the working directory, once, before any handler runs: a
    handler that later changes folder, or hands a path to a library that needs an absolute one (SQLite URIs,
    subprocesses with their own cwd), still means the path the user typed."""
    for name, value in vars(args).items():
        if isinstance(value, Path):
            setattr(args, name, value.absolute())
        elif isinstance(value, list) and value and all(isinstance(item, Path) for item in value):
            setattr(args, name, [item.absolute() for item in value])
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. Whatever escapes it becomes one line on stderr, never a traceback (set
    ATLAS_DRILLS_DEBUG=1 to see one): an environment error exits 3 naming the path, an interruption 128+signal,
    anything else 70."""
    parser = build_parser()
    # `plan` hands every option it does not know to pytest; every other command refuses unknown arguments.
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "accepts_extra_arguments", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if extra:
        args.pytest_args = extra
    args = absolute_paths(args)
    try:
        result: int = args.handler(args)
    except KeyboardInterrupt as exc:
        signum = int(getattr(exc, "signum", signal.SIGINT))
        return _last_words(f"interrupted by {signal.Signals(signum).name}", 128 + signum)
    except OSError as exc:
        where = f"{printable(exc.filename)}: " if exc.filename is not None else ""
        return _last_words(f"{where}{exc.strerror or type(exc).__name__} (errno {exc.errno})", ENVIRONMENT_EXIT)
    except Exception as exc:  # the last line of defence: one line instead of a traceback
        if os.environ.get("ATLAS_DRILLS_DEBUG"):
            raise
        message = f"internal error: {type(exc).__name__}: {printable(exc)}. Set ATLAS_DRILLS_DEBUG=1 for the traceback"
        return _last_words(message, INTERNAL_EXIT)
    return result


def _last_words(message: str, code: int) -> int:
    print(f"atlas-drills: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
