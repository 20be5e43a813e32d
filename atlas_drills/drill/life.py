"""One drill's life: restore → sandbox → target → teardown.

A drill restores once. Its checks that change state (a rollback, a drain) get a life of their own that borrows the
verified tree of the drill's shared life (`DrillLife(..., borrowed=atlas)`) instead of restoring again: their sandbox
serves a copy-on-write view of it (`sandbox/store_view.py`), so neither the backup nor the tree is read again and the
tree is never modified.

Each step is a context manager that makes one state change and undoes it on exit: `restored_tree` extracts the
backup into a staging folder (and removes it), `sandbox_for` gives the sandbox (and stops whatever it started),
`start_target` starts the target in it. `DrillLife` composes them on an `ExitStack`, so when a later step fails
everything an earlier one made is undone, in reverse order, before the error leaves. Every phase is timed on the
drill's one `PhaseClock`, teardown included.

A target that does not come up ready is a readiness finding about what was restored, not a broken drill: the life
goes on with `not_ready` set, so every other check still looks at the restored state and at whatever answers.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from atlas_drills.backup.errors import RestoreRefused
from atlas_drills.backup.restore import RestoreResult, restore_backup
from atlas_drills.backup.verify import serving_store_findings
from atlas_drills.drill.catalog_recovery import CatalogRecovery, recover_catalog
from atlas_drills.drill.phases import PhaseClock
from atlas_drills.drill.prepare import PreparedBackup, sandbox_choice
from atlas_drills.drill.restored import STORE, recorded_digests
from atlas_drills.plan import DrillSpec
from atlas_drills.sandbox.base import Sandbox, SandboxRequest, TargetFailed
from atlas_drills.sandbox.keep import keep_sandbox
from atlas_drills.sandbox.select import SandboxChoice, image_identity, make_sandbox
from atlas_drills.sandbox.target import load_target

# A failed drill's target log is kept up to this size (its end: where the failure shows).
ARTEFACT_LOG_CHARS = 1 << 20


@dataclass
class RestoredAtlas:
    """A restored backup served by a running target: what every drill check reads."""

    drill: DrillSpec
    backup: Path
    expect_root: Path
    restore: RestoreResult
    sandbox: Sandbox
    choice: SandboxChoice
    phases: dict[str, float] = field(default_factory=dict)
    not_ready: str | None = None  # why the target did not come up ready, when it did not
    image_id: str | None = None
    image_digest: str | None = None
    catalog: CatalogRecovery | None = None  # how the catalog was recovered: restored, or rebuilt

    @property
    def staging(self) -> Path:
        return self.restore.staging

    @property
    def base_url(self) -> str:
        return self.sandbox.base_url

    @property
    def verified_store(self) -> dict[str, str]:
        """The record of the store as the drill left it before serving: sha256 by path relative to the store root,
        as the restore verified each file, and as a catalog rebuild wrote its own."""
        return dict(recorded_digests(self).under(STORE).by_path)


@contextmanager
def restored_tree(backup: Path, staging: Path, clock: PhaseClock) -> Iterator[RestoreResult]:
    """The backup verified and extracted into `staging` (a refused restore leaves nothing); removed on exit."""
    with clock.phase("verify_extract"):
        result = restore_backup(backup, staging)
    try:
        _refuse_without_a_store(result)
        yield result
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _refuse_without_a_store(result: RestoreResult) -> None:
    """A backup with no `store/` at all has nothing a target could serve: refuse it by the rule `backup verify`
    reports, rather than fail later as a sandbox that cannot start. (A store without a catalog, a build root or a
    cache, is served and fails the criteria one by one, each naming what is missing.)"""
    if (result.staging / "store").is_dir():
        return
    for finding in serving_store_findings(result.manifest):
        raise RestoreRefused(
            finding.member,
            finding.rule,
            finding.expected,
            finding.observed,
            hint="back up Atlas's serving store root (store/ with catalog.json), not only its release metadata",
        )


@contextmanager
def sandbox_for(
    choice: SandboxChoice, request: SandboxRequest, kept: Callable[[], bool] = lambda: False
) -> Iterator[Sandbox]:
    """A sandbox for the restored tree, not yet started; on exit it is stopped and everything it made removed,
    unless `kept()` says it was kept for forensics (`--drill-keep-on-failure`)."""
    sandbox = make_sandbox(choice, request)
    try:
        yield sandbox
    finally:
        if not kept():
            sandbox.stop()


def start_target(sandbox: Sandbox, clock: PhaseClock) -> str | None:
    """Start the target and wait until it is ready. Returns why it did not come up ready, or None when it did.
    Any other failure (no engine, no image) raises: the drill could not run here."""
    try:
        sandbox.start()
    except TargetFailed as exc:
        return f"{exc}; target log ends: {exc.log[-1500:]}" if exc.log else str(exc)
    finally:
        for name, seconds in sandbox.timings.as_dict().items():
            clock.record(name, seconds)
    return None


def failure_artefacts(sandbox: Sandbox | None, restore: RestoreResult | None) -> dict[str, str]:
    """What explains a failed drill, as text: the target's log and a summary of the restore, by file name."""
    found: dict[str, str] = {}
    if sandbox is not None:
        found["target.log"] = sandbox.logs()[-ARTEFACT_LOG_CHARS:]
    if restore is not None:
        staged = sorted(str(p.relative_to(restore.staging)) for p in restore.staging.rglob("*") if p.is_file())
        summary = {
            "backup": str(restore.backup),
            "kind": restore.kind,
            "files": restore.files,
            "restored_bytes": restore.restored_bytes,
            "timings": restore.timings,
            "staging_files": staged,
        }
        found["restore.json"] = json.dumps(summary, indent=2) + "\n"
    return found


