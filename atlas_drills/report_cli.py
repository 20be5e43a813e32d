"""`atlas-drills report merge|history`: one report and one verdict from shard reports; the history of a report folder.

`report merge A.json B.json ... --out DIR`:

Exit codes: 0 when the merged run is RECOVERABLE (and, with --gate, isolated in containers), 1 when it is not,
2 when the reports cannot be merged (another format or tool version, a drill reported twice, a missing file).
"""

from __future__ import annotations

import argparse
import json
import os
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


def _history(args: argparse.Namespace) -> int:
    from atlas_drills.history.html import render_html
    from atlas_drills.history.model import build_history, render_text
    from atlas_drills.history.runs import load_runs

    folder: Path = args.dir
    if not folder.is_dir():
        print(
            f"atlas-drills report history: {folder}: no such folder; give the report folder (default reports/)",
            file=sys.stderr,
        )
        return 2
    runs = load_runs(folder)
    if not runs:
        print(
            f"atlas-drills report history: {folder}: no <run-id>/drill-report.json here; run the drills first",
            file=sys.stderr,
        )
        return 2
    history = build_history(runs)
    html_path: Path = args.html or folder / "history.html"
    _atomic_write(html_path, render_html(history))
    if args.json:
        print(json.dumps(history, indent=2))
    else:
        sys.stdout.write(render_text(history))
        print(f"\nhistory page: {html_path}")
    return 0


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


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
    history = actions.add_parser(
        "history",
        help="the runs of a report folder: verdicts, time to recover, last success",
        description="Read every <run-id>/drill-report.json under DIR (default reports/) and print one line per run "
        "(oldest first: finished, run id, verdict, each drill's verdict and time to recover), then the last "
        "success of every backup on every target. Also writes one self-contained HTML page (no script, no network) "
        "with the same, and a time-to-recover chart per drill. A report that cannot be read is listed as "
        "UNREADABLE. Exit 0, 2 when DIR holds no report.",
    )
    history.add_argument(
        "dir", type=Path, nargs="?", default=Path("reports"), metavar="DIR", help="the report folder (default: reports)"
    )
    history.add_argument(
        "--html", type=Path, metavar="FILE", help="where to write the HTML page (default: DIR/history.html)"
    )
    history.add_argument("--json", action="store_true", help="print the history document as JSON instead of a table")
    history.set_defaults(handler=_history)
