"""`atlas-drills engine ...` and `atlas-drills images ...`: get a Docker engine and the target images ready."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

DEFAULT_WORK_DIR = Path(".work/engine")


def _say(message: str) -> None:
    print(f"atlas-drills: {message}", file=sys.stderr, flush=True)


def _engine_ensure(args: argparse.Namespace) -> int:
    from atlas_drills.sandbox.engine import EngineUnavailable, ensure_engine

    try:
        info = ensure_engine(args.work_dir, allow_start=not args.no_start)
    except EngineUnavailable as exc:
        _say(f"no Docker engine: {exc}")
        return 1
    started = f", started here (pid {info.started_pid}, log {info.log_path})" if info.started_pid else ""
    _say(f"Docker engine {info.version} (API {info.api_version}) answers{started}")
    return 0


def _engine_stop(args: argparse.Namespace) -> int:
    from atlas_drills.sandbox.engine import stop_started_engine

    stopped = stop_started_engine(args.work_dir)
    _say("stopped the engine started here" if stopped else "no engine started here is running; nothing to stop")
    return 0


def _images_build(args: argparse.Namespace) -> int:
    from atlas_drills.sandbox.engine import EngineUnavailable, connect
    from atlas_drills.sandbox.images import ImageError, ensure_base_image, ensure_standin_image

    try:
        client = connect()
        base = ensure_base_image(client, args.base, progress=_say)
        standin = ensure_standin_image(client, base, progress=_say)
    except (EngineUnavailable, ImageError) as exc:
        _say(str(exc))
        return 1
    for info in (base, standin):
        _say(f"{'built' if info.built else 'reused'} {info.tag} ({info.image_id[:19]})")
    print(standin.tag)
    return 0


def register(commands: Any) -> None:
    engine = commands.add_parser(
        "engine",
        help="find or start a Docker engine",
        description="Find a Docker engine that answers (DOCKER_HOST or the local socket). As root on Debian/Ubuntu "
        "with none running, install docker.io if needed and start dockerd with --bridge=none --iptables=false.",
    )
    engine_commands = engine.add_subparsers(dest="engine_command", required=True, metavar="ACTION")
    ensure = engine_commands.add_parser("ensure", help="make sure an engine answers")
    ensure.add_argument("--no-start", action="store_true", help="only look for an engine; never install or start one")
    stop = engine_commands.add_parser("stop", help="stop the engine that 'engine ensure' started, if any")
    for parser in (ensure, stop):
        parser.add_argument(
            "--work-dir",
            type=Path,
            default=DEFAULT_WORK_DIR,
            help="where the started daemon's log and pid file live (default: %(default)s)",
        )
    ensure.set_defaults(handler=_engine_ensure)
    stop.set_defaults(handler=_engine_stop)

    images = commands.add_parser(
        "images",
        help="build the base and stand-in images",
        description="Build the base image when missing (Debian packages via mmdebstrap, no registry) and the "
        "stand-in image on it, tagged by a digest of its contents. Prints the stand-in image tag.",
    )
    images_commands = images.add_subparsers(dest="images_command", required=True, metavar="ACTION")
    build = images_commands.add_parser("build", help="build what is missing, reuse what is current")
    build.add_argument(
        "--base",
        default=None,
        help="base image with python3 (default: $ATLAS_DRILLS_BASE_IMAGE, else atlas-drills/base:bookworm, built here)",
    )
    build.set_defaults(handler=_images_build)
