"""The drill plan (`ops/drills/plan.toml`) and the drills it expands to.

A drill is one backup x one expectation x one target. Its id is the backup's URI (`sample://current`,
`file://backups/2026-11-20.tar.zst`), which is sorted, stable across xdist workers, and usable with `-k`.
"""

from __future__ import annotations

import random
import tomllib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from atlas_drills.schemas import problems

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PLAN = PROJECT_ROOT / "ops" / "drills" / "plan.toml"
PLAN_SCHEMA = "drill-plan.schema.json"
SAMPLE_SCHEME = "sample://"
FILE_SCHEME = "file://"
BACKUP_SUFFIXES = (".tar", ".tar.gz", ".tar.zst")
BACKUP_MANIFEST = "backup-manifest.json"
PICKS = ("latest", "all", "random")
SANDBOXES = ("docker", "local", "auto")
CATALOG_MODES = ("restore", "rebuild-if-lost", "rebuild")  # README "Catalog reconstruction"


class PlanError(ValueError):
    """A plan or option that cannot be used; names the file or option, the expected and the observed."""


@dataclass(frozen=True)
class Budgets:
    """Seconds each budget allows; which phases each covers is defined in `atlas_drills.drill.phases`."""

    restore: float = 120.0
    ready: float = 30.0
    total: float = 300.0


# The longest wait for a target to come up, when the plan sets none: well above the ready budget, so a target that
# gets ready late fails the ready budget (a readiness finding) instead of being cut off as never ready.
MIN_STARTUP_TIMEOUT_S = 120.0
STARTUP_TIMEOUT_PER_READY_BUDGET = 4.0


@dataclass(frozen=True)
class DrillSpec:
    """One drill, as primitives only: it travels to xdist workers and into the report."""

    id: str
    backup: str
    expect: str
    target: str = "standin"
    target_image: str = ""
    sandbox: str = "auto"
    target_command: str = ""  # a native server binary for the local-process sandbox
    catalog: str = "restore"  # restore | rebuild-if-lost | rebuild: how the drill recovers the catalog

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    @property
    def is_sample(self) -> bool:
        return self.backup.startswith(SAMPLE_SCHEME)


@dataclass(frozen=True)
class DrillPlan:
    drills: tuple[DrillSpec, ...]
    budgets: Budgets = field(default_factory=Budgets)
    max_backup_age_hours: float = 26.0
    source: str = ""
    startup_timeout_s: float = MIN_STARTUP_TIMEOUT_S
    rewarm: bool = False  # time cache rewarming after each drill's checks (README "Cache rewarming")


@dataclass(frozen=True)
class PlanOverrides:
    """What the command line or environment says, each None when not given."""

    backup: str | None = None
    expect: str | None = None
    target: str | None = None
    target_image: str | None = None
    sandbox: str | None = None
    target_command: str | None = None
    catalog: str | None = None
    pick: str | None = None
    seed: int | None = None


def _validate(document: dict[str, Any], where: str) -> None:
    found = problems(document, PLAN_SCHEMA)
    if found:
        raise PlanError(f"{where}: does not match {PLAN_SCHEMA}: {'; '.join(found)}")


