"""What a drill run would do, told without doing it: `atlas-drills plan`.

For each drill the run would execute: its backup (path, kind, size, creation time and age against the plan's
recovery point objective, manifest digest, release), its expectation (folder and release id), its target (file,
image, whether the engine has that image), its sandbox (the preference and what it resolves to here), the plan's
budgets, and the pick and seed that chose the backup. Only the backup manifest (an archive's first member) is read:
nothing is restored, no container is started, no image is built.

The facts are primitives (a JSON document, `PREVIEW_FORMAT`); `render_text` is a pure function of them. The
manifest digest is the one the drill report records for the same backup (sha256 of the re-rendered manifest), so a
preview and a later report can be matched.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from atlas_drills.plan import FILE_SCHEME, SAMPLE_SCHEME, DrillPlan, DrillSpec

PREVIEW_FORMAT = "atlas-drills/plan-preview/1"


@dataclass(frozen=True)
class EngineView:
    """What the Docker engine looks like from here, asked once per preview: None when no engine answers."""

    client: Any | None
    reason: str


def engine_view() -> EngineView:
    from atlas_drills.sandbox.engine import EngineUnavailable, connect

    try:
        return EngineView(connect(timeout=2), "a Docker engine answers")
    except EngineUnavailable as exc:
        return EngineView(None, str(exc))


def _path_of(uri: str) -> Path:
    """The path a file:// URI names, absolute against the working directory and without `..` (for display)."""
    return Path(os.path.abspath(uri.removeprefix(FILE_SCHEME)))


