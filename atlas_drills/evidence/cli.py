"""`atlas-drills evidence check DIR [--json]`: check a release folder's evidence chain.

Text output: the broken links grouped by file, one line each (field, expected, observed), the schema that judged
each release file, and a summary line; `--json` prints every finding in full. Exit codes: 0 every link holds; 1 at
least one link is broken; 2 DIR does not exist or holds no `ops/` folder.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Final

from atlas_drills.evidence import render
from atlas_drills.evidence.check import check_release_evidence
from atlas_drills.findings import Finding

EXIT_OK: Final = 0
EXIT_BROKEN: Final = 1
EXIT_USAGE: Final = 2


def register(commands: Any) -> None:
    evidence = commands.add_parser(
        "evidence",
        help="check a release folder's evidence chain (schemas and digests)",
        description="Release evidence: Atlas's release files under ops/, checked against their JSON Schemas "
        "(ops/schema/release/) and against each other's digests.",
    )
    actions = evidence.add_subparsers(dest="evidence_command", required=True, metavar="SUBCOMMAND")
    check = actions.add_parser(
        "check",
        help="check every link of the evidence chain of DIR",
        description="Schema-validate the release files of DIR and check the chain identity <-> provenance -> "
        "evidence manifest -> evidence tarball, packet and signing ledger, plus the dataset governance files. "
        "Paths resolve against DIR, or inside ops/release/evidence/bundle.tar for paths under artifacts/. "
        "Exit 0 when every link holds, 1 when any is broken, 2 when DIR does not exist or holds no ops/.",
    )
    check.add_argument("dir", type=Path, metavar="DIR", help="release folder (the one holding ops/)")
    check.add_argument("--json", action="store_true", help="print every finding, complete, as a JSON array")
    check.add_argument("--all", action="store_true", help="also list every link that holds")
    check.set_defaults(handler=run_check)


def run_check(args: argparse.Namespace) -> int:
    root: Path = args.dir
    if not root.is_dir():
        print(
            f"atlas-drills evidence check: {root}: no such folder; give the release folder that holds ops/ "
            "(e.g. one made by `atlas-drills sample build OUT`)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if not (root / "ops").is_dir():
        print(
            f"atlas-drills evidence check: {root}: holds no ops/ folder; give the release folder itself "
            "(the parent of ops/release/ and ops/datasets/), not a folder inside it",
            file=sys.stderr,
        )
        return EXIT_USAGE
    findings = check_release_evidence(root)
    failed = [f for f in findings if not f.ok]
    if args.json:
        print(json.dumps([f.as_dict() for f in findings], indent=2))
    else:
        _print_text(root, findings, failed, args.all)
    return EXIT_BROKEN if failed else EXIT_OK


def _print_text(root: Path, findings: list[Finding], failed: list[Finding], show_all: bool) -> None:
    """Failures grouped by file, one line per broken link; then which schema judged each file; then a summary."""
    for line in render.failures(failed):
        print(line)
    if show_all:
        for line in render.passes([f for f in findings if f.ok]):
            print(line)
    for line in render.judges(findings):
        print(line)
    verdict = "evidence chain holds" if not failed else "evidence chain BROKEN"
    print(f"{root}: {verdict}: {len(findings) - len(failed)} of {len(findings)} links hold, {len(failed)} broken")
