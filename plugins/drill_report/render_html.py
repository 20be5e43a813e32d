"""The drill report as one self-contained HTML page: a pure function of the JSON report.

No script, no network: inline CSS; first what failed and what to do (`section#what-failed`: each failed criterion's
next step and failed findings), then a criteria-by-drills matrix (`table#matrix`, cells `td.verdict`), a per-drill
phase timeline drawn as inline SVG (`svg.timeline`, `rect.phase`, budget lines `line.budget`), and each drill's
checks: failed and unproven ones in full, passed criteria as counts (`details.passed`). Every finding is in the JSON.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from atlas_drills.findings import CRITERIA
from plugins.drill_report import lead
from plugins.drill_report.questions import answer_lines
from plugins.drill_report.render_md import rewarm_line

PHASE_COLOURS = {
    "fetch": "#8da0cb",
    "verify_extract": "#66c2a5",
    "catalog": "#1b9e77",
    "transfer": "#a6d854",
    "start": "#ffd92f",
    "ready": "#fc8d62",
    "checks": "#e78ac3",
    "teardown": "#b3b3b3",
}
RUN_CLASS = {"RECOVERABLE": "pass", "NOT RECOVERABLE": "fail", "INCONCLUSIVE": "inconclusive"}
CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#1d2330;background:#fafbfc}
h1{margin:0 0 4px}h2{margin:28px 0 8px;border-bottom:1px solid #dde1e6;padding-bottom:4px}
.banner{padding:14px 18px;border-radius:6px;margin:12px 0;color:#fff;font-size:18px}
.banner.pass{background:#1a7f37}.banner.fail{background:#cf222e}.banner.inconclusive{background:#9a6700}
.meta{color:#57606a}table{border-collapse:collapse;margin:6px 0;background:#fff}
th,td{border:1px solid #d0d7de;padding:5px 9px;text-align:left;vertical-align:top}th{background:#f1f3f5}
td.verdict{font-weight:600;text-align:center}td.pass{background:#dafbe1;color:#116329}
td.fail{background:#ffebe9;color:#a40e26}td.inconclusive{background:#fff8c5;color:#7d4e00}
code,pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace}pre{white-space:pre-wrap;background:#f6f8fa;
padding:8px;border-radius:4px;max-height:320px;overflow:auto}.drill{background:#fff;border:1px solid #d0d7de;
border-radius:6px;padding:10px 16px;margin:14px 0}svg.timeline{display:block;margin:6px 0}
.legend span{display:inline-block;margin-right:12px}.legend i{display:inline-block;width:12px;height:12px;
margin-right:4px;vertical-align:-1px}ul.problems li{color:#9a6700}
#what-failed .failure{background:#fff;border:1px solid #cf222e;border-left:6px solid #cf222e;border-radius:6px;
padding:6px 14px;margin:10px 0}.next-step{background:#fff8c5;padding:6px 10px;border-radius:4px}
h4.criterion.fail{color:#a40e26}details.passed{margin:4px 0}details.passed summary{color:#116329}p.more{color:#57606a}
table.findings{width:100%;table-layout:fixed}table.findings code{word-break:break-word}
"""


def _e(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        value = json.dumps(value, sort_keys=True)
    return escape(value, quote=True)


def render_html(report: dict[str, Any]) -> str:
    run, verdict, drills = report["run"], report["verdict"], report["drills"]
    shard = f", shard {run['shard']['index']}/{run['shard']['count']}" if run.get("shard") else ""
    merged = f", merged from {len(run['shards'])} shard reports" if run.get("shards") else ""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>Drill report {_e(run['id'])}: {_e(verdict['value'])}</title><style>{CSS}</style></head><body>",
        f'<h1>Atlas recovery drill report</h1><p class="meta">run <code>{_e(run["id"])}</code> · '
        f"{_e(run['trigger'])} · {_e(run['host']['name'])} · {_e(run['started_at'])} → {_e(run['finished_at'])}"
        f"{_e(shard)}{_e(merged)} · seed {_e(run['seed'])}</p>",
        f'<div class="banner {RUN_CLASS[verdict["value"]]}" id="run-verdict" data-verdict="{_e(verdict["value"])}">'
        f"<strong>{_e(verdict['value'])}</strong>: {_e(verdict['reason'])}</div>",
    ]
    gate = report["gate"]
    if gate["required"]:
        parts.append(
            f'<p id="gate"><strong>Release gate: {"passed" if gate["passed"] else "REFUSED"}</strong>: '
            f"{_e(gate['reason'])}</p>"
        )
    if verdict["problems"]:
        parts.append('<ul class="problems">' + "".join(f"<li>{_e(p)}</li>" for p in verdict["problems"]) + "</ul>")
    parts += [
        _what_failed(drills),
        _questions(report),
        _matrix(drills),
        _valid_for(verdict),
        _timelines(drills),
        _details(drills),
        _run_facts(report),
    ]
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _questions(report: dict[str, Any]) -> str:
    """The three recovery questions, answered per drill, at the top (`section#recovery-questions`)."""
    blocks = []
    for answers in report.get("recovery_questions", {}).get("drills", []):
        items = []
        for question, answer, details in answer_lines(answers):
            more = "".join(f"<li>{_e(d)}</li>" for d in details)
            items.append(f"<dt>{_e(question)}</dt><dd>{_e(answer)}{f'<ul>{more}</ul>' if more else ''}</dd>")
        blocks.append(
            f'<h3 data-drill="{_e(answers["drill"])}"><code>{_e(answers["drill"])}</code></h3><dl>{"".join(items)}</dl>'
        )
    return f'<section id="recovery-questions"><h2>Recovery questions</h2>{"".join(blocks)}</section>'


