"""The cost-curve and `make drill` parts of BENCHMARKS.md, and their targets (with the why of a miss, computed from
the breakdown the run measured)."""

from __future__ import annotations

from typing import Any

MIB = 1 << 20
GB = 1e9
TARGET_GENES = 1_000_000
CURVE_RATIO = 4.0  # drill wall on the 1M-gene sample <= 4x one read of its backup
MAKE_DRILL_S = 3.0  # warm `make drill` on the embedded default, pytest wall
PHASE_ORDER = ("fetch", "verify_extract", "catalog", "transfer", "start", "ready", "checks", "teardown")


def _range(summary: dict[str, float], fmt: str = "{:.2f}") -> str:
    low, med, high = (fmt.format(summary[key]) for key in ("min", "median", "max"))
    return f"**{med}** ({low}-{high}, n={int(summary['runs'])})"


def _ok(section: dict[str, Any] | None) -> bool:
    return bool(section and section.get("ok"))


def earlier_note(section: dict[str, Any]) -> list[str]:
    at = section.get("measured_at")
    return [f"*Measured in an earlier run ({at}), carried over with --merge-from.*", ""] if at else []


def _not_measured(section: dict[str, Any] | None) -> list[str]:
    reason = section.get("reason", "not run") if section else "not run (left out with --only)"
    return [f"Not measured in this run: {reason}", ""]


def _target_point(results: dict[str, Any]) -> dict[str, Any] | None:
    section = results.get("curves")
    if not _ok(section):
        return None
    assert section is not None
    points = [p for p in section["data"]["points"] if p.get("genes") == TARGET_GENES]
    return points[0] if points else None


def targets(results: dict[str, Any]) -> list[tuple[str, str, bool | None, str]]:
    """(target, measured, met (None: not judged), why when missed)."""
    rows: list[tuple[str, str, bool | None, str]] = []
    curves = results.get("curves")
    if _ok(curves):
        point = _target_point(results)
        if point is None:
            assert curves is not None
            sizes = ", ".join(p["label"] for p in curves["data"]["points"])
            rows.append(
                (
                    "drill wall on the 1M-gene sample ≤ 4x one read",
                    f"not measured: the 1M-gene size was not run (sizes: {sizes})",
                    None,
                    "",
                )
            )
        else:
            ratio = point["ratio"]
            rows.append(
                (
                    "drill wall on the 1M-gene sample ≤ 4x one read",
                    f"{ratio:.1f}x ({point['drill_s']['median']:.1f} s vs {point['one_read_s']['median']:.2f} s)",
                    ratio <= CURVE_RATIO,
                    _curve_why(point, results["curves"]["data"].get("profile") or {}),
                )
            )
    make = results.get("make-drill")
    if _ok(make):
        assert make is not None
        wall = make["data"]["wall_s"]["median"]
        rows.append(
            (
                "warm `make drill` on the default sample ≤ 3 s (pytest wall)",
                f"{wall:.2f} s median",
                wall <= MAKE_DRILL_S,
                _make_why(make["data"]),
            )
        )
    return rows


def _phases_text(phases: dict[str, float]) -> str:
    named = [name for name in PHASE_ORDER if name in phases] + [n for n in phases if n not in PHASE_ORDER]
    return ", ".join(f"{name} {phases[name]:.1f} s" for name in named if phases[name] >= 0.05)


def _curve_why(point: dict[str, Any], profile: dict[str, Any]) -> str:
    checks = sorted(point["checks_s"].items(), key=lambda item: item[1], reverse=True)[:4]
    heavy = "; ".join(f"{name} {seconds:.1f} s" for name, seconds in checks)
    text = (
        f"at {point['label']} genes a drill takes {point['drill_s']['median']:.1f} s where one read of the "
        f"{point['backup_bytes'] / GB:.2f} GB backup takes {point['one_read_s']['median']:.2f} s. Its phases "
        f"(medians): {_phases_text(point['phases_s'])}. The heaviest checks (setup + call + teardown, on two "
        f"workers, so they overlap): {heavy}."
    )
    if profile.get("cumulative"):
        top = "; ".join(f"`{row['where']}` {row['seconds']:.1f} s" for row in profile["cumulative"][:3])
        text += f" In the profile of a serial drill, the heaviest of the suite's own calls: {top}."
    return text + " Every phase and check that grows with the backup's bytes is a pass over them beyond the one read."


