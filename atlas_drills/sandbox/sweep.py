"""Finding and removing drill containers by label, so no run leaves containers behind.

Every container carries `org.atlas-drills.managed=true`, the run id, the worker id, the drill id, and the host and
pid of the controller that started the run. A run removes its own containers at the end; at the start it removes
the leftovers of runs whose controller no longer exists (a SIGKILLed run), never those of a run still going.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

from atlas_drills.sandbox.docker import LABEL_PREFIX, MANAGED_LABEL
from atlas_drills.sandbox.keep import is_kept

RUN_LABEL = f"{LABEL_PREFIX}.run"
HOST_LABEL = f"{LABEL_PREFIX}.controller-host"
PID_LABEL = f"{LABEL_PREFIX}.controller-pid"


def controller_labels(run_id: str, controller_pid: int) -> dict[str, str]:
    """Labels (without the prefix) naming this run and the process that controls it (the xdist controller, not
    the worker that starts the container: a run is over when its controller is)."""
    return {"run": run_id, "controller-host": socket.gethostname(), "controller-pid": str(controller_pid)}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A killed process whose parent died too may stay a zombie where nothing reaps orphans (PID 1 in a sandbox).
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def _orphaned(labels: dict[str, str]) -> bool:
    if labels.get(HOST_LABEL) != socket.gethostname():
        return False  # another machine's run on a shared engine: not ours to judge
    try:
        return not _pid_alive(int(labels.get(PID_LABEL, "")))
    except ValueError:
        return True


def managed_containers(client: Any) -> list[dict[str, Any]]:
    """Id and labels of every drill container, from one listing call: other runs may remove theirs meanwhile, so
    nothing here inspects containers one by one."""
    listing = client.api.containers(all=True, filters={"label": f"{MANAGED_LABEL}=true"})
    return [{"id": item["Id"], "labels": item.get("Labels") or {}} for item in listing]


def sweep(client: Any, *, run_id: str | None = None) -> list[str]:
    """Remove this run's containers (run_id given) or, without one, every orphaned run's, then their copy-on-write
    volumes. Returns the ids (and volume names) removed."""
    from docker.errors import NotFound

    removed = []
    for container in managed_containers(client):
        labels = container["labels"]
        if is_kept(labels):
            continue  # kept for forensics (--drill-keep-on-failure) until its label says: `atlas-drills sandbox`
        mine = run_id is not None and labels.get(RUN_LABEL) == run_id
        if mine or (run_id is None and _orphaned(labels)):
            try:
                client.api.remove_container(container["id"], force=True, v=True)
            except NotFound:
                continue  # removed by its own run's finalizer in the meantime
            removed.append(str(container["id"]))
    return removed + _sweep_volumes(client, run_id)


def _sweep_volumes(client: Any, run_id: str | None) -> list[str]:
    """The overlay volumes of removed containers (a sandbox removes its own; a killed run leaves them). A volume a
    kept or running container still uses is refused by the engine, and left."""
    from docker.errors import APIError

    removed = []
    listing = client.api.volumes(filters={"label": f"{MANAGED_LABEL}=true"}).get("Volumes") or []
    for volume in listing:
        labels = volume.get("Labels") or {}
        if is_kept(labels):
            continue
        if (run_id is not None and labels.get(RUN_LABEL) == run_id) or (run_id is None and _orphaned(labels)):
            try:
                client.api.remove_volume(volume["Name"])
            except APIError:
                continue  # in use, or removed meanwhile
            removed.append(str(volume["Name"]))
    return removed