@dataclass(frozen=True)
class KeepOnFailure:
    """Where and until when a failed drill's sandbox and restored tree are kept (`--drill-keep-on-failure`)."""

    until: float  # Unix time; also the keep-until label the sandbox was created with
    root: Path  # the kept root (`atlas_drills.sandbox.keep.kept_root`)
    run_id: str
    slug: str


@dataclass(frozen=True)
class DrillSetup:
    """How to set up one drill: its backup, its own work folder, the run's shared folder, and the sandbox's labels
    and start-up timeout (the longest wait for a target to come up, well above the ready budget, so that a target
    that gets ready late fails the ready budget, a readiness finding, and nothing else)."""

    drill: DrillSpec
    prepared: PreparedBackup
    work_dir: Path
    shared: Path
    labels: dict[str, str]
    startup_timeout_s: float
    keep: KeepOnFailure | None = None  # None: nothing is kept (the default)


class DrillLife:
    """`with DrillLife(setup, failed=...) as atlas:` restores, starts, and on exit tears everything down.

    `failed()` is asked before the sandbox is stopped: when it says True (a check of this drill failed), or when
    set-up itself failed, the target log and the restore summary are kept in `artefacts` first."""

    def __init__(self, setup: DrillSetup, *, failed: Callable[[], bool], borrowed: RestoredAtlas | None = None) -> None:
        self.setup = setup
        self.failed = failed
        self.borrowed = borrowed  # the shared life's verified tree, for a check that changes state
        self.clock = PhaseClock()
        if borrowed is None:
            self.clock.record("fetch", setup.prepared.fetch_s)
        self.artefacts: dict[str, str] = {}
        self.rewarmed: dict[str, object] | None = None  # the cache rewarm's result, when one ran (not recovery)
        self._stack = ExitStack()
        self._sandbox: Sandbox | None = None
        self._restore: RestoreResult | None = None
        self._setting_up = False
        self._kept = False  # the sandbox was kept running for forensics: not stopped on exit

    def __enter__(self) -> RestoredAtlas:
        setup = self.setup
        self._setting_up = True
        with ExitStack() as stack:
            stack.callback(shutil.rmtree, setup.work_dir, ignore_errors=True)  # before anything is made in it
            target = load_target(setup.drill.target).with_command(setup.drill.target_command)
            if self.borrowed is not None:
                self._restore, catalog = self.borrowed.restore, self.borrowed.catalog
            else:
                staging = setup.work_dir / "staging"
                self._restore = stack.enter_context(restored_tree(setup.prepared.path, staging, self.clock))
                with self.clock.phase("catalog"):
                    catalog = recover_catalog(
                        setup.drill.catalog, self._restore.staging / "store", setup.prepared.expect_root,
                        self._restore.manifest, self._restore.digests,
                    )  # fmt: skip
            choice = sandbox_choice(setup.drill, target, setup.shared)
            request = SandboxRequest(
                target,
                self._restore.staging,
                setup.work_dir,
                labels=setup.labels,
                ready_timeout_s=setup.startup_timeout_s,
                writable=self.borrowed is not None,
            )
            self._sandbox = stack.enter_context(sandbox_for(choice, request, kept=lambda: self._kept))
            stack.callback(self._keep_artefacts)  # runs before the sandbox stops
            not_ready = start_target(self._sandbox, self.clock)
            image_id, image_digest = image_identity(choice.image) if choice.kind == "docker" else (None, None)
            self._stack = stack.pop_all()  # set up: from here on, __exit__ undoes it
        self._setting_up = False
        return RestoredAtlas(
            setup.drill,
            setup.prepared.path,
            setup.prepared.expect_root,
            self._restore,
            self._sandbox,
            choice,
            self.clock.seconds,
            not_ready,
            image_id,
            image_digest,
            catalog,
        )

    def _keep_artefacts(self) -> None:
        if self._setting_up or self.failed():
            self.artefacts = failure_artefacts(self._sandbox, self._restore)
            if not self._setting_up:
                self._keep_environment()

    def _keep_environment(self) -> None:
        """With keep-on-failure, a failed drill's restored tree moves to the kept root and a Docker sandbox stays
        running; `kept.json` among the artefacts says how to enter them. A borrowed life keeps nothing of its own:
        the tree is the shared life's, which keeps it (with its sandbox) because the drill failed."""
        keep = self.setup.keep
        if keep is None or self._sandbox is None or self._restore is None or self.borrowed is not None:
            return
        record = keep_sandbox(
            self._sandbox,
            self._restore.staging,
            drill_id=self.setup.drill.id,
            run_id=keep.run_id,
            slug=keep.slug,
            until=keep.until,
            root=keep.root,
        )
        self._kept = record["kind"] == "docker"
        self.artefacts["kept.json"] = json.dumps(record, indent=2) + "\n"

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        began = time.monotonic()
        try:
            self._stack.close()
        finally:
            self.clock.record("teardown", time.monotonic() - began)