def _matrix(drills: list[dict[str, Any]]) -> str:
    names = list(CRITERIA) + sorted({c["name"] for d in drills for c in d["criteria"]} - set(CRITERIA))
    head = "".join(f'<th scope="col" data-drill="{_e(d["id"])}"><code>{_e(d["id"])}</code></th>' for d in drills)
    rows = []
    for name in names:
        cells = []
        for drill in drills:
            found = next((c for c in drill["criteria"] if c["name"] == name), None)
            if found is None:
                cells.append("<td></td>")
                continue
            cells.append(
                f'<td class="verdict {found["verdict"]}" data-drill="{_e(drill["id"])}" data-criterion="{_e(name)}" '
                f'title="{_e(found["reason"])}">{_e(found["verdict"])}</td>'
            )
        rows.append(f'<tr><th scope="row">{_e(name)}</th>{"".join(cells)}</tr>')
    total = "".join(
        f'<td class="verdict {d["verdict"]}" data-drill="{_e(d["id"])}" data-criterion="(drill)">'
        f"{_e(d['verdict'])}{' · crashed' if d['crashed'] else ''}</td>"
        for d in drills
    )
    rows.append(f'<tr class="drill-verdicts"><th scope="row">drill</th>{total}</tr>')
    return (
        '<h2>Criteria &times; drills</h2><table id="matrix"><thead><tr><th>criterion</th>'
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _valid_for(verdict: dict[str, Any]) -> str:
    valid = verdict["valid_for"]
    items = [
        ("backup manifest sha256", valid["backup_manifest_sha256"]),
        ("expected release ids", valid["expect_release_ids"]),
        ("target images", valid["target_images"]),
        ("isolation", verdict["isolation"]),
    ]
    rows = "".join(
        f"<tr><th>{_e(k)}</th><td>{'<br>'.join(f'<code>{_e(v)}</code>' for v in vs) or 'none recorded'}</td></tr>"
        for k, vs in items
    )
    return f'<h2>Valid for</h2><table id="valid-for">{rows}</table>'


def timeline_svg(drill: dict[str, Any], width: int = 900) -> str:
    """Phases as consecutive bars on one time axis scaled to the measured time; each budget is a dashed line at its
    limit when it falls on the axis, and listed as off-scale at the right end when it lies far beyond it."""
    phases, budgets = drill["phases"], drill["budgets"]
    measured = sum(p["seconds"] for p in phases)
    # A budget's line stands where its first phase starts plus the budget: the limit of the phases it covers.
    limits = {
        b["name"]: sum(p["seconds"] for p in phases[: _index(phases, b["phases"][0])]) + b["budget_s"] for b in budgets
    }
    span = max([measured * 1.1, *[limit for b, limit in zip(budgets, limits.values(), strict=True) if not b["within"]]])
    span = max(span, 0.001)
    left, bar_width, height = 10, width - 20, 84
    scale = bar_width / span
    shapes = [f'<line class="axis" x1="{left}" y1="44" x2="{left + bar_width}" y2="44" stroke="#57606a"/>']
    x = float(left)
    for phase in phases:
        w = max(phase["seconds"] * scale, 1.0)
        shapes.append(
            f'<rect class="phase" data-phase="{_e(phase["name"])}" data-seconds="{phase["seconds"]}" x="{x:.1f}" '
            f'y="14" width="{w:.1f}" height="28" fill="{PHASE_COLOURS.get(phase["name"], "#999")}">'
            f"<title>{_e(phase['name'])}: {phase['seconds']:.3f} s</title></rect>"
        )
        if w > 70:
            shapes.append(
                f'<text x="{x + 3:.1f}" y="32" font-size="11">{_e(phase["name"])} {phase["seconds"]:.2f} s</text>'
            )
        x += w
    off_scale = []
    for budget in budgets:
        limit = limits[budget["name"]]
        if limit > span:
            off_scale.append(f"{budget['name']} {budget['budget_s']:.0f} s")
            continue
        bx = left + limit * scale
        colour = "#1a7f37" if budget["within"] else "#cf222e"
        shapes.append(
            f'<line class="budget" data-budget="{_e(budget["name"])}" data-within="{str(budget["within"]).lower()}" '
            f'x1="{bx:.1f}" y1="6" x2="{bx:.1f}" y2="50" stroke="{colour}" stroke-width="2" stroke-dasharray="4 3">'
            f"<title>{_e(budget['name'])} budget {budget['budget_s']:.0f} s: spent {budget['seconds']:.2f} s</title>"
            "</line>"
        )
    shapes.append(f'<text x="{left}" y="62" font-size="11">0 s</text>')
    shapes.append(f'<text x="{left + bar_width}" y="62" font-size="11" text-anchor="end">{span:.2f} s</text>')
    if off_scale:
        note = "budgets within, off scale: " + ", ".join(off_scale)
        shapes.append(
            f'<text class="off-scale" x="{left + bar_width}" y="78" font-size="11" text-anchor="end" '
            f'fill="#1a7f37">{_e(note)}</text>'
        )
    return (
        f'<svg class="timeline" data-drill="{_e(drill["id"])}" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="phase timeline">'
        + "".join(shapes)
        + "</svg>"
    )


def _index(phases: list[dict[str, Any]], name: str) -> int:
    return next((i for i, p in enumerate(phases) if p["name"] == name), len(phases))


def _timelines(drills: list[dict[str, Any]]) -> str:
    legend = "".join(f'<span><i style="background:{c}"></i>{_e(n)}</span>' for n, c in PHASE_COLOURS.items())
    parts = [f'<h2>Phase timelines</h2><p class="legend">{legend}<span>┆ budget</span></p>']
    for drill in drills:
        parts.append(f"<h3><code>{_e(drill['id'])}</code> · RTO {drill['rto_s']:.2f} s</h3>")
        parts.append(timeline_svg(drill) if drill["phases"] else "<p>No phase was timed (the restore never ran).</p>")
        rewarm = drill.get("rewarm")
        if rewarm:
            failures = "".join(f"<li>{_e(f)}</li>" for f in rewarm["failures"])
            parts.append(
                f'<p class="rewarm" data-drill="{_e(drill["id"])}">Cache rewarm: {_e(rewarm_line(rewarm))}</p>'
                + (f'<ul class="problems">{failures}</ul>' if failures else "")
            )
    return "".join(parts)


def _what_failed(drills: list[dict[str, Any]]) -> str:
    """First on the page: every failed criterion with its next step and its first failed findings."""
    failed = lead.failed_criteria(drills)
    if not failed:
        return ""
    parts = ['<section id="what-failed"><h2>What failed, and what to do</h2>']
    for drill, criterion in failed:
        parts.append(
            f'<div class="failure" data-drill="{_e(drill["id"])}" data-criterion="{_e(criterion["name"])}">'
            f"<h3><code>{_e(drill['id'])}</code> · {_e(criterion['name'])}: fail "
            f"<small>({_e(criterion['reason'])})</small></h3>"
        )
        if criterion.get("next_step"):
            parts.append(f'<p class="next-step"><strong>Next step:</strong> {_e(criterion["next_step"])}</p>')
        parts.extend(_check(c) for c in criterion["checks"] if c["status"] in ("failed", "refused"))
        parts.append("</div>")
    parts.append("</section>")
    return "".join(parts)


def _details(drills: list[dict[str, Any]]) -> str:
    """Each drill: its facts, its failed and unproven criteria in full, its passed criteria as counts that expand
    to their checks (every finding is in drill-report.json)."""
    parts = ["<h2>Drills</h2>"]
    for drill in drills:
        facts = [
            ("verdict", f"{drill['verdict']}: {drill['reason']}"),
            ("backup", drill["backup"]),
            ("backup manifest sha256", drill["backup_manifest_sha256"]),
            ("expected release", drill["expect_release_id"]),
            ("target image", drill["target_image"]),
            ("sandbox", f"{drill['sandbox']} (isolation {drill['isolation']})" if drill["sandbox"] else None),
            ("outcome", f"{drill['outcome']['kind']}: {drill['outcome']['reason']}" if drill["outcome"] else None),
            ("worker crashed", "yes" if drill["crashed"] else None),
            ("runtime settings the drill overrode", _overrides(drill.get("config_overrides") or [])),
        ]
        rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in facts if v)
        parts.append(f'<section class="drill" data-drill="{_e(drill["id"])}"><h3><code>{_e(drill["id"])}</code></h3>')
        parts.append(f"<table>{rows}</table>")
        for criterion in lead.failing_first(drill["criteria"]):
            if criterion["verdict"] == "pass":
                parts.append(_passed(criterion))
                continue
            parts.append(
                f'<h4 class="criterion {_e(criterion["verdict"])}">{_e(criterion["name"])}: '
                f"{_e(criterion['verdict'])} <small>({_e(criterion['reason'])}; {_e(lead.summary(criterion))})"
                "</small></h4>"
            )
            parts.extend(_check(check) for check in criterion["checks"])
        parts.append("</section>")
    return "".join(parts)