def _make_why(data: dict[str, Any]) -> str:
    return (
        f"the run's phases (medians): {_phases_text(data['phases_s'])}; the rest of the wall time is the pytest "
        "process itself (interpreter start-up, imports, collection, the report; `-n auto` starts no worker for a "
        "single drill)."
    )


def make_drill(results: dict[str, Any]) -> list[str]:
    section = results.get("make-drill")
    lines = ["## `make drill`, warm, on the embedded default", ""]
    if not _ok(section):
        return [*lines, *_not_measured(section)]
    assert section is not None
    data = section["data"]
    return [
        *lines,
        *earlier_note(section),
        "`pytest drills` with the Makefile `drill` target's own arguments (plus `--drill-report-dir` into the bench "
        "folder), on the drill plan's embedded default (`sample://current`: the run builds the sample and backs it "
        "up, as a user's `make drill` does). One untimed run first (warm page cache, image, bytecode). Wall time of "
        "the whole pytest process.",
        "",
        "| | |",
        "|---|---|",
        f"| pytest wall (s) | {_range(data['wall_s'])} |",
        f"| phases of the drill (medians) | {_phases_text(data['phases_s'])} |",
        "",
        "```sh",
        data["command"],
        "```",
        "",
    ]


def _failed(data: dict[str, Any]) -> list[str]:
    rows = data.get("failed") or []
    if not rows:
        return []
    lines = ["Not measured (the drill did not pass; its reports are kept in the bench folder's failed-reports/):", ""]
    lines += [f"- {row['label']} ({row['datasets']} datasets): {row['reason'].splitlines()[0]}" for row in rows]
    return [*lines, ""]


def _curve_table(points: list[dict[str, Any]], first: str) -> list[str]:
    lines = [
        f"| {first} | datasets | backup bytes | one read (s) | drill wall (s) | drill / read | peak extra disk |",
        "|---|---|---|---|---|---|---|",
    ]
    for point in points:
        lines.append(
            f"| {point['label']} | {point['datasets']} | {point['backup_bytes']:,} | {_range(point['one_read_s'])} | "
            f"{_range(point['drill_s'])} | **{point['ratio']:.1f}x** | {point['disk_peak_bytes'] / GB:.1f} GB |"
        )
    return lines


def _phase_table(points: list[dict[str, Any]]) -> list[str]:
    names = [n for n in PHASE_ORDER if any(n in p["phases_s"] for p in points)]
    names += sorted({n for p in points for n in p["phases_s"]} - set(names))
    lines = ["| phase (s, median) | " + " | ".join(p["label"] for p in points) + " |"]
    lines.append("|---|" + "---|" * len(points))
    for name in names:
        lines.append(f"| {name} | " + " | ".join(f"{p['phases_s'].get(name, 0.0):.2f}" for p in points) + " |")
    return lines


def _build_note(points: list[dict[str, Any]]) -> str:
    built = [f"{p['label']} in {p['build_s']:.0f} s" for p in points if not p.get("reused")]
    reused = [p["label"] for p in points if p.get("reused")]
    parts = []
    if built:
        parts.append("built for this run (sample + backup, not part of any figure): " + ", ".join(built))
    if reused:
        parts.append("reused from the bench cache (--keep): " + ", ".join(reused))
    return "; ".join(parts) + "." if parts else ""