def _age_hours(created_at: str, now: datetime) -> float | None:
    try:
        created = datetime.strptime(created_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None
    return round((now - created).total_seconds() / 3600, 2)


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def backup_facts(uri: str, max_age_hours: float, now: datetime) -> dict[str, Any]:
    """The backup a drill would restore, from its manifest only; `problem` says why it cannot be read."""
    if uri.startswith(SAMPLE_SCHEME):
        return {
            "uri": uri,
            "source": "sample",
            "path": None,
            "note": "the embedded sample: built and backed up at run time (deterministic), so it is always fresh",
            "problem": None,
        }
    from atlas_drills.backup.archive import kind_of_existing, open_member_stream
    from atlas_drills.backup.errors import BackupUnusable, RestoreRefused
    from atlas_drills.backup.restore import RestoreLimits, read_manifest

    path = _path_of(uri)
    facts: dict[str, Any] = {"uri": uri, "source": "file", "path": str(path), "problem": None}
    limits = RestoreLimits()
    try:
        facts["kind"] = kind_of_existing(path)
        facts["size_bytes"] = _size(path)
        with open_member_stream(path, limits.stream_limits()) as stream:
            manifest = read_manifest(stream, limits)
    except (BackupUnusable, RestoreRefused, OSError) as exc:
        facts["problem"] = f"{path}: {exc}"
        return facts
    age = _age_hours(manifest.created_at, now)
    facts.update(
        {
            "backup_id": manifest.backup_id,
            "created_at": manifest.created_at,
            "age_hours": age,
            "max_age_hours": max_age_hours,
            "within_max_age": None if age is None else age <= max_age_hours,
            "manifest_sha256": hashlib.sha256(manifest.render()).hexdigest(),
            "release_id": manifest.release.release_id,
            "git_sha": manifest.release.git_sha,
            "files": len(manifest.files),
            "content_bytes": manifest.total_size,
        }
    )
    return facts


def expectation_facts(uri: str) -> dict[str, Any]:
    """The release that should be serving after recovery: its folder and the release id its identity names. The
    folder is loaded as the drills load it, so a folder they would refuse is a problem here too."""
    if uri.startswith(SAMPLE_SCHEME):
        return {"uri": uri, "path": None, "release_id": None, "note": "the sample's own release files", "problem": None}
    from atlas_drills.expectation import Expectation, ExpectationError

    path = _path_of(uri)
    facts: dict[str, Any] = {"uri": uri, "path": str(path), "release_id": None, "problem": None}
    try:
        facts["release_id"] = Expectation.load(path).release_id
    except ExpectationError as exc:
        facts["problem"] = f"expectation {exc}"
    return facts


def _image_state(client: Any, image: str) -> str:
    from docker.errors import ImageNotFound

    try:
        found = client.images.get(image)
    except ImageNotFound:
        return "missing: build or load it into the engine first (docker build / docker load)"
    return f"present ({str(found.id)[:19]})"


def _standin_image(client: Any) -> tuple[str, str]:
    """The stand-in image tag these sources would run, and whether the engine has it (nothing is built)."""
    from atlas_drills.sandbox.images import STANDIN_REPOSITORY, base_image_name, standin_context

    base = base_image_name()
    try:
        base_id = str(client.images.get(base).id)
    except Exception:
        return f"{STANDIN_REPOSITORY}:<built at run time>", f"base image {base} missing: built at run time"
    tag = f"{STANDIN_REPOSITORY}:{standin_context(base_id)[0]}"
    state = _image_state(client, tag)
    return tag, state if state.startswith("present") else "missing: built at run time (atlas-drills images build)"


def target_facts(spec: DrillSpec, engine: EngineView) -> dict[str, Any]:
    """The target (file and image) and the sandbox the drill would get here."""
    from atlas_drills.sandbox.target import TargetError, load_target

    facts: dict[str, Any] = {"target": spec.target, "problem": None}
    try:
        target = load_target(spec.target)
    except TargetError as exc:
        facts["problem"] = str(exc)
        return facts
    facts["target_name"] = target.name
    image = spec.target_image or target.image
    preference = spec.sandbox
    if preference == "local":
        kind, reason = "local", "asked for a local process"
    elif engine.client is None:
        kind = "local" if preference == "auto" else "unavailable"
        reason = f"{engine.reason}; " + ("would fall back to a local process" if kind == "local" else "no sandbox")
        if kind == "unavailable":
            facts["problem"] = f"--drill-sandbox=docker, but {engine.reason}"
    else:
        kind, reason = "docker", engine.reason
    facts["sandbox"] = {"preference": preference, "resolved": kind, "reason": reason}
    if kind == "docker":
        from atlas_drills.sandbox.network import NetworkSettingError, network_plan_from_env
        from atlas_drills.sandbox.store_view import StoreSettingError, store_plan_from_env

        try:
            network = network_plan_from_env()
            facts["sandbox"]["network"] = {"mode": network.mode, "reach": network.reach_host, "why": network.reason}
            store = store_plan_from_env()
            facts["sandbox"]["store"] = {"mode": store.mode, "why": store.reason}
        except (NetworkSettingError, StoreSettingError) as exc:
            facts["problem"] = str(exc)
        if image:
            state = _image_state(engine.client, image)
            if state.startswith("missing"):
                missing = f"target image {image} is not in the engine: build or load it first"
                facts["problem"] = facts["problem"] or missing
        else:
            image, state = _standin_image(engine.client)
        facts["image"] = {"name": image, "state": state}
    else:
        facts["image"] = {"name": image or None, "state": "not used: a local process runs the target"}
    return facts


def setup_problems(drills: list[DrillSpec], engine: EngineView | None = None) -> list[str]:
    """What would stop drills from running at all, as opposed to what a drill would find: a backup path that
    is not there (or is no backup kind), an expectation the drills cannot load, a target file that does not load,
    a named image the engine lacks, a Docker sandbox without an engine. Each message names the drill. Backup
    contents are not read: a backup that cannot be restored is a drill verdict (refused), not a setup error."""
    from atlas_drills.backup.archive import kind_of_existing
    from atlas_drills.backup.errors import BackupUnusable

    if engine is None:
        needs_engine = any(spec.sandbox != "local" for spec in drills)
        engine = engine_view() if needs_engine else EngineView(None, "not asked: every drill runs locally")
    problems: list[str] = []
    for spec in drills:
        found: list[str] = []
        if not spec.is_sample:
            try:
                kind_of_existing(_path_of(spec.backup))
            except BackupUnusable as exc:
                found.append(f"backup {exc}")
        found += [p for p in (expectation_facts(spec.expect)["problem"], target_facts(spec, engine)["problem"]) if p]
        problems += [f"drill {spec.id}: {problem}" for problem in dict.fromkeys(found)]
    return problems


def preview(
    plan: DrillPlan,
    drills: list[DrillSpec],
    *,
    checks: dict[str, dict[str, int]],
    pick: str,
    seed: int,
    engine: EngineView,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The whole preview: plan-wide facts, then each drill's backup, expectation, target, sandbox and checks."""
    now = now or datetime.now(UTC)
    budgets = {"restore": plan.budgets.restore, "ready": plan.budgets.ready, "total": plan.budgets.total}
    rows = []
    for spec in drills:
        backup = backup_facts(spec.backup, plan.max_backup_age_hours, now)
        expectation = expectation_facts(spec.expect)
        target = target_facts(spec, engine)
        problems = [p for p in (backup["problem"], expectation["problem"], target["problem"]) if p]
        if backup.get("within_max_age") is False:
            problems.append(
                f"backup is {backup['age_hours']} h old, older than the plan's {plan.max_backup_age_hours} h: "
                "the drill will fail on it"
            )
        rows.append(
            {
                "id": spec.id,
                "backup": backup,
                "expectation": expectation,
                **target,
                "checks": checks.get(spec.id, {}),
                "problems": problems,
            }
        )
    return {
        "format": PREVIEW_FORMAT,
        "generated_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "plan": plan.source,
        "budgets_s": budgets,
        "max_backup_age_hours": plan.max_backup_age_hours,
        "pick": pick,
        "seed": seed,
        "drills": rows,
        "restored": False,
    }


def _bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def _backup_line(backup: dict[str, Any]) -> str:
    if backup["source"] == "sample":
        return f"{backup['uri']}: {backup['note']}"
    if backup.get("problem"):
        return f"{backup['uri']}: CANNOT BE READ: {backup['problem']}"
    age = f", {backup['age_hours']} h old" if backup.get("age_hours") is not None else ""
    return (
        f"{backup['path']}: {backup['kind']}, {_bytes(backup['size_bytes'])} ({backup['files']} files, "
        f"{_bytes(backup['content_bytes'])} of content), created {backup['created_at']}{age}\n"
        f"{'':15}release {backup['release_id']}, backup_id {backup['backup_id']}\n"
        f"{'':15}manifest sha256 {backup['manifest_sha256']}"
    )


def render_text(document: dict[str, Any]) -> str:
    """The preview for a terminal: one block per drill, problems last, and the reminder that nothing ran."""
    budgets = document["budgets_s"]
    lines = [
        f"drill plan {document['plan']}: {len(document['drills'])} drill(s); budgets restore {budgets['restore']:g} s, "
        f"ready {budgets['ready']:g} s, total {budgets['total']:g} s; backups older than "
        f"{document['max_backup_age_hours']:g} h fail",
        f"pick {document['pick']}, seed {document['seed']} (run with --drill-seed={document['seed']} to drill the same "
        "random pick)",
    ]
    for drill in document["drills"]:
        lines.append("")
        lines.append(drill["id"])
        lines.append(f"  {'backup':12} {_backup_line(drill['backup'])}")
        expectation = drill["expectation"]
        where = expectation["path"] or expectation.get("note", "")
        release = f", release {expectation['release_id']}" if expectation.get("release_id") else ""
        lines.append(f"  {'expectation':12} {expectation['uri']}: {where}{release}")
        if "target_name" in drill:
            lines.append(f"  {'target':12} {drill['target']} ({drill['target_name']})")
            image = drill["image"]
            lines.append(f"  {'image':12} {image['name'] or '-'}: {image['state']}")
            sandbox = drill["sandbox"]
            lines.append(f"  {'sandbox':12} {sandbox['preference']} -> {sandbox['resolved']} ({sandbox['reason']})")
            if "network" in sandbox:
                network = sandbox["network"]
                lines.append(f"  {'network':12} {network['mode']}, reached at {network['reach']} ({network['why']})")
            if "store" in sandbox:
                lines.append(f"  {'store':12} {sandbox['store']['mode']} ({sandbox['store']['why']})")
        checks = drill["checks"]
        if checks:
            counts = ", ".join(f"{name} {count}" for name, count in checks.items())
            lines.append(f"  {'checks':12} {sum(checks.values())}: {counts}")
        lines.extend(f"  PROBLEM      {problem}" for problem in drill["problems"])
    problems = sum(len(d["problems"]) for d in document["drills"])
    lines.append("")
    lines.append(
        "nothing was restored or started."
        + (f" {problems} problem(s): the run would not prove these drills." if problems else "")
    )
    return "\n".join(lines) + "\n"
