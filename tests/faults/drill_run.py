"""Running the real drills (`pytest drills`) on one backup in a subprocess, and reading per-criterion verdicts.

Verdicts come from the JUnit XML pytest writes: every drill check lives in the module of its criterion, so a
failed or errored check fails that criterion; a skipped one makes it inconclusive. A restore refusal errors every
check at setup with the refusal's rule in the message.

The target is the stand-in unless the environment names another (the matrix then runs against it):
`ATLAS_DRILLS_MATRIX_TARGET` (standin, atlas or a target file), `ATLAS_DRILLS_MATRIX_TARGET_IMAGE` (its image, for
the Docker sandbox) and `ATLAS_DRILLS_MATRIX_TARGET_COMMAND` (its native binary, for the local sandbox).
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from atlas_drills.plan import PROJECT_ROOT
from plugins.drill_report.collect import criterion_from_module

# Short budgets and a short start-up timeout: a target that will never be ready should not cost the full production
# wait in a self-test (the timeout stays above the ready budget, as in production).
PLAN = """schema_version = 1
[defaults]
target = "{target}"
sandbox = "{sandbox}"
max_backup_age_hours = 26
[budgets]
restore = 60
ready = 4
total = 120
[timeouts]
startup = 8
[[drills]]
backup = "sample://current"
expect = "sample://current"
"""
RUN_TIMEOUT_S = 300


MATRIX_TARGET_ENV = "ATLAS_DRILLS_MATRIX_TARGET"
MATRIX_IMAGE_ENV = "ATLAS_DRILLS_MATRIX_TARGET_IMAGE"
MATRIX_COMMAND_ENV = "ATLAS_DRILLS_MATRIX_TARGET_COMMAND"


@dataclass(frozen=True)
class MatrixTarget:
    name: str = "standin"
    image: str = ""
    command: str = ""

    @property
    def is_standin(self) -> bool:
        return self.name == "standin" and not self.image and not self.command

    @property
    def slug(self) -> str:
        return "standin" if self.is_standin else (self.image or Path(self.command).name or self.name).replace("/", "_")

    def options(self, sandbox: str) -> list[str]:
        options = [f"--drill-target-image={self.image}"] if self.image and sandbox == "docker" else []
        return options + ([f"--drill-target-command={self.command}"] if self.command and sandbox == "local" else [])


def matrix_target() -> MatrixTarget:
    """The target the matrix runs against, from the environment (the stand-in when nothing is set)."""
    return MatrixTarget(
        os.environ.get(MATRIX_TARGET_ENV) or "standin",
        os.environ.get(MATRIX_IMAGE_ENV, ""),
        os.environ.get(MATRIX_COMMAND_ENV, ""),
    )


@dataclass
class DrillOutcome:
    returncode: int
    verdicts: dict[str, str] = field(default_factory=dict)  # criterion -> pass | fail | inconclusive
    messages: list[str] = field(default_factory=list)  # failure and error messages
    checks: int = 0
    output: str = ""

    @property
    def failed_criteria(self) -> set[str]:
        return {criterion for criterion, verdict in self.verdicts.items() if verdict == "fail"}


def run_drills(
    backup: Path,
    expect: Path,
    work: Path,
    sandbox: str,
    target: MatrixTarget | None = None,
    *,
    extra: tuple[str, ...] = (),
) -> DrillOutcome:
    target = target or matrix_target()
    work.mkdir(parents=True, exist_ok=True)
    plan = work / "plan.toml"
    plan.write_text(PLAN.format(sandbox=sandbox, target=target.name))
    junit = work / "junit.xml"
    command = [
        sys.executable, "-m", "pytest", "drills", "-p", "no:cacheprovider", "-q",
        f"--drill-plan={plan}", f"--drill-backup={backup}", f"--drill-expect={expect}",
        f"--junitxml={junit}", f"--basetemp={work / 'basetemp'}",
        f"--drill-report-dir={work / 'reports'}", *target.options(sandbox), *extra,
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATLAS_DRILLS_", "PYTEST_XDIST"))}
    result = subprocess.run(
        command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False
    )
    outcome = DrillOutcome(result.returncode, output=result.stdout[-6000:] + result.stderr[-3000:])
    if not junit.exists():
        return outcome
    # The XML is pytest's own output for this run, not outside input.
    for case in ET.parse(junit).getroot().iter("testcase"):  # noqa: S314
        # The criterion a drill module checks, by the report's own rule (`drills/test_<criterion>[_more].py`).
        criterion = criterion_from_module(case.get("classname", "").replace(".", "/") + ".py")
        if criterion is None:
            continue
        outcome.checks += 1
        verdict = "pass"
        for child in case:
            if child.tag in ("failure", "error"):
                verdict = "fail"
                # The attribute holds a shortened message; the element text holds the whole failure report.
                outcome.messages.append(f"{case.get('name')}: {child.get('message', '')}\n{child.text or ''}")
            elif child.tag == "skipped" and verdict == "pass":
                verdict = "inconclusive"
        previous = outcome.verdicts.get(criterion, "pass")
        order = {"pass": 0, "inconclusive": 1, "fail": 2}
        outcome.verdicts[criterion] = max(previous, verdict, key=order.__getitem__)
    return outcome
