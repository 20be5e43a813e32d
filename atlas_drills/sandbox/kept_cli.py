"""`atlas-drills sandbox list|rm|sweep`: the sandboxes kept by `--drill-keep-on-failure`.

Exit codes: 0 done; 1 `rm` named a sandbox that is not kept here; 2 unusable arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from atlas_drills.plan import PROJECT_ROOT
from atlas_drills.sandbox.keep import RECORD_NAME, KeptSandbox, kept_root, kept_sandboxes, remove_kept


def _engine() -> Any | None:
    from atlas_drills.sandbox.engine import EngineUnavailable, connect

    try:
        return connect(timeout=2)
    except EngineUnavailable:
        return None


def _found(client: Any | None) -> list[KeptSandbox]:
    from atlas_drills.sandbox.sweep import managed_containers

    return kept_sandboxes(kept_root(PROJECT_ROOT), managed_containers(client) if client is not None else [])


def _when(epoch: float | None, now: float) -> str:
    if epoch is None:
        return "no expiry"
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
    return f"{stamp} (EXPIRED)" if epoch <= now else stamp


def _list(args: argparse.Namespace) -> int:
    client = _engine()
    now = time.time()
    found = _found(client)
    if args.json:
        rows = []
        for kept in found:
            record = json.loads((kept.folder / RECORD_NAME).read_text()) if kept.folder else {}
            rows.append({**record, "name": kept.name, "expired": kept.expired(now)})
        print(json.dumps(rows, indent=2))
        return 0
    if client is None:
        print("atlas-drills sandbox: no Docker engine answers: kept containers are not listed", file=sys.stderr)
    if not found:
        print(f"no kept sandbox (kept root {kept_root(PROJECT_ROOT)})")
    for kept in found:
        parts = (["container"] if kept.container_id else []) + (["restored tree"] if kept.folder else [])
        what = " + ".join(parts)
        print(f"{kept.name}  {kept.drill}  {what}  until {_when(kept.expires_epoch, now)}")
        if kept.folder is not None:
            record = json.loads((kept.folder / RECORD_NAME).read_text())
            for command in record.get("enter", []):
                print(f"    {command}")
    return 0


def _remove(chosen: list[KeptSandbox], client: Any | None) -> None:
    for kept in chosen:
        removed = remove_kept(kept, client)
        print(f"removed {kept.name}: {', '.join(removed) or 'nothing left'}")


def _rm(args: argparse.Namespace) -> int:
    client = _engine()
    found = _found(client)
    chosen = found if args.all else [k for k in found if k.name in args.names or (k.container_id or "") in args.names]
    missing = [] if args.all else [n for n in args.names if not any(n in (k.name, k.container_id) for k in found)]
    _remove(chosen, client)
    for name in missing:
        print(
            f"atlas-drills sandbox rm: {name}: no kept sandbox by that name (see atlas-drills sandbox list)",
            file=sys.stderr,
        )
    return 1 if missing else 0


def _sweep(args: argparse.Namespace) -> int:
    client = _engine()
    now = time.time()
    chosen = [k for k in _found(client) if args.all or k.expired(now)]
    _remove(chosen, client)
    if not chosen:
        print("nothing to sweep" + ("" if args.all else ": no kept sandbox has expired"))
    return 0


def register(commands: Any) -> None:
    sandbox = commands.add_parser(
        "sandbox",
        help="list and remove sandboxes kept by --drill-keep-on-failure",
        description="A drill run with --drill-keep-on-failure[=DURATION] keeps each failed drill's restored tree and "
        "(Docker sandboxes) its running container until DURATION has passed. These commands find and remove them. "
        "Kept trees live under ATLAS_DRILLS_KEPT_DIR (default .work/kept in the checkout).",
    )
    actions = sandbox.add_subparsers(dest="sandbox_command", required=True, metavar="ACTION")
    listing = actions.add_parser(
        "list",
        help="every kept sandbox, its expiry and how to enter it",
        description="List every kept sandbox: its name, drill, what is kept, its expiry, and the commands to enter "
        "it (docker exec, the restored tree). Exit 0.",
    )
    listing.add_argument("--json", action="store_true", help="print the kept records as JSON")
    listing.set_defaults(handler=_list)
    remove = actions.add_parser(
        "rm",
        help="remove kept sandboxes by name",
        description="Remove the named kept sandboxes (their container and their restored tree), expired or not. "
        "Exit 0, 1 when a name is not a kept sandbox.",
    )
    remove.add_argument("names", nargs="*", metavar="NAME", help="names from 'atlas-drills sandbox list'")
    remove.add_argument("--all", action="store_true", help="remove every kept sandbox")
    remove.set_defaults(handler=_rm)
    sweep = actions.add_parser(
        "sweep",
        help="remove the kept sandboxes that have expired",
        description="Remove every kept sandbox whose expiry has passed (with --all, every kept sandbox). Exit 0.",
    )
    sweep.add_argument("--all", action="store_true", help="also remove the ones that have not expired")
    sweep.set_defaults(handler=_sweep)
