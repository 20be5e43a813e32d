"""The `drill-report` pytest plugin: options, shard selection, and the controller-only reporter.

Module-level hooks only add options, pick this shard's drills, and register `DrillReporter` on the controller
(`not hasattr(config, "workerinput")`): xdist workers never open a report file. The reporter collects in
`pytest_runtest_logreport`, including xdist's synthetic report for a crashed worker, and writes `reports/<run-id>/`
at the end of the session.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import pytest

from atlas_drills.findings import DRILL_ID_PROPERTY
from plugins.drill_report.redact import scrub_report
from plugins.drill_report.reporter import DrillReporter
from plugins.options import dest, drill_option, env_name

REPORTER_NAME = "drill-report"
REPORTER_KEY = pytest.StashKey[DrillReporter]()
TRIGGERS = ("ci", "on-demand", "gate")
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})

VALUE_OPTIONS: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "drill-report-dir": (
        "where reports/<run-id>/ and reports/latest are written; default reports/ in the rootdir",
        None,
    ),
    "drill-trigger": (
        "why this run happened, for the report: ci, on-demand or gate (default from CI / --drill-gate)",
        TRIGGERS,
    ),
    "drill-shard": ("run shard K of N (K/N, 1-based) of the drills, chosen by a hash of each drill id", None),
}
FLAG_OPTIONS: dict[str, str] = {
    "drill-gate": "release gate: exit non-zero unless the run is RECOVERABLE with container isolation",
    "drill-allow-local": "let --drill-gate accept drills isolated as local processes",
}


@dataclass(frozen=True)
class ReportSettings:
    report_dir: Path
    report_dir_given: bool
    trigger: str
    gate: bool
    allow_local: bool
    shard: tuple[int, int] | None


SETTINGS_KEY = pytest.StashKey[ReportSettings]()


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    """Offer `pytest_drill_report_ready` to other plugins."""
    from plugins.drill_report import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    """The report's options, in the `atlas-drills` group, each with an ATLAS_DRILLS_* twin and an ini twin."""
    group = parser.getgroup("atlas-drills", "Atlas recovery drills")
    for name, (help_text, choices) in VALUE_OPTIONS.items():
        group.addoption(
            f"--{name}", dest=dest(name), default=None, choices=choices, help=f"{help_text} [env {env_name(name)}]"
        )
        parser.addini(dest(name), help_text, default="")
    for name, help_text in FLAG_OPTIONS.items():
        group.addoption(
            f"--{name}",
            dest=dest(name),
            action="store_true",
            default=None,
            help=f"{help_text} [env {env_name(name)}=1]",
        )
        parser.addini(dest(name), help_text, default="")


def parse_shard(value: str) -> tuple[int, int]:
    index, sep, count = value.partition("/")
    if not sep or not index.isdigit() or not count.isdigit() or not 1 <= int(index) <= int(count):
        raise pytest.UsageError(f"--drill-shard {value!r}: expected K/N with 1 <= K <= N, for example 2/4")
    return int(index), int(count)


def read_settings(config: pytest.Config) -> ReportSettings:
    gate = (drill_option(config, "drill-gate") or "").lower() in TRUE_WORDS
    allow_local = (drill_option(config, "drill-allow-local") or "").lower() in TRUE_WORDS
    trigger = drill_option(config, "drill-trigger")
    if trigger is None:
        trigger = (
            "gate" if gate else ("ci" if os.environ.get("CI", "").lower() not in {"", "0", "false"} else "on-demand")
        )
    elif trigger not in TRIGGERS:
        raise pytest.UsageError(f"--drill-trigger {trigger!r}: expected one of {', '.join(TRIGGERS)}")
    shard_value = drill_option(config, "drill-shard")
    folder = drill_option(config, "drill-report-dir")
    report_dir = config.invocation_params.dir / folder if folder else config.rootpath / "reports"
    return ReportSettings(
        report_dir=report_dir.resolve(),
        report_dir_given=folder is not None,
        trigger=trigger,
        gate=gate,
        allow_local=allow_local,
        shard=parse_shard(shard_value) if shard_value else None,
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Read the report options; on the controller only, register the reporter. pytest's own options are left as
    they are: the reporter keeps a JUnit XML of its own, written into the report folder only by a run that has
    drill checks (and only when the command line names no --junitxml of its own)."""
    settings = read_settings(config)
    config.stash[SETTINGS_KEY] = settings
    if hasattr(config, "workerinput") or config.option.collectonly:  # workers and previews write no report
        return
    _check_writable(settings.report_dir)
    reporter = DrillReporter(config, settings, junit_given=bool(getattr(config.option, "xmlpath", None)))
    config.stash[REPORTER_KEY] = reporter
    config.pluginmanager.register(reporter, REPORTER_NAME)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Everywhere tests run (xdist workers included): scrub the restored configuration's secret values from the
    report before it travels to the controller, which never sees that configuration."""
    del item, call
    report = yield
    scrub_report(report)
    return report


def _check_writable(folder: Path) -> None:
    """Fail at once, as a usage error naming the folder, rather than with an INTERNALERROR after the whole run."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise pytest.UsageError(
            f"--drill-report-dir {folder}: cannot write there ({exc.strerror or type(exc).__name__}). "
            "Give a folder you can write, or leave the option out for reports/ in the rootdir."
        ) from exc


def pytest_unconfigure(config: pytest.Config) -> None:
    """Unregister the reporter and close its event log."""
    reporter = config.stash.get(REPORTER_KEY, None)
    if reporter is not None:
        reporter.close()
        config.pluginmanager.unregister(reporter)
        del config.stash[REPORTER_KEY]


def shard_of(drill_id: str, count: int) -> int:
    """The 1-based shard of a drill: the same on every machine and worker (a hash of the id, not of the order)."""
    return int.from_bytes(hashlib.sha256(drill_id.encode("utf-8")).digest()[:8], "big") % count + 1


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With --drill-shard=K/N keep only the drill checks whose drill falls in shard K (runs after the drill
    fixtures label each check with its drill id, identically on every worker)."""
    settings = config.stash.get(SETTINGS_KEY, None)
    if settings is None or settings.shard is None:
        return
    index, count = settings.shard
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        drill_id = next((str(v) for k, v in item.user_properties if k == DRILL_ID_PROPERTY), None)
        (keep if drill_id is None or shard_of(drill_id, count) == index else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
