"""The drill plan (`ops/drills/plan.toml`) and the drills it expands to.

A drill is one backup x one expectation x one target. Its id is the backup's URI (`sample://current`,
`file:///srv/backups/2026-11-20.tar.zst`): a file backup is named by its canonical absolute path (symlinks and `..`
resolved, a valid file URI), so the same backup has one id however it was typed, on every machine and shard. Ids are
sorted, stable across xdist workers, and usable with `-k`.

A drill also carries its backup manifest's sha256, read at planning (the manifest is the archive's first member):
the report records the whole planned set by ids and digests, so shards planned from different backups cannot merge
into one verdict.
"""

from __future__ import annotations

import hashlib
import json
import random
import tomllib
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from atlas_drills.backup.peek import ManifestPeek, peek_manifest
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
    manifest_sha256: str = ""  # of the backup's backup-manifest.json at planning; "" for a sample or unreadable
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
    candidates_digest: str | None = None  # from a replay seed `SEED:DIGEST`: the candidates the pick must see


@dataclass(frozen=True)
class Candidate:
    """A backup a folder offered to a pick: its drill id and its manifest's digest ("" when unreadable)."""

    id: str
    manifest_sha256: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class Pick:
    """How the backups of a folder were picked: the mode, the seed, and every candidate, so a run can be replayed
    and a replay can tell that the folder changed."""

    folder: str
    mode: str
    seed: int | None
    candidates: tuple[Candidate, ...]
    picked: tuple[str, ...]

    @property
    def candidates_digest(self) -> str:
        return candidates_digest(self.candidates)

    def as_dict(self) -> dict[str, Any]:
        return {
            "folder": self.folder,
            "mode": self.mode,
            "seed": self.seed,
            "candidates": [c.as_dict() for c in self.candidates],
            "candidates_digest": self.candidates_digest,
            "picked": list(self.picked),
            "replay": f"--drill-seed={self.seed}:{self.candidates_digest}" if self.mode == "random" else None,
        }


CANDIDATES_DIGEST_LENGTH = 16


def candidates_digest(candidates: tuple[Candidate, ...] | list[Candidate]) -> str:
    """A short digest of the candidates (ids and manifest digests, sorted): what a replay seed pins."""
    document = json.dumps(sorted((c.id, c.manifest_sha256) for c in candidates), separators=(",", ":"))
    return hashlib.sha256(document.encode("utf-8")).hexdigest()[:CANDIDATES_DIGEST_LENGTH]


