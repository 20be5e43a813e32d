"""`atlas-drills faults list|apply`: the catalog of known-bad backups, and making one from a good backup."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def _list(args: argparse.Namespace) -> int:
    from atlas_drills.faults import FAULTS

    for fault in FAULTS:
        caught = (
            f"refused at restore ({fault.refused_rule})" if fault.is_archive_fault else ", ".join(sorted(fault.breaks))
        )
        print(f"{fault.name:32} {fault.summary}\n{'':32} must break: {caught}")
        if args.verbose:
            print(f"{'':32} why: {fault.why}")
    return 0


def _apply(args: argparse.Namespace) -> int:
    from atlas_drills.faults import FaultError, apply_fault

    try:
        fault = apply_fault(args.name, args.backup, args.out)
    except KeyError as exc:
        print(f"atlas-drills faults apply: {exc.args[0]}", file=sys.stderr)
        return 2
    except FaultError as exc:
        print(f"atlas-drills faults apply: {exc}", file=sys.stderr)
        return 2
    target = (
        f"the restore must refuse it ({fault.refused_rule})"
        if fault.is_archive_fault
        else ("drills must fail: " + ", ".join(sorted(fault.breaks)))
    )
    print(f"{args.out}: {fault.summary}; {target}")
    return 0


def register(commands: Any) -> None:
    faults = commands.add_parser(
        "faults",
        help="make known-bad backups to prove the drills can fail",
        description="Each fault turns a good backup into one broken in exactly one way, and declares which "
        "success criteria a drill must fail on it (or which restore rule must refuse it).",
    )
    actions = faults.add_subparsers(dest="faults_command", required=True, metavar="ACTION")
    listing = actions.add_parser(
        "list",
        help="list every fault and what must catch it",
        description="Print every fault of the catalog: its name, what it breaks in a good backup, and which success "
        "criteria a drill must fail on it (or which restore rule must refuse it, for faults in the archive itself). "
        "Use a name with 'atlas-drills faults apply'. Exit 0.",
    )
    listing.add_argument("-v", "--verbose", action="store_true", help="also say why those criteria")
    listing.set_defaults(handler=_list)
    apply = actions.add_parser(
        "apply",
        help="write a copy of a good backup broken by one fault",
        description="Copy BACKUP to --out with exactly one fault applied (the original is never modified), then "
        "print what a drill of the copy must find. Drill it with: pytest drills --drill-backup=OUT "
        "--drill-expect=RELEASE_DIR. Exit 0 written, 2 unknown fault, unusable backup or existing --out.",
        epilog="Example: atlas-drills faults apply catalog-checksum-mismatch backups/good.tar.zst "
        "--out /tmp/bad.tar.zst",
    )
    apply.add_argument("name", help="a fault name from 'atlas-drills faults list'")
    apply.add_argument("backup", type=Path, help="a good backup (.tar, .tar.gz, .tar.zst or folder); never modified")
    apply.add_argument("--out", type=Path, required=True, help="where to write the broken backup (must not exist)")
    apply.set_defaults(handler=_apply)
