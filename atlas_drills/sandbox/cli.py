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
    ensure = engine_commands.add_parser(
        "ensure",
        help="make sure an engine answers",
        description="Look for a Docker engine that answers (DOCKER_HOST, else the local socket). When none does and "
        "--no-start is not given, as root on Debian/Ubuntu: install docker.io when missing and start dockerd with "
        "--bridge=none --iptables=false (no docker0, no firewall changes), its log and pid file in --work-dir. "
        "Exit 0 when an engine answers, 1 when none can be had (drills then fall back to local processes).",
    )
    ensure.add_argument("--no-start", action="store_true", help="only look for an engine; never install or start one")
    stop = engine_commands.add_parser(
        "stop",
        help="stop the engine that 'engine ensure' started, if any",
        description="Stop the dockerd that 'atlas-drills engine ensure' started (its pid file in --work-dir); an "
        "engine started any other way is never touched. Exit 0, also when there was nothing to stop.",
    )
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
    build = images_commands.add_parser(
        "build",
        help="build what is missing, reuse what is current",
        description="Build the base image when it is missing (Debian bookworm with python3, made with "
        "mmdebstrap and imported: no registry needed; run as root, mmdebstrap is installed when missing) and the "
        "stand-in image on it, tagged by a digest of its sources so a changed stand-in gets a new tag. With --base "
        "(or ATLAS_DRILLS_BASE_IMAGE), that image with python3 is the base instead (pulled when the engine lacks "
        "it), e.g. python:3.12-slim where a registry is reachable, as on a non-root CI runner. Prints the stand-in "
        "image tag; exit 0 built or reused, 1 no engine or build failed.",
    )
    build.add_argument(
        "--base",
        default=None,
        help="base image with python3 (default: $ATLAS_DRILLS_BASE_IMAGE, else atlas-drills/base:bookworm, built here)",
    )
    build.set_defaults(handler=_images_build)
