"""Keeping a failed drill's environment for forensics, and finding and removing what was kept.

With `--drill-keep-on-failure[=DURATION]` a drill with a failed check keeps its restored tree and, in a Docker
sandbox, its running container, until DURATION from now (default 24 h). Nothing is kept by default. What is kept
lives in one folder per drill under the kept root (`ATLAS_DRILLS_KEPT_DIR`, default `.work/kept` in the checkout):

    <kept root>/<run id>--<drill slug>/kept.json   what, where, until when, and how to enter it
    <kept root>/<run id>--<drill slug>/staging/    the restored backup, as the target saw it

A kept container carries the label `org.atlas-drills.keep-until` (Unix time, set when it was created): the sweeps
at the start and end of a run leave it alone until then. A local-process sandbox cannot outlive the run (the
process belongs to it), so only its restored tree is kept. `atlas-drills sandbox list|rm|sweep` works on both.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shlex
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

KEEP_UNTIL_LABEL = "keep-until"  # under the org.atlas-drills. prefix, like every label of a drill container
KEPT_DIR_ENV = "ATLAS_DRILLS_KEPT_DIR"
RECORD_NAME = "kept.json"
DEFAULT_KEEP = "24h"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class KeepError(ValueError):
    """A duration or a kept sandbox that cannot be used; says what was expected."""


def parse_duration(text: str) -> float:
    """Seconds in `90s`, `30m`, `24h`, `2d` (or a bare number of seconds); positive only."""
    match = _DURATION.match(text)
    if match is None or float(match.group(1)) <= 0:
        raise KeepError(f"--drill-keep-on-failure={text!r}: expected a positive duration such as 30m, 24h or 2d")
    return float(match.group(1)) * _UNITS[match.group(2)]


def kept_root(project_root: Path, environ: dict[str, str] | None = None) -> Path:
    value = (os.environ if environ is None else environ).get(KEPT_DIR_ENV)
    return Path(value).absolute() if value else project_root / ".work" / "kept"


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def keep_sandbox(
    sandbox: Any, staging: Path, *, drill_id: str, run_id: str, slug: str, until: float, root: Path
) -> dict[str, Any]:
    """Move the restored tree into the kept root, leave a Docker sandbox's container running (a local process is
    stopped), and write the record; return it. The caller must not stop the sandbox afterwards."""
    folder = root / f"{run_id}--{slug}"
    count = 1
    while folder.exists():  # a destructive check's own restore of the same drill: kept beside the shared one
        count += 1
        folder = root / f"{run_id}--{slug}--{count}"
    folder.mkdir(parents=True)
    kind = str(getattr(sandbox, "kind", "local"))
    kept_staging = folder / "staging"
    note = None
    if kind == "docker":
        renamed = _move(staging, kept_staging)
        if not renamed and getattr(sandbox, "mounts_store", False):
            # The container mounts the tree where it was: moved to another file system, it would serve nothing.
            sandbox.stop()
            note = (
                f"the container was not kept: it served the restored tree from {staging}, on another file system "
                f"than the kept root {root}; set {KEPT_DIR_ENV} to a folder on the same file system as the drill's "
                "temporary folder (pytest --basetemp) to keep containers too"
            )
    else:
        sandbox.stop()  # a process of this run cannot outlive it; its tree can
        _move(staging, kept_staging)
    container_id = str(getattr(sandbox, "container_id", "") or "") if note is None else ""
    enter = [f"cd {kept_staging}"]
    if kind == "docker" and container_id:
        enter = [
            f"docker exec -it {container_id[:12]} sh",
            f"docker logs {container_id[:12]}",
            f"curl {sandbox.base_url}/readyz",
            *enter,
        ]
    elif kind != "docker":
        enter.append(_serve_again(sandbox.request.target, kept_staging))
    record = {
        "drill": drill_id,
        "run_id": run_id,
        "kind": kind,
        "container_id": container_id or None,
        "base_url": sandbox.base_url if container_id else None,
        "staging": str(kept_staging),
        "kept_at": _iso(time.time()),
        "expires_at": _iso(until),
        "expires_epoch": until,
        "enter": enter,
        "remove": f"atlas-drills sandbox rm {folder.name}",
    }
    if note is not None:
        record["note"] = note
    (folder / RECORD_NAME).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record


def _move(source: Path, destination: Path) -> bool:
    """Move a tree; True when it was renamed in place (same file system: whatever mounts it follows it), False when
    it had to be copied and removed."""
    try:
        source.rename(destination)
        return True
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    shutil.move(str(source), destination)
    return False


def _serve_again(target: Any, staging: Path) -> str:
    """The shell line that serves a kept tree again with the same target, on its restored configuration."""
    # A local sandbox ran the target's local command, so it has one; {python} becomes the running interpreter.
    argv = " ".join(shlex.quote(part) for part in target.local_argv())
    settings = (
        f"{target.bind_env}=127.0.0.1:18080 {target.store_env}={shlex.quote(str(staging / 'store'))} "
        f"{target.cache_env}=$(mktemp -d)"
    )
    # The suite's own ATLAS_DRILLS_* settings are unknown ATLAS_* names to the target, which refuses to start on
    # them (as Atlas does): the line drops them from the shell it runs in (bash: compgen lists them).
    drop_own = "unset $(compgen -v ATLAS_DRILLS_);"
    return f"({drop_own} set -a; . {shlex.quote(str(staging / 'config/atlas.env'))}; set +a; {settings} {argv})"


@dataclass(frozen=True)
class KeptSandbox:
    name: str  # the folder name, or the container id for a container without a record
    folder: Path | None
    container_id: str | None
    drill: str
    expires_epoch: float | None

    def expired(self, now: float) -> bool:
        return self.expires_epoch is not None and self.expires_epoch <= now


def _label_epoch(labels: dict[str, str]) -> float | None:
    from atlas_drills.sandbox.docker import LABEL_PREFIX

    try:
        return float(labels[f"{LABEL_PREFIX}.{KEEP_UNTIL_LABEL}"])
    except (KeyError, ValueError):
        return None


def kept_sandboxes(root: Path, containers: list[dict[str, Any]]) -> list[KeptSandbox]:
    """Every kept sandbox: each record under `root`, plus any kept container (by its label) whose record is gone.
    `containers` are the drill containers as `sweep.managed_containers` lists them."""
    found: list[KeptSandbox] = []
    recorded: set[str] = set()
    for record_path in sorted(root.glob(f"*/{RECORD_NAME}")) if root.is_dir() else []:
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            record = {}
        container_id = record.get("container_id") or None
        if container_id:
            recorded.add(container_id)
        expires = record.get("expires_epoch")
        found.append(
            KeptSandbox(
                record_path.parent.name,
                record_path.parent,
                container_id,
                str(record.get("drill", "?")),
                float(expires) if isinstance(expires, int | float) else None,
            )
        )
    from atlas_drills.sandbox.docker import LABEL_PREFIX

    for container in containers:
        until = _label_epoch(container["labels"])
        if until is not None and container["id"] not in recorded:
            drill = container["labels"].get(f"{LABEL_PREFIX}.drill", "?")
            found.append(KeptSandbox(container["id"][:12], None, container["id"], drill, until))
    return found


def is_kept(labels: dict[str, str], now: float | None = None) -> bool:
    """A container kept for forensics and not yet expired: no sweep removes it."""
    until = _label_epoch(labels)
    return until is not None and until > (time.time() if now is None else now)


def remove_kept(kept: KeptSandbox, client: Any | None) -> list[str]:
    """Remove a kept sandbox's container (when an engine is at hand) and its folder; say what was removed."""
    removed = []
    if kept.container_id and client is not None:
        from docker.errors import NotFound

        try:
            client.api.remove_container(kept.container_id, force=True, v=True)
            removed.append(f"container {kept.container_id[:12]}")
        except NotFound:
            pass
    if kept.folder is not None and kept.folder.exists():
        shutil.rmtree(kept.folder)
        removed.append(f"folder {kept.folder}")
    return removed