def curves(results: dict[str, Any]) -> list[str]:
    section = results.get("curves")
    lines = ["## Cost curve: one drill against backup size", ""]
    if not _ok(section):
        return [*lines, *_not_measured(section)]
    assert section is not None
    data = section["data"]
    points = data["points"]
    lines += [
        *earlier_note(section),
        "One drill = the whole `pytest drills` process on one `.tar` backup with `make drill`'s arguments (`-n "
        "auto`: one drill runs in one process), the stand-in in Docker, every check running (the backup carries "
        "baseline answers recorded from a "
        "live stand-in; a run in which any check is skipped or fails is refused). One read = `openssl dgst -sha256 "
        "BACKUP`, the least any verification of the backup must do. The drill plan is the repository's with its "
        "recovery-time budgets widened (a budget decides a verdict, not a cost; a busy machine must not void the "
        "figure). Per size: one untimed warm-up of each, then "
        f"{data['runs']} runs of each, alternating; the page cache stays warm for both alike. Samples: three releases "
        "of homo_sapiens plus one mus_musculus dataset (a tenth of the genes); the size is the newest release's genes. "
        "Peak extra disk: the largest drop of free space (bench folder, temp folder, Docker's root) during a drill "
        "(the warm-up included; other work on the machine counts too, so it is an upper bound).",
        "",
        *_curve_table(points, "genes"),
        "",
        *_failed(data),
        _build_note(points),
        "",
        "### Where a drill's time goes",
        "",
        "The drill report's phases (medians of the timed runs; checks is the span of all checks):",
        "",
        *_phase_table(points),
        "",
    ]
    largest = max(points, key=lambda p: p["backup_bytes"])
    checks = sorted(largest["checks_s"].items(), key=lambda item: item[1], reverse=True)
    lines += [
        f"Per check at {largest['label']} genes (setup + call + teardown, medians):",
        "",
        "| check | s |",
        "|---|---|",
        *[f"| {name} | {seconds:.2f} |" for name, seconds in checks[:12]],
    ]
    if len(checks) > 12:
        rest = sum(seconds for _, seconds in checks[12:])
        lines.append(f"| {len(checks) - 12} other checks | {rest:.2f} |")
    lines += ["", *_profile(data.get("profile") or {}, largest["label"])]
    lines += [
        "Command (per size; `$SAMPLES` is the bench's samples cache):",
        "",
        "```sh",
        largest["command"],
        "```",
        "",
    ]
    return lines


def _profile(profile: dict[str, Any], label: str) -> list[str]:
    if not profile:
        return []
    lines = [
        f"cProfile of one extra drill of the {label}-gene backup, run serially (no `-n 2`, so one process does all "
        f"of it; cProfile's overhead included): {profile['wall_s']:.1f} s wall, {profile['total_s']:.1f} s under the "
        "profiler. Heaviest of the suite's own calls (cumulative, nested calls overlap):",
        "",
    ]
    lines += [f"- `{row['where']}`: {row['seconds']:.1f} s ({row['calls']} calls)" for row in profile["cumulative"]]
    lines += ["", "Heaviest functions by their own time (waiting on a socket, a child or a lock shows up here):", ""]
    lines += [f"- `{row['where']}`: {row['seconds']:.1f} s ({row['calls']} calls)" for row in profile["own_time"]]
    return [*lines, ""]


def datasets(results: dict[str, Any]) -> list[str]:
    section = results.get("datasets")
    lines = ["## Cost curve: one drill against dataset count", ""]
    if not _ok(section):
        return [*lines, *_not_measured(section)]
    assert section is not None
    data = section["data"]
    points = data["points"]
    return [
        *lines,
        *earlier_note(section),
        f"As above, on samples of N successive releases of homo_sapiens, {data['genes_per_dataset']:,} genes each, no "
        "second species (N datasets). One dataset cannot be built: the sample builder needs two releases so the "
        "newest can roll back, so the curve starts at 2.",
        "",
        *_curve_table(points, "genes per dataset"),
        "",
        *_failed(data),
        _build_note([{**p, "label": f"{p['datasets']} datasets"} for p in points]),
        "",
        *_phase_table([{**p, "label": f"{p['datasets']} datasets"} for p in points]),
        "",
    ]
