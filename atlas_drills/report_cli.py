"""`atlas-drills report merge A.json B.json ... --out DIR`: one report and one verdict from shard reports.

Exit codes: 0 when the merged run is RECOVERABLE (and, with --gate, isolated in containers), 1 when it is not,
2 when the reports cannot be merged (another format or tool version, a drill reported twice, a missing file).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def _merge(args: argparse.Namespace) -> int:
    from plugins.drill_report import merge  # installed with the library (pyproject: packages)

    try:
        loaded = [(str(path), merge.load_shard_report(path)) for path in args.reports]
        report = merge.merge_reports(loaded)
    except merge.MergeError as exc:
        print(f"atlas-drills report merge: {exc}", file=sys.stderr)
        return 2
    if args.gate or args.allow_local:
        from plugins.drill_report.model import gate_result

        gate = gate_result(report["verdict"]["value"], report["drills"], required=True, allow_local=args.allow_local)
        report["gate"] = gate.to_dict()
    path = merge.write_merged(report, args.out)
    verdict = report["verdict"]
    print(f"{verdict['value']}: {verdict['reason']}")
    for problem in verdict["problems"]:
        print(f"  problem: {problem}")
    if report["gate"]["required"]:
        print(f"release gate: {'passed' if report['gate']['passed'] else 'REFUSED'}: {report['gate']['reason']}")
    print(f"report: {path}")
    ok = report["gate"]["passed"] if report["gate"]["required"] else verdict["value"] == "RECOVERABLE"
    return 0 if ok else 1


def register(commands: Any) -> None:
    report = commands.add_parser("report", help="work with drill reports", description="Work with drill reports.")
    actions = report.add_subparsers(dest="report_command", required=True, metavar="ACTION")
    merge = actions.add_parser(
        "merge",
        help="combine shard reports into one report and one verdict",
        description="Combine drill-report.json files of shards (pytest drills --drill-shard=K/N) into one report "
        "(JSON, Markdown, HTML) with one verdict. Exit 0 when RECOVERABLE, 1 when not (or when --gate refuses), "
        "2 when the reports cannot be merged.",
    )
    merge.add_argument("reports", nargs="+", type=Path, metavar="REPORT.json", help="shard reports to merge")
    merge.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder to write the merged report to")
    merge.add_argument("--gate", action="store_true", help="release gate: also require container isolation")
    merge.add_argument("--allow-local", action="store_true", help="with --gate, accept local-process isolation")
    merge.set_defaults(handler=_merge)
