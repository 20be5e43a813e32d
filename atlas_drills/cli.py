"""`atlas-drills`: the command line. Each area registers its own subcommands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from atlas_drills import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="atlas-drills",
        description="Recovery drills for Atlas serving stores: build samples, serve them with the stand-in, "
        "and (in the pytest suite) prove a backup restores into a working service.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    from atlas_drills import plan_cli, report_cli
    from atlas_drills.backup import cli as backup_cli
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
    return parser


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
    parser = build_parser()
    # `plan` hands every option it does not know to pytest; every other command refuses unknown arguments.
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "accepts_extra_arguments", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if extra:
        args.pytest_args = extra
    args = absolute_paths(args)
    result: int = args.handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
