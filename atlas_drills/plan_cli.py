"""`atlas-drills plan [--json] [pytest options]`: what `pytest drills` with the same options would drill.

The drills are found exactly as a run finds them: pytest collects the suite (`--collect-only`, in this process, one
process: xdist is switched off), with every `--drill-*` option, `-k` and `--drill-shard` applied. A small plugin
reads the collected drill checks; `atlas_drills.plan_preview` describes each drill. Collection writes no report.

Exit codes: 0 every drill can run as planned; 1 some drill has a problem (unreadable backup, missing expectation,
image or engine), each printed; otherwise pytest's own exit code (4 for a usage error such as an unknown option or a
plan that does not validate, 5 when no drill matches).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
from typing import Any

import pytest

from atlas_drills.findings import CRITERION_MARKER
from atlas_drills.plan import PROJECT_ROOT, DrillSpec

EXIT_OK = 0
EXIT_PROBLEMS = 1
# The pytest plugin module that expands the plan for a run; its `drill_plan`, `drills_for`, `plan_overrides` and
# `RUN_KEY` are what the run itself uses, so the preview cannot disagree with it.
DRILLS_PLUGIN = "fixtures.drills"


class PlanCollector:
    """Reads the drills and their checks after collection, through the suite's own plan expansion."""

    def __init__(self) -> None:
        self.drills: dict[str, DrillSpec] = {}
        self.checks: dict[str, dict[str, int]] = {}
        self.plan: Any = None
        self.pick = "latest"
        self.seed = 0

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            callspec = getattr(item, "callspec", None)
            spec = callspec.params.get("drill") if callspec is not None else None
            if not isinstance(spec, DrillSpec):
                continue
            self.drills.setdefault(spec.id, spec)
            marker = item.get_closest_marker(CRITERION_MARKER)
            criterion = str(marker.args[0]) if marker is not None and marker.args else "(unplaced)"
            counts = self.checks.setdefault(spec.id, {})
            counts[criterion] = counts.get(criterion, 0) + 1
        glue = session.config.pluginmanager.get_plugin(DRILLS_PLUGIN)
        if glue is None:
            raise pytest.UsageError(f"{PROJECT_ROOT}: the suite does not load {DRILLS_PLUGIN}; is this a checkout?")
        self.plan = glue.drill_plan(session.config)
        overrides = glue.plan_overrides(session.config)
        self.pick = overrides.pick or "latest"
        self.seed = overrides.seed if overrides.seed is not None else session.config.stash[glue.RUN_KEY].seed


def pytest_arguments(extra: list[str]) -> list[str]:
    """The suite's drills, the user's options, and collection only, in one process."""
    arguments = [str(PROJECT_ROOT / "drills"), *extra, "--collect-only", "-q", "-p", "no:cacheprovider"]
    if "no:xdist" not in extra:
        arguments += ["-n", "0"]  # the controller collects nothing under xdist; the last -n wins
    return arguments


def run_plan(args: argparse.Namespace) -> int:
    from atlas_drills.plan_preview import engine_view, preview, render_text

    collector = PlanCollector()
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        status = pytest.main(pytest_arguments(list(args.pytest_args)), plugins=[collector])
    if status != pytest.ExitCode.OK or collector.plan is None:
        sys.stderr.write(output.getvalue())
        print(f"atlas-drills plan: collecting the drills failed (pytest exit code {int(status)})", file=sys.stderr)
        return int(status) or EXIT_PROBLEMS
    drills = [collector.drills[key] for key in sorted(collector.drills)]
    document = preview(
        collector.plan,
        drills,
        checks=collector.checks,
        pick=collector.pick,
        seed=collector.seed,
        engine=engine_view(),
    )
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        sys.stdout.write(render_text(document))
    return EXIT_PROBLEMS if any(d["problems"] for d in document["drills"]) else EXIT_OK


def register(commands: Any) -> None:
    plan = commands.add_parser(
        "plan",
        help="show what a drill run would drill, without restoring anything",
        description="Collect the drills as `pytest drills` would with the same options (--drill-backup, "
        "--drill-expect, --drill-target, --drill-target-image, --drill-sandbox, --drill-pick, --drill-seed, "
        "--drill-plan, --drill-shard, -k ...) and show each drill's backup (path, kind, size, created, age, manifest "
        "digest, release), expectation, target and image, sandbox, the plan's budgets and the pick and seed. Only "
        "each backup's manifest is read; nothing is restored, started or built, and no report is written. Exit 0 "
        "when every drill can run, 1 when some drill has a problem (each printed), else pytest's exit code "
        "(4 usage error, 5 no drill matched).",
        epilog="Any option not listed above is passed to pytest. Example: atlas-drills plan "
        "--drill-backup=backups/ --drill-pick=random --drill-expect=release/ --json",
        allow_abbrev=False,
    )
    plan.add_argument("--json", action="store_true", help="print the preview as JSON (format plan-preview/1)")
    plan.set_defaults(handler=run_plan, pytest_args=[], accepts_extra_arguments=True)
