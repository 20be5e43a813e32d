"""What an operator does next about a failed criterion: one short, concrete action, from the first failed finding.

Each criterion fails for its own kind of reason, so each gets its own first move: evidence is re-derived, a query
path is compared with the live service's baseline, readiness is read in the target's saved log. The step names the
finding's `where` (already relative to the backup) and, where there is one, the saved artefact's path in the report
folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

WHERE_CHARS = 120


def first_failure(checks: Sequence[dict[str, Any]]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The first failing check (failed or refused, in report order) and its first failed finding (or None)."""
    check = next((c for c in checks if c["status"] in ("failed", "refused")), None)
    if check is None:
        return None, None
    finding = next((f for f in check["findings"] if f.get("verdict") == "fail"), None)
    return check, finding


def _short(text: Any, limit: int = WHERE_CHARS) -> str:
    value = " ".join(str(text).split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def next_step(
    criterion: str,
    checks: Sequence[dict[str, Any]],
    *,
    backup: str | None,
    outcome: dict[str, str] | None,
    artefacts: Sequence[str] = (),
) -> str:
    """The action for a failed criterion of one drill (`checks` as in the JSON report)."""
    backup_arg = backup or "BACKUP"
    if outcome is not None and outcome.get("kind") == "refused":
        return (
            f"The backup could not be restored ({_short(outcome.get('reason', ''))}): run "
            f"`atlas-drills backup verify {backup_arg}`, then drill an earlier backup that verifies."
        )
    check, finding = first_failure(checks)
    where = _short(finding["where"]) if finding else (_short(check["name"]) if check else criterion)
    log = next((a for a in artefacts if a.endswith("target.log")), None)
    seen = f"the target's log saved at `{log}` (in this report folder)" if log else "the target's log"
    keep = "" if log else " (rerun with `--drill-keep-on-failure` to keep the sandbox and its log)"
    steps = {
        "evidence": (
            f"Re-derive `{where}` from the release it belongs to and compare it with the backup's copy "
            "(`atlas-drills evidence check RELEASE_DIR` checks the release's own chain): if the release holds, the "
            f"backup's copy is damaged; take a new backup or drill an earlier one. Backup: `{backup_arg}`."
        ),
        "query paths": (
            f"Compare the restored artifact with the live service's baseline: replay `{where}` against the live "
            "Atlas and diff it with the backup's `baseline/queries.json`. If the live answer matches the restored "
            "one, the baseline is stale (re-record it: `atlas-drills backup create --baseline-from URL`); if not, "
            "the backup's `store/` artifact is damaged: drill an earlier backup."
        ),
        "readiness": (
            f"Read {seen} for why `{where}` failed: a start-up error, a missing catalog, or a slow phase{keep}."
        ),
        "release identity": (
            f"Compare `{where}` in the backup with the expected release's `ops/release/identity.json` and "
            "`config/atlas.env` (`ATLAS_RELEASE_ID`): the backup holds another release than the one that should "
            "serve; drill that release's backup, or point `--drill-expect` at the right release."
        ),
        "rollback policy": (
            f"Check `{where}` against `ops/datasets/` (rollback policy, each release's `manifest.lock` and "
            f"`immutable.release.json`): run `atlas-drills backup verify {backup_arg}`, and restore the previous "
            "releases from an earlier backup that verifies."
        ),
    }
    default = f"Read the log excerpt of `{where}` in this report and `drill-report.json` for every finding."
    return steps.get(criterion, default)
