"""`DrillReporter`: the stateful part of the drill report, registered on the controller only.

It sees every phase report (serial, or forwarded by xdist workers, interleaved, plus the synthetic report of a
crashed worker), redacts each one in place before the terminal and JUnit XML see it, streams the event log, and at
session end builds the JSON report, renders Markdown and HTML from it, and writes all of them atomically.
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import socket
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from _pytest.junitxml import LogXML

from atlas_drills.findings import ARTEFACTS_PROPERTY
from atlas_drills.history.prom import PROM_NAME, prometheus_textfile
from plugins.drill_report import files
from plugins.drill_report.collect import CRASH_WHEN, Collector, placement_from
from plugins.drill_report.files import EVENTS_NAME, HTML_NAME, JSON_NAME, JUNIT_NAME, MD_NAME
from plugins.drill_report.junit import compact_properties, lead_with_cause
from plugins.drill_report.model import build_drill, finish_report, schema_errors, versions
from plugins.drill_report.redact import Redactor
from plugins.drill_report.render_html import render_html
from plugins.drill_report.render_md import render_md
from plugins.run import RUN_KEY, new_run_id

if TYPE_CHECKING:
    from plugins.drill_report.plugin import ReportSettings


class DrillReporter:
    """Collects drill checks on the controller and writes the drill report at session end."""

    def __init__(self, config: pytest.Config, settings: ReportSettings, *, junit_given: bool) -> None:
        self.config = config
        self.settings = settings
        self.junit_given = junit_given
        self.redactor = Redactor()
        self.collector = Collector(self.redactor)
        self.started_at = datetime.now(UTC)
        self.run_id = ""
        self.seed: int | None = None
        self.workers: set[str] = set()
        self.events: files.EventLog | None = None
        self.report: dict[str, Any] | None = None
        self.folder: Path | None = None
        self.write_seconds = 0.0
        self.problems: list[str] = []
        self.plan_facts: dict[str, Any] | None = None
        self.artefacts: dict[str, list[str]] = {}  # drill id -> files written under artifacts/<drill>/
        # pytest's JUnit XML writer, fed by this reporter and written into the report folder by a drill run only
        # (with --junitxml on the command line, pytest's own writer does it and this one stays None).
        self.junit = None if junit_given else _junit_writer(config)
        self.setup_error = False

    # -- identity and the event log -------------------------------------------------------------------------------

    def _identify(self) -> None:
        if self.run_id:
            return
        info = self.config.stash.get(RUN_KEY, None)
        self.run_id = info.run_id if info else new_run_id(self.started_at) + secrets.token_hex(1)
        self.seed = info.seed if info else None

    @property
    def run_folder(self) -> Path:
        self._identify()
        return self.settings.report_dir / self.run_id

    def _event(self, kind: str, **fields: Any) -> None:
        if self.events is None:
            self.events = files.EventLog(self.run_folder / EVENTS_NAME)
            self.events.write({"event": "run_started", "run_id": self.run_id, "at": self.started_at.isoformat()})
        self.events.write(self.redactor.value({"event": kind, "at": datetime.now(UTC).isoformat(), **fields}))

    def close(self) -> None:
        if self.events is not None:
            self.events.close()
            self.events = None

    # -- collection ------------------------------------------------------------------------------------------------

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Take the run id and seed the run plugin fixed (shared with every xdist worker)."""
        del session
        self._identify()
        # The whole planned set, before --drill-shard keeps a share of it: what `report merge` checks shards against.
        self.plan_facts = self.config.hook.pytest_drill_plan_facts(config=self.config)
        if self.junit is not None:
            self.junit.pytest_sessionstart()

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Serial runs: remember every check to run, with its drill and criterion, so an unfinished one shows."""
        placements = {item.nodeid: placement_from(list(item.user_properties)) for item in session.items}
        self.collector.collected_items(placements)
        if any(drill for drill, _ in placements.values()):
            self._event("collected", checks=len(placements))

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        """xdist: the controller collects nothing itself; it learns the node ids each worker will run."""
        self.workers.add(str(getattr(node, "gateway", node).id))
        self.collector.collected_items(dict.fromkeys(ids, (None, None)))

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_collection(self, session: pytest.Session) -> Any:
        """A setup error (a usage error raised while the drills are planned) still gets a report saying why
        nothing ran."""
        try:
            return (yield)
        except pytest.UsageError as exc:
            self.setup_error = True
            self.problems.append(f"setup error: {' '.join(str(exc).split())}")
            raise

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.problems.append(f"collection error in {report.nodeid or 'the session'}")
        if self.junit is not None:
            self.junit.pytest_collectreport(report)

    def pytest_internalerror(self, excrepr: Any) -> None:
        if self.junit is not None:
            self.junit.pytest_internalerror(excrepr)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Record the phase, write a failed drill's artefacts, then redact the report in place before the terminal
        and JUnit XML see it."""
        self._lead_with_cause(report)
        state = self.collector.add(report)  # learns the secrets the properties name, before anything is written
        self._write_artefacts(report)
        recorded = list(report.user_properties)  # the event log keeps every property; JUnit XML gets them cut
        report.user_properties = compact_properties(recorded)
        self._redact_in_place(report)
        if self.junit is not None:
            self.junit.pytest_runtest_logreport(report)
        drill_id, criterion = placement_from(state.properties)
        if report.when == CRASH_WHEN:
            drill_id, criterion = self.collector.placement(report.nodeid)
        if drill_id is not None:
            last = state.phases[-1]
            self._event(
                "crashed" if report.when == CRASH_WHEN else "phase",
                nodeid=report.nodeid,
                when=report.when,
                outcome=report.outcome,
                drill=drill_id,
                criterion=criterion,
                duration_s=round(last.duration, 3),
                properties=[[name, self.redactor.value(value)] for name, value in recorded]
                if report.when in ("teardown", CRASH_WHEN)
                else None,
                longrepr=last.longrepr[-2000:] if report.failed else None,
            )

    def _write_artefacts(self, report: pytest.TestReport) -> None:
        """A failed drill's target log and restore summary arrive as text from whichever process ran the drill;
        only here, on the controller, do they become files: redacted, atomically, under `artifacts/<drill>/`. The
        property keeps only the file names, so the texts reach neither JUnit XML nor the event log."""
        report.user_properties = [
            (name, self._artefact_files(value) if name == ARTEFACTS_PROPERTY else value)
            for name, value in report.user_properties
        ]

    def _artefact_files(self, value: object) -> object:
        if not isinstance(value, dict) or not isinstance(value.get("files"), dict):
            return value
        drill = str(value.get("drill"))
        relative = f"{files.ARTEFACTS_FOLDER}/{files.slug(drill)}"
        written = []
        for file_name, text in sorted(value["files"].items()):
            name = os.path.basename(str(file_name))  # a name, never a path: nothing lands outside the folder
            self.redactor.learn(str(text))
            files.atomic_write_text(self.run_folder / relative / name, self.redactor.text(str(text)))
            written.append(f"{relative}/{name}")
        self.artefacts[drill] = sorted(set(self.artefacts.get(drill, [])) | set(written))
        return {"drill": drill, "files": written}

    @staticmethod
    def _lead_with_cause(report: pytest.TestReport) -> None:
        """A failure's first cause as its first line, for the check's message, JUnit XML and the terminal. (JUnit
        XML then gets the properties cut to the failed findings and a count of passed ones: the collector keeps them
        all, for the report.)"""
        if report.failed and report.longrepr is not None and not isinstance(report.longrepr, tuple):
            led = lead_with_cause(str(report.longrepr), list(report.user_properties))
            if led is not None:
                report.longrepr = led

    def _redact_in_place(self, report: pytest.TestReport) -> None:
        redacted: list[tuple[str, object]] = []
        for name, value in report.user_properties:
            clean = self.redactor.value(value)
            redacted.append((name, clean))
            if isinstance(clean, dict | list):
                # JUnit XML shows str(value): a Python repr. Add the same value as JSON beside it for CI tools.
                redacted.append((f"{name}.json", json.dumps(clean, sort_keys=True, default=str)))
        report.user_properties = redacted
        if report.longrepr is not None and not isinstance(report.longrepr, tuple):
            text = str(report.longrepr)
            clean_text = self.redactor.text(text)
            if clean_text != text:
                report.longrepr = clean_text
        report.sections = [(title, self.redactor.text(content)) for title, content in report.sections]

    # -- the report ------------------------------------------------------------------------------------------------

    def _active(self, records: list[Any]) -> bool:
        return (
            bool(records)
            or self.setup_error
            or self.settings.gate
            or self.settings.shard is not None
            or self.settings.report_dir_given
        )

    def _run_facts(self, exitstatus: int) -> dict[str, Any]:
        finished = datetime.now(UTC)
        shard = self.settings.shard
        return {
            "id": self.run_id,
            "started_at": self.started_at.isoformat(),
            "finished_at": finished.isoformat(),
            "duration_s": round((finished - self.started_at).total_seconds(), 3),
            "trigger": self.settings.trigger,
            "host": {"name": socket.gethostname(), "platform": platform.platform(), "python": sys.version.split()[0]},
            "versions": versions(),
            "seed": self.seed,
            "workers": len(self.workers),
            "shard": {"index": shard[0], "count": shard[1]} if shard else None,
            "shards": [],
            "planned": self.plan_facts["planned"] if self.plan_facts else None,
            "pick": self.plan_facts["pick"] if self.plan_facts else None,
            "command": [str(arg) for arg in self.config.invocation_params.args],
            "pytest_exit_status": int(exitstatus),
        }

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int | pytest.ExitCode) -> None:
        """Build, render and write the report (after pytest's JUnit XML is written), then apply --drill-gate."""
        began = time.perf_counter()
        records = self.collector.records()
        if not self._active(records):
            return
        if exitstatus == pytest.ExitCode.INTERRUPTED:
            self.problems.append("the run was interrupted before every check finished")
        by_drill: dict[str, list[Any]] = {}
        for record in records:
            by_drill.setdefault(record.drill_id, []).append(record)
        teardowns = [teardown for record in records for teardown in record.teardowns]
        drills = [
            build_drill(drill_id, checks, teardowns, self.artefacts.get(drill_id, ())).to_dict()
            for drill_id, checks in sorted(by_drill.items())
        ]
        folder = self.run_folder
        junit = self._write_junit(folder)
        report = finish_report(
            self._run_facts(int(exitstatus)),
            drills,
            sorted(set(self.problems)),
            gate_required=self.settings.gate,
            allow_local=self.settings.allow_local,
            files={"json": JSON_NAME, "markdown": MD_NAME, "html": HTML_NAME, "junit": junit, "events": EVENTS_NAME},
        )
        report = self.redactor.value(report)
        errors = schema_errors(report)
        if errors:  # a defect of this plugin: say so loudly, but still write what we have
            report["verdict"]["problems"].append("report does not match its schema: " + "; ".join(errors[:5]))
        self._event("verdict", verdict=report["verdict"]["value"], reason=report["verdict"]["reason"])
        files.atomic_write_text(folder / JSON_NAME, json.dumps(report, indent=2, sort_keys=False) + "\n")
        files.atomic_write_text(folder / MD_NAME, self.redactor.text(render_md(report)))
        files.atomic_write_text(folder / HTML_NAME, self.redactor.text(render_html(report)))
        files.atomic_write_text(folder / PROM_NAME, prometheus_textfile(self.settings.report_dir, folder))
        files.update_latest(self.settings.report_dir, folder)
        self.write_seconds = time.perf_counter() - began
        self._event("report_written", folder=str(folder), seconds=round(self.write_seconds, 4))
        self.report, self.folder = report, folder
        self._apply_exit_status(session, records, report)
        self.config.hook.pytest_drill_report_ready(config=self.config, report=report, folder=folder)

    def _write_junit(self, folder: Path) -> str | None:
        """`junit.xml` in the report folder (pytest's writer into a temporary file, then one atomic move), or the
        path the command line gave pytest's own writer."""
        if self.junit is None:
            return str(getattr(self.config.option, "xmlpath", "") or "") or None
        temp = folder / f".{JUNIT_NAME}.{os.getpid()}.tmp"
        self.junit.logfile = str(temp)
        self.junit.pytest_sessionfinish()
        return str(files.atomic_move(temp, folder / JUNIT_NAME).relative_to(folder))

    def _apply_exit_status(self, session: pytest.Session, records: list[Any], report: dict[str, Any]) -> None:
        if self.settings.shard and not records and session.exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
            session.exitstatus = pytest.ExitCode.OK  # an empty shard is not an error; its report says so
        if self.settings.gate and not report["gate"]["passed"] and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        """One line per drill and criterion, the run verdict, the gate, and where the report files are."""
        report, folder = self.report, self.folder
        if report is None or folder is None:
            return
        write = terminalreporter.write_line
        terminalreporter.write_sep("=", "drill report")
        width = max((len(d["id"]) for d in report["drills"]), default=10)
        for drill in report["drills"]:
            for criterion in drill["criteria"]:
                line = (
                    f"{drill['id']:<{width}}  {criterion['name']:<17} {criterion['verdict']:<12} {criterion['reason']}"
                )
                write(self.redactor.text(line))
        verdict = report["verdict"]
        write(f"run verdict: {verdict['value']} ({self.redactor.text(verdict['reason'])})", bold=True)
        if report["gate"]["required"]:
            state = "passed" if report["gate"]["passed"] else "REFUSED"
            write(f"release gate: {state}: {report['gate']['reason']}", bold=True)
        write(f"report: {folder / JSON_NAME} (written in {self.write_seconds * 1000:.0f} ms)")
        for name in (MD_NAME, HTML_NAME, report["files"]["junit"] or "", EVENTS_NAME):
            if name:
                write(f"        {folder / name}")
        write(f"latest: {self.settings.report_dir / files.LATEST}")


def _junit_writer(config: pytest.Config) -> LogXML:
    """pytest's own JUnit XML writer with the run's ini settings; this reporter feeds it and decides where it goes."""
    return LogXML(
        os.devnull,
        config.option.junitprefix,
        config.getini("junit_suite_name"),
        config.getini("junit_logging"),
        config.getini("junit_duration_report"),
        config.getini("junit_family"),
        config.getini("junit_log_passing_tests"),
    )