def parse_seed(value: str) -> tuple[int, str | None]:
    """`SEED` or `SEED:DIGEST` (the replay form the report prints); raises PlanError naming the option."""
    seed, sep, digest = value.partition(":")
    valid_digest = not sep or (len(digest) == CANDIDATES_DIGEST_LENGTH and all(c in "0123456789abcdef" for c in digest))
    if not seed.isdigit() or not valid_digest:
        raise PlanError(
            f"--drill-seed {value!r}: expected a non-negative integer, or SEED:DIGEST as a report's pick.replay "
            f"prints it ({CANDIDATES_DIGEST_LENGTH} hex digits)"
        )
    return int(seed), digest or None


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
    except IsADirectoryError as exc:
        raise PlanError(f"{where}: a folder; --drill-plan takes a TOML file such as ops/drills/plan.toml") from exc
    except OSError as exc:
        raise PlanError(f"{where}: cannot be read: {exc.strerror or type(exc).__name__}") from exc
    except UnicodeDecodeError as exc:
        raise PlanError(f"{where}: not UTF-8 text (byte {exc.start}); a drill plan is a TOML file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(f"{where}: not valid TOML: {exc}") from exc
    _validate(document, where)
    defaults = document.get("defaults", {})
    drills = []
    for entry in document["drills"]:
        merged = {**defaults, **entry}
        # A relative file path in a plan is relative to the plan's folder, wherever pytest runs from.
        backup = canonical_uri(entry["backup"], path.parent)
        drills.append(
            DrillSpec(
                id=backup,
                backup=backup,
                expect=canonical_uri(entry["expect"], path.parent),
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


def _created_at(peek: ManifestPeek) -> datetime | None:
    try:
        return datetime.fromisoformat(peek.created_at) if peek.created_at else None
    except ValueError:
        return None


def pick_backups(folder: Path, pick: str, seed: int, expected_digest: str | None = None) -> Pick:
    """The backups of a folder to drill: the newest by its manifest's `created_at`, all, or one at random.

    Every candidate is recorded with its manifest digest. A random pick given the candidates' digest of an earlier
    run (`SEED:DIGEST`) refuses when the folder's candidates changed, since the same seed would pick another backup.
    `latest` refuses when a candidate's manifest cannot be read: the newest backup may be the broken one, and
    silently drilling an older one would prove the wrong thing.
    """
    folder = folder.resolve()
    paths = sorted(p for p in folder.iterdir() if is_backup_path(p))
    if not paths:
        raise PlanError(
            f"{folder}: no backups here (expected *.tar, *.tar.gz, *.tar.zst, or folders with {BACKUP_MANIFEST})"
        )
    peeks = {p: peek_manifest(p) for p in paths}
    candidates = tuple(Candidate(file_uri(p), peeks[p].sha256) for p in paths)
    if expected_digest is not None and candidates_digest(candidates) != expected_digest:
        listed = ", ".join(f"{c.id} ({c.manifest_sha256[:12] or 'unreadable'})" for c in candidates)
        raise PlanError(
            f"{folder}: the seed's candidates digest is {expected_digest} but the folder's backups now digest to "
            f"{candidates_digest(candidates)}: backups were added, removed or changed since the recorded run, so the "
            f"seed would not replay it. Candidates now: {listed}. Drill the recorded backup by its path instead."
        )
    if pick == "all":
        chosen = paths
    elif pick == "latest":
        times = {p: _created_at(peeks[p]) for p in paths}
        unknown = [p for p in paths if times[p] is None]
        if unknown:
            reasons = "; ".join(f"{p}: {peeks[p].problem or f'created_at {peeks[p].created_at!r}'}" for p in unknown)
            raise PlanError(
                f"{folder}: cannot tell the latest backup by its manifest's created_at ({reasons}); drill these by "
                "path or use --drill-pick=all"
            )
        # Ties broken by name so every worker picks the same backup.
        chosen = [max(paths, key=lambda p: (times[p], p.name))]
    else:
        chosen = [random.Random(seed).choice(paths)]  # noqa: S311 - a replayable pick, not a secret
    return Pick(
        folder=file_uri(folder),
        mode=pick,
        seed=seed if pick == "random" else None,
        candidates=candidates,
        picked=tuple(file_uri(p) for p in chosen),
    )


def file_uri(path: Path) -> str:
    """The canonical id of a file backup: its absolute path with symlinks resolved, as a valid file URI."""
    return path.resolve().as_uri()


def canonical_uri(value: str, base: Path) -> str:
    """A `sample://` name as it is; a path or `file://` URI as the canonical file URI (a relative path, or the
    invalid `file://relative/path` form, taken relative to `base`)."""
    if value.startswith(SAMPLE_SCHEME):
        return value
    path = uri_path(value) if value.startswith(FILE_SCHEME + "/") else Path(value.removeprefix(FILE_SCHEME))
    return file_uri(path if path.is_absolute() else base / path)


def uri_path(uri: str) -> Path:
    if not uri.startswith(FILE_SCHEME):
        raise PlanError(f"{uri}: expected a {FILE_SCHEME} URI")
    parts = urlsplit(uri)
    if parts.netloc not in ("", "localhost"):
        # Not a valid file URI (`file://backups/x` names host "backups"): read it as the path it was meant to be.
        return Path(uri.removeprefix(FILE_SCHEME))
    return Path(unquote(parts.path))


def _backups_from_option(option: str, overrides: PlanOverrides) -> tuple[list[str], Pick | None]:
    if option.startswith(SAMPLE_SCHEME):
        return [option], None
    path = uri_path(canonical_uri(option, Path.cwd()))
    if not path.exists():
        raise PlanError(f"--drill-backup {option}: no such file or folder")
    if path.is_dir() and not is_backup_path(path):
        pick = pick_backups(path, overrides.pick or "latest", overrides.seed or 0, overrides.candidates_digest)
        return list(pick.picked), pick
    return [file_uri(path)], None


def _with_digest(drill: DrillSpec) -> DrillSpec:
    if drill.is_sample:
        return drill
    path = uri_path(drill.backup)
    return replace(drill, manifest_sha256=peek_manifest(path).sha256 if path.exists() else "")


def expand(plan: DrillPlan, overrides: PlanOverrides) -> list[DrillSpec]:
    """The drills to run, sorted by id (see `expand_with_pick`)."""
    return expand_with_pick(plan, overrides)[0]


def expand_with_pick(plan: DrillPlan, overrides: PlanOverrides) -> tuple[list[DrillSpec], Pick | None]:
    """The drills to run, sorted by id, each with its backup manifest's digest, and the folder pick when there was
    one. A --drill-backup replaces the plan's drills with that backup (or the backups picked from that folder); the
    other overrides apply to every drill."""
    drills = list(plan.drills)
    pick: Pick | None = None
    if overrides.backup:
        backups, pick = _backups_from_option(overrides.backup, overrides)
        expect = overrides.expect or (backups[0] if backups[0].startswith(SAMPLE_SCHEME) else "")
        if not expect:
            raise PlanError("--drill-backup names a real backup: give --drill-expect (the release folder to expect)")
        template = plan.drills[0] if plan.drills else DrillSpec("", "", "")
        drills = [replace(template, id=uri, backup=uri, expect=expect) for uri in backups]
    elif overrides.expect:
        drills = [replace(d, expect=overrides.expect) for d in drills]
    if overrides.expect and not overrides.expect.startswith(SAMPLE_SCHEME):
        expect_path = uri_path(canonical_uri(overrides.expect, Path.cwd()))
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
    unique = {d.id: _with_digest(d) for d in drills}
    return [unique[key] for key in sorted(unique)], pick


def planned_set(drills: list[DrillSpec]) -> dict[str, Any]:
    """The whole planned drill set as the report records it: ids and manifest digests, and one digest of them."""
    entries = [{"id": d.id, "manifest_sha256": d.manifest_sha256} for d in sorted(drills, key=lambda d: d.id)]
    document = json.dumps(entries, separators=(",", ":"), sort_keys=True)
    return {"drills": entries, "digest": hashlib.sha256(document.encode("utf-8")).hexdigest()}
