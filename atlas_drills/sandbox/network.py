"""How the drills reach a target container: on the job's own network, or through a published port on the engine's
host. A setting with a tested default, decided once from where the Docker engine is.

- `host`: the container shares the network of the machine running the drills (`network_mode=host`) and binds
  127.0.0.1:<port>. Right when the engine runs on this machine: a local socket, or TCP to a loopback address.
- `published`: the container binds 0.0.0.0:8080 in its own network namespace and the engine publishes it as
  <port> on its host; the drills reach it at the engine's host. Right when the engine does not share the job's
  network, as `DOCKER_HOST=tcp://docker:2375` says for GitLab's Docker-in-Docker service (reached at `docker`), and
  for Docker Desktop (set `published` explicitly: its engine runs in a VM, yet publishes on 127.0.0.1).
- `auto` (the default): `host` for a local socket or a loopback DOCKER_HOST, `published` at DOCKER_HOST's host
  otherwise.

`ATLAS_DRILLS_SANDBOX_NETWORK` chooses (`auto`, `host`, `published`).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

LOOPBACK = "127.0.0.1"
NETWORK_ENV = "ATLAS_DRILLS_SANDBOX_NETWORK"
MODES = ("auto", "host", "published")
ANY_ADDRESS = "0.0.0.0"  # noqa: S104 - a published port must accept the job's connections from outside the engine


class NetworkSettingError(ValueError):
    """An ATLAS_DRILLS_SANDBOX_NETWORK or DOCKER_HOST the sandbox cannot use."""


@dataclass(frozen=True)
class NetworkPlan:
    mode: str  # host | published
    reach_host: str  # the address the drills send their requests to
    publish_ip: str  # published mode: the engine-side address the port is published on
    reason: str

    @property
    def published(self) -> bool:
        return self.mode == "published"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def network_plan(setting: str | None, docker_host: str | None) -> NetworkPlan:
    """The plan for a setting (None or "" means auto) and the engine's address (DOCKER_HOST; None: local socket)."""
    mode = (setting or "auto").strip().lower()
    if mode not in MODES:
        raise NetworkSettingError(f"{NETWORK_ENV}={setting!r}: expected one of {', '.join(MODES)}")
    engine = (docker_host or "").strip()
    parts = urlsplit(engine) if engine else None
    remote_host = parts.hostname if parts is not None and parts.scheme in ("tcp", "http", "https", "ssh") else None
    if mode == "host":
        return NetworkPlan("host", LOOPBACK, LOOPBACK, f"{NETWORK_ENV}=host")
    if mode == "published":
        if remote_host and not _is_loopback(remote_host):
            return NetworkPlan(
                "published", remote_host, ANY_ADDRESS, f"{NETWORK_ENV}=published, engine at {remote_host}"
            )
        return NetworkPlan("published", LOOPBACK, LOOPBACK, f"{NETWORK_ENV}=published, engine on this machine")
    if remote_host is None or _is_loopback(remote_host):
        where = "a local socket" if not engine or parts is None or parts.scheme == "unix" else engine
        return NetworkPlan("host", LOOPBACK, LOOPBACK, f"the engine shares this machine's network ({where})")
    return NetworkPlan(
        "published",
        remote_host,
        ANY_ADDRESS,
        f"the engine at {engine} does not share this machine's network: its published port is reached at {remote_host}",
    )


def network_plan_from_env(environ: Mapping[str, str] | None = None) -> NetworkPlan:
    environ = os.environ if environ is None else environ
    return network_plan(environ.get(NETWORK_ENV), environ.get("DOCKER_HOST"))
