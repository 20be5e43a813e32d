"""The history as one self-contained HTML page: no script, no stylesheet or font from elsewhere, charts as inline
SVG. A pure function of the history document; every value from a report is escaped."""

from __future__ import annotations

from html import escape
from typing import Any

from atlas_drills.history.model import short_time

COLOURS = {
    "pass": "#1a7f37",
    "fail": "#cf222e",
    "inconclusive": "#9a6700",
    "RECOVERABLE": "#1a7f37",
    "NOT RECOVERABLE": "#cf222e",
    "INCONCLUSIVE": "#9a6700",
    "UNREADABLE": "#6e7781",
}
CHART_WIDTH, CHART_HEIGHT, MARGIN = 640, 160, 40
STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#1f2328}
table{border-collapse:collapse;margin:1em 0}
th,td{border:1px solid #d0d7de;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f6f8fa}
.v{color:#fff;font-weight:600;border-radius:3px;padding:0 .4em;white-space:nowrap}
td:first-child{white-space:nowrap}
svg{background:#f6f8fa;border:1px solid #d0d7de}
code{font-size:90%}
"""


def _badge(verdict: str) -> str:
    return f'<span class="v" style="background:{COLOURS.get(verdict, "#6e7781")}">{escape(verdict)}</span>'


def _runs_table(history: dict[str, Any]) -> str:
    drills = sorted({drill for run in history["runs"] for drill in run["drills"]})
    head = "".join(f"<th><code>{escape(d)}</code></th>" for d in drills)
    rows = []
    for run in reversed(history["runs"]):  # newest first: what an operator looks for
        cells = "".join(f"<td>{_badge(run['drills'][d]) if d in run['drills'] else ''}</td>" for d in drills)
        rows.append(
            f"<tr><td>{escape(short_time(run['finished_at']))}</td>"
            f"<td><code>{escape(run['run_id'] or run['path'])}</code></td><td>{escape(run['trigger'])}</td>"
            f"<td>{_badge(run['verdict'])}<br>{escape(run['reason'])}</td>"
            f"{cells}</tr>"
        )
    return (
        "<table><thead><tr><th>finished</th><th>run</th><th>trigger</th><th>verdict</th>"
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _chart(drill: str, points: list[dict[str, Any]]) -> str:
    measured = [p for p in points if p["rto_s"] is not None]
    if not measured:
        return f"<p><code>{escape(drill)}</code>: no time to recover was measured in any run.</p>"
    top = max(p["rto_s"] for p in measured) or 1.0
    step = (CHART_WIDTH - 2 * MARGIN) / max(len(points) - 1, 1)

    def xy(index: int, seconds: float) -> tuple[float, float]:
        return MARGIN + index * step, CHART_HEIGHT - MARGIN / 2 - (CHART_HEIGHT - MARGIN) * seconds / top

    coordinates = [(i, p) for i, p in enumerate(points) if p["rto_s"] is not None]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, p["rto_s"]) for i, p in coordinates))
    dots = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{COLOURS.get(p["verdict"], "#6e7781")}">'
        f"<title>{escape(short_time(p['finished_at']))}: {p['rto_s']:.2f} s, {escape(p['verdict'])}</title></circle>"
        for (i, p) in coordinates
        for x, y in (xy(i, p["rto_s"]),)
    )
    first, last = escape(short_time(points[0]["finished_at"])), escape(short_time(points[-1]["finished_at"]))
    return (
        f"<h3><code>{escape(drill)}</code></h3>"
        f'<svg width="{CHART_WIDTH}" height="{CHART_HEIGHT}" role="img" '
        f'aria-label="time to recover of {escape(drill)} over {len(points)} runs">'
        f'<text x="4" y="14" font-size="11">{top:.2f} s</text>'
        f'<text x="4" y="{CHART_HEIGHT - 6}" font-size="11">0 s</text>'
        f'<text x="{MARGIN}" y="{CHART_HEIGHT - 4}" font-size="11">{first}</text>'
        f'<text x="{CHART_WIDTH - MARGIN}" y="{CHART_HEIGHT - 4}" font-size="11" text-anchor="end">{last}</text>'
        f'<polyline points="{line}" fill="none" stroke="#0969da" stroke-width="2"/>{dots}</svg>'
    )


def _last_success_table(history: dict[str, Any]) -> str:
    rows = []
    for entry in history["last_success"]:
        success = entry["last_success"]
        when = (
            f"{escape(short_time(success['finished_at']))}<br>run <code>{escape(success['run_id'])}</code>, release "
            f"<code>{escape(str(success['release_id']))}</code>"
            if success
            else _badge("fail") + " never passed"
        )
        rows.append(
            f"<tr><td><code>{escape(entry['backup'])}</code></td><td>{escape(entry['target'])}</td><td>{when}</td>"
            f"<td>{_badge(entry['last_verdict'])} {escape(short_time(entry['last_run_at']))}</td></tr>"
        )
    return (
        "<table><thead><tr><th>backup</th><th>target</th><th>last success</th><th>last run</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def render_html(history: dict[str, Any]) -> str:
    counts = ", ".join(f"{n} {escape(v)}" for v, n in history["counts"].items() if n) or "no runs"
    charts = "".join(_chart(drill, points) for drill, points in history["time_to_recover"].items())
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Drill history</title>'
        f"<style>{STYLE}</style></head><body><h1>Drill history</h1><p>{len(history['runs'])} run(s): {counts}</p>"
        f"<h2>Last success per backup and target</h2>{_last_success_table(history)}"
        f"<h2>Runs</h2>{_runs_table(history)}"
        f"<h2>Time to recover per drill</h2>{charts or '<p>No drill ran yet.</p>'}"
        "</body></html>\n"
    )
