"""The drill report as Markdown, fit for a CI job summary: a pure function of the JSON report."""

from __future__ import annotations

from typing import Any

from atlas_drills.findings import CRITERIA
from plugins.drill_report import lead
from plugins.drill_report.questions import answer_lines

ICONS = {"pass": "✅ pass", "fail": "❌ fail", "inconclusive": "⚠️ inconclusive"}
RUN_ICONS = {"RECOVERABLE": "✅", "NOT RECOVERABLE": "❌", "INCONCLUSIVE": "⚠️"}


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _short(value: Any, limit: int = 120) -> str:
    text = _cell(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plan_lines(run: dict[str, Any]) -> list[str]:
    lines = []
    planned = run.get("planned")
    if planned:
        lines.append(f"Planned drill set: {len(planned['drills'])} drill(s), digest `{planned['digest'][:16]}`.")
    pick = run.get("pick")
    if pick:
        lines.append(
            f"Pick `{pick['mode']}` from `{pick['folder']}`: {len(pick['picked'])} of {len(pick['candidates'])} "
            f"candidate(s), candidates digest `{pick['candidates_digest']}`"
            + (f"; replay with `{pick['replay']}`." if pick.get("replay") else ".")
        )
    return [*lines, ""] if lines else []


def render_md(report: dict[str, Any]) -> str:
    run, verdict, drills = report["run"], report["verdict"], report["drills"]
    lines = [
        f"# Drill report: {RUN_ICONS.get(verdict['value'], '')} {verdict['value']}",
        "",
        f"{_cell(verdict['reason'])}",
        "",
        f"Run `{run['id']}` ({run['trigger']}) on {run['host']['name']}, {run['started_at']} → {run['finished_at']}"
        + (f", shard {run['shard']['index']}/{run['shard']['count']}" if run.get("shard") else "")
        + (f", merged from {len(run['shards'])} shard report(s)" if run.get("shards") else "")
        + f", seed {run['seed']}.",
        "",
    ]
    lines += _plan_lines(run)
    gate = report["gate"]
    if gate["required"]:
        lines += [f"**Release gate: {'passed' if gate['passed'] else 'REFUSED'}**: {_cell(gate['reason'])}", ""]
    for problem in verdict["problems"]:
        lines.append(f"- ⚠️ {_cell(problem)}")
    if verdict["problems"]:
        lines.append("")
    lines += _failures(drills)
    lines += _questions(report)
    lines += _matrix(drills)
    lines += _valid_for(verdict)
    lines += _drill_table(drills)
    lines += _phases(drills)
    lines += _passed(drills)
    lines += [
        "## Files",
        "",
        *(f"- {name}: `{path}`" for name, path in report["files"].items() if path),
        "",
    ]
    return "\n".join(lines)


def _questions(report: dict[str, Any]) -> list[str]:
    """The three recovery questions, answered per drill, at the top."""
    lines = ["## Recovery questions", ""]
    for answers in report.get("recovery_questions", {}).get("drills", []):
        lines += [f"### `{_cell(answers['drill'])}`", ""]
        for question, answer, details in answer_lines(answers):
            lines.append(f"- **{question}** {_cell(answer)}")
            lines += [f"  - {_short(detail, 200)}" for detail in details]
        lines.append("")
    return lines


def _matrix(drills: list[dict[str, Any]]) -> list[str]:
    if not drills:
        return ["No drill ran.", ""]
    names = list(CRITERIA) + sorted({c["name"] for d in drills for c in d["criteria"]} - set(CRITERIA))
    lines = [
        "## Criteria \N{MULTIPLICATION SIGN} drills",
        "",
        "| criterion | " + " | ".join(f"`{_cell(d['id'])}`" for d in drills) + " |",
    ]
    lines.append("|---|" + "---|" * len(drills))
    for name in names:
        cells = []
        for drill in drills:
            found = next((c for c in drill["criteria"] if c["name"] == name), None)
            cells.append(ICONS.get(found["verdict"], found["verdict"]) if found else "")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("| **drill** | " + " | ".join(f"**{ICONS[d['verdict']]}**" for d in drills) + " |")
    return [*lines, ""]


def _valid_for(verdict: dict[str, Any]) -> list[str]:
    valid = verdict["valid_for"]
    lines = ["## Valid for", ""]
    for label, key in (
        ("backup manifest sha256", "backup_manifest_sha256"),
        ("expected release ids", "expect_release_ids"),
        ("target images", "target_images"),
    ):
        values = ", ".join(f"`{_cell(v)}`" for v in valid[key]) or "none recorded"
        lines.append(f"- {label}: {values}")
    lines.append(f"- isolation: {', '.join(verdict['isolation']) or 'none recorded'}")
    return [*lines, ""]


def _drill_table(drills: list[dict[str, Any]]) -> list[str]:
    if not drills:
        return []
    lines = [
        "## Drills",
        "",
        "| drill | verdict | backup | expected release | target image | sandbox (isolation) |",
        "|---|---|---|---|---|---|",
    ]
    for d in drills:
        crashed = " (worker crashed)" if d["crashed"] else ""
        lines.append(
            f"| `{_cell(d['id'])}` | {ICONS[d['verdict']]}{crashed} | {_short(d['backup'], 60)} | "
            f"{_cell(d['expect_release_id'])} | {_short(d['target_image'], 50)} | "
            f"{_cell(d['sandbox'])} ({_cell(d['isolation'])}) |"
        )
    lines.append("")
    for d in drills:
        overrides = d.get("config_overrides") or []
        if overrides:
            listed = ", ".join(
                f"`{_cell(o['name'])}` = `{_short(o['drill'], 60)}`"
                + (f" (restored `{_short(o['restored'], 60)}`)" if o["restored"] is not None else "")
                for o in overrides
            )
            lines.append(f"- `{_cell(d['id'])}` runtime settings overridden by the drill: {listed}")
    return [*lines, ""] if lines[-1] else lines


def _phases(drills: list[dict[str, Any]]) -> list[str]:
    lines = ["## Phase timings", ""]
    for d in drills:
        if not d["phases"]:
            continue
        phases = ", ".join(f"{p['name']} {p['seconds']:.2f} s" for p in d["phases"])
        budgets = ", ".join(
            f"{b['name']} {b['seconds']:.2f}/{b['budget_s']:.0f} s {'✅' if b['within'] else '❌ over budget'}"
            for b in d["budgets"]
        )
        lines.append(f"- `{_cell(d['id'])}`: {phases} (RTO {d['rto_s']:.2f} s); budgets: {budgets or 'none'}")
        lines += _rewarm(d.get("rewarm"))
    return [*lines, ""] if len(lines) > 2 else []


def rewarm_line(rewarm: dict[str, Any]) -> str:
    """The cache rewarm in one line: apart from the RTO, never a verdict."""
    failures = rewarm["failures"]
    return (
        f"time to warm {rewarm['warm_s']:.2f} s (fresh target ready in {rewarm['ready_s']:.2f} s, "
        f"{len(rewarm['datasets'])} dataset(s) opened, {rewarm['queries']} recorded quer(ies) replayed; not part of "
        f"the RTO nor of any verdict), {len(failures)} rewarm failure(s)"
    )


def _rewarm(rewarm: dict[str, Any] | None) -> list[str]:
    if not rewarm:
        return []
    return [
        f"  - cache rewarm: {_cell(rewarm_line(rewarm))}",
        *(f"    - ⚠️ {_short(f, 200)}" for f in rewarm["failures"]),
    ]


def _failures(drills: list[dict[str, Any]]) -> list[str]:
    """First: every failed criterion with its next step and its first failed findings, then every check that did
    not pass for another reason (inconclusive, error, skipped, crashed, not run)."""
    lines: list[str] = []
    for d in drills:
        if d["outcome"]:
            lines.append(f"- `{_cell(d['id'])}`: restore {d['outcome']['kind']}: {_short(d['outcome']['reason'], 300)}")
    for d, criterion in lead.failed_criteria(drills):
        lines += [f"### ❌ `{_cell(d['id'])}` · {criterion['name']}", ""]
        if criterion.get("next_step"):
            lines += [f"**Next step:** {_cell(criterion['next_step'])}", ""]
        for check in criterion["checks"]:
            if check["status"] not in ("failed", "refused"):
                continue
            lines.append(
                f"- `{_cell(check['name'])}`: **{check['status']}**"
                + (f": {_short(check['message'], 200)}" if check["message"] else "")
            )
            failed = lead.failed_findings(check)
            for finding in failed[: lead.MAX_FAILED_FINDINGS]:
                path, expected, observed = lead.difference(finding)
                lines.append(
                    f"  - {_short(finding['check'], 100)} at `{_short(finding['where'], 80)}`"
                    + (f" ({_cell(path)})" if path else "")
                    + f": expected `{_short(expected, 80)}`, observed `{_short(observed, 80)}`"
                )
            hidden = len(failed) - lead.MAX_FAILED_FINDINGS
            if hidden > 0:
                lines.append(f"  - and {hidden} more failed finding(s) in `drill-report.json`")
        lines.append("")
    others = [
        f"- `{_cell(d['id'])}` · {criterion['name']} · `{_cell(check['name'])}`: **{check['status']}**"
        + (f": {_short(check['message'], 200)}" if check["message"] else "")
        for d in drills
        for criterion in d["criteria"]
        for check in criterion["checks"]
        if check["status"] not in ("passed", "failed", "refused")
    ]
    if others:
        lines += ["### Not proven", "", *others, ""]
    return ["## What failed, and what to do", "", *lines, ""] if lines else []


def _passed(drills: list[dict[str, Any]]) -> list[str]:
    """Passed criteria as counts only (every finding is in drill-report.json)."""
    rows = [
        f"| `{_cell(d['id'])}` | {criterion['name']} | {lead.summary(criterion)} |"
        for d in drills
        for criterion in d["criteria"]
        if criterion["verdict"] == "pass"
    ]
    if not rows:
        return []
    head = ["## Passed", "", "Counts only; every finding is in `drill-report.json`.", ""]
    return [*head, "| drill | criterion | checks and findings |", "|---|---|---|", *rows, ""]