def _passed(criterion: dict[str, Any]) -> str:
    """A passed criterion: one line of counts, expanding to its checks and how many findings each passed."""
    items = "".join(
        f"<li><code>{_e(c['name'])}</code>: {_e(c['status'])}, {len(c['findings'])} finding(s)</li>"
        for c in criterion["checks"]
    )
    return (
        f'<details class="passed" data-criterion="{_e(criterion["name"])}"><summary>{_e(criterion["name"])}: pass '
        f"<small>({_e(lead.summary(criterion))})</small></summary><ul>{items}</ul></details>"
    )


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= lead.VALUE_CHARS else text[: lead.VALUE_CHARS - 1] + "…"


def _check(check: dict[str, Any]) -> str:
    """A check: its failed findings (the first few, values cut; all are in drill-report.json), a count of the
    passed ones, and its log excerpt; open unless it passed."""
    failed = lead.failed_findings(check)
    shown = failed[: lead.MAX_FAILED_FINDINGS]
    rows = []
    for f in shown:
        path, expected, observed = lead.difference(f)
        rows.append(
            f'<tr class="finding fail"><td>{_e(f["check"])}</td><td><code>{_e(f["where"])}</code></td>'
            f"<td><code>{_e(path)}</code></td><td><code>{_e(_value(expected))}</code></td>"
            f"<td><code>{_e(_value(observed))}</code></td></tr>"
        )
    findings = "".join(rows)
    table = (
        '<table class="findings"><tr><th>failed finding</th><th>where</th><th>differs at</th><th>expected</th>'
        f"<th>observed</th></tr>{findings}</table>"
        if findings
        else ""
    )
    rest = []
    if len(failed) > len(shown):
        rest.append(f"{len(failed) - len(shown)} more failed finding(s)")
    passed = len(check["findings"]) - len(failed)
    if passed:
        rest.append(f"{passed} passed finding(s)")
    more = f'<p class="more">{_e(", ".join(rest))}: in <code>drill-report.json</code></p>' if rest else ""
    log = f"<pre>{_e(check['log_excerpt'])}</pre>" if check["log_excerpt"] and check["status"] != "passed" else ""
    opened = " open" if check["status"] != "passed" else ""
    return (
        f'<details class="check {_e(check["status"])}"{opened}><summary><code>{_e(check["name"])}</code>: '
        f"{_e(check['status'])}{': ' + _e(check['message']) if check['message'] else ''}</summary>"
        f"{table}{more}{log}</details>"
    )