def load_plan(path: Path = DEFAULT_PLAN) -> DrillPlan:
    where = str(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PlanError(f"{where}: no such drill plan; give one with --drill-plan") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(f"{where}: not valid TOML: {exc}") from exc
    _validate(document, where)
    defaults = document.get("defaults", {})
    drills = []
    for entry in document["drills"]:
        merged = {**defaults, **entry}
        drills.append(
            DrillSpec(
                id=entry["backup"],
                backup=entry["backup"],
                expect=entry["expect"],
                target=merged.get("target", "standin"),
                target_image=merged.get("target_image", ""),
                sandbox=merged.get("sandbox", "auto"),
                target_command=merged.get("target_command", ""),
                catalog=merged.get("catalog", "restore"),
            )
        )
    budgets = Budgets(**document.get("budgets", {}))
    startup = document.get("timeouts", {}).get("startup")
    if startup is None:
        startup = max(MIN_STARTUP_TIMEOUT_S, STARTUP_TIMEOUT_PER_READY_BUDGET * budgets.ready)
    return DrillPlan(
        drills=tuple(drills),
        budgets=budgets,
        max_backup_age_hours=float(defaults.get("max_backup_age_hours", 26.0)),
        source=where,
        startup_timeout_s=float(startup),
        rewarm=bool(defaults.get("rewarm", False)),
    )


def is_backup_path(path: Path) -> bool:
    if path.is_dir():
        return (path / BACKUP_MANIFEST).is_file()
    return path.is_file() and path.name.endswith(BACKUP_SUFFIXES)


def pick_backups(folder: Path, pick: str, seed: int) -> list[Path]:
    """The backups of a folder to drill: the newest, all, or one at random (replayable with the same seed)."""
    candidates = sorted(p for p in folder.iterdir() if is_backup_path(p))
    if not candidates:
        raise PlanError(
            f"{folder}: no backups here (expected *.tar, *.tar.gz, *.tar.zst, or folders with {BACKUP_MANIFEST})"
        )
    if pick == "all":
        return candidates
    if pick == "latest":
        # Modification time, newest first; ties broken by name so every worker picks the same backup.
        return [max(candidates, key=lambda p: (p.stat().st_mtime, p.name))]
    return [random.Random(seed).choice(candidates)]  # noqa: S311 - a replayable pick, not a secret


def file_uri(path: Path) -> str:
    return f"{FILE_SCHEME}{path.as_posix()}"


def uri_path(uri: str) -> Path:
    if not uri.startswith(FILE_SCHEME):
        raise PlanError(f"{uri}: expected a {FILE_SCHEME} URI")
    return Path(uri.removeprefix(FILE_SCHEME))


def _backups_from_option(option: str, pick: str, seed: int) -> list[str]:
    if option.startswith(SAMPLE_SCHEME):
        return [option]
    path = Path(option.removeprefix(FILE_SCHEME))
    if not path.exists():
        raise PlanError(f"--drill-backup {option}: no such file or folder")
    if path.is_dir() and not is_backup_path(path):
        return [file_uri(p) for p in pick_backups(path, pick, seed)]
    return [file_uri(path)]


def expand(plan: DrillPlan, overrides: PlanOverrides) -> list[DrillSpec]:
    """The drills to run, sorted by id. A --drill-backup replaces the plan's drills with that backup (or the
    backups picked from that folder); the other overrides apply to every drill."""
    drills = list(plan.drills)
    if overrides.backup:
        backups = _backups_from_option(overrides.backup, overrides.pick or "latest", overrides.seed or 0)
        expect = overrides.expect or (backups[0] if backups[0].startswith(SAMPLE_SCHEME) else "")
        if not expect:
            raise PlanError("--drill-backup names a real backup: give --drill-expect (the release folder to expect)")
        template = plan.drills[0] if plan.drills else DrillSpec("", "", "")
        drills = [replace(template, id=uri, backup=uri, expect=expect) for uri in backups]
    elif overrides.expect:
        drills = [replace(d, expect=overrides.expect) for d in drills]
    if overrides.expect and not overrides.expect.startswith(SAMPLE_SCHEME):
        expect_path = Path(overrides.expect.removeprefix(FILE_SCHEME))
        if not (expect_path / "ops").is_dir():
            raise PlanError(f"--drill-expect {overrides.expect}: expected a release folder holding ops/")
        drills = [replace(d, expect=file_uri(expect_path)) for d in drills]
    if overrides.sandbox and overrides.sandbox not in SANDBOXES:
        raise PlanError(f"--drill-sandbox {overrides.sandbox}: expected one of {', '.join(SANDBOXES)}")
    if overrides.catalog and overrides.catalog not in CATALOG_MODES:
        raise PlanError(f"--drill-catalog {overrides.catalog}: expected one of {', '.join(CATALOG_MODES)}")
    for name in ("target", "target_image", "sandbox", "target_command", "catalog"):
        value = getattr(overrides, name)
        if value:
            drills = [replace(d, **{name: value}) for d in drills]
    unique = {d.id: d for d in drills}
    return [unique[key] for key in sorted(unique)]