def _run_facts(report: dict[str, Any]) -> str:
    run = report["run"]
    versions = ", ".join(f"{k} {v}" for k, v in sorted(run["versions"].items()))
    images = "<br>".join(
        f"<code>{_e(i['image'])}</code> {_e(i['id'] or '')} {_e(i['digest'] or '')}" for i in run["images"]
    )
    rows = [
        ("tool", f"{report['tool']['name']} {report['tool']['version']} ({report['format']})"),
        ("host", f"{run['host']['name']} · {run['host']['platform']}"),
        ("versions", versions),
        ("workers", str(run["workers"])),
        ("pytest exit status", str(run["pytest_exit_status"])),
        *_plan_facts(run),
    ]
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f'<h2>Run</h2><table id="run">{body}<tr><th>images</th><td>{images or "none"}</td></tr></table>'


def _overrides(overrides: list[dict[str, Any]]) -> str | None:
    """`NAME = value (restored value)` for every runtime setting the drill set over the restored configuration."""
    listed = [
        f"{o['name']} = {o['drill']}" + (f" (restored {o['restored']})" if o["restored"] is not None else "")
        for o in overrides
    ]
    return "; ".join(listed) or None


def _plan_facts(run: dict[str, Any]) -> list[tuple[str, str]]:
    """The planned drill set and a pick from a folder of backups, as the Markdown report states them."""
    facts = []
    planned = run.get("planned")
    if planned:
        facts.append(("planned drill set", f"{len(planned['drills'])} drill(s), digest {planned['digest'][:16]}"))
    pick = run.get("pick")
    if pick:
        replay = f"; replay with {pick['replay']}" if pick.get("replay") else ""
        facts.append(
            (
                "pick",
                f"{pick['mode']} from {pick['folder']}: {len(pick['picked'])} of {len(pick['candidates'])} "
                f"candidate(s), candidates digest {pick['candidates_digest']}{replay}",
            )
        )
    return facts
