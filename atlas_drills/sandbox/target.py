"""The target: the runtime image that serves a restored store, described by settings rather than code.

A target file (`ops/targets/*.toml`) names the image, its command, the in-container paths and the environment
variable names for bind address, store root and cache root, so a real Atlas image runs without code changes. It may
also name the user the container runs as (default: the image's own user), how start-up is detected (a log line, in
JSON or text, or readiness alone) and a native command for the local-process sandbox.
"""

from __future__ import annotations

import os
import re
import sys
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

TARGETS_DIR = Path(__file__).resolve().parents[2] / "ops" / "targets"
_REQUIRED = ("name", "store_path", "cache_path", "ready_path", "health_path")
STARTUP_MODES = ("log", "readiness")
# Terminal colour codes: Atlas's text logs (ATLAS_LOG_JSON=false) carry them even without a terminal.
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


class TargetError(ValueError):
    """A target file that cannot be used; names the file and field."""


@dataclass(frozen=True)
class TargetSpec:
    name: str
    image: str  # "" means the locally built stand-in image
    command: tuple[str, ...]
    store_path: str
    cache_path: str
    ready_path: str
    health_path: str
    startup_log: str  # a regex over the log, colour codes removed; "" only with startup = "readiness"
    bind_env: str = "ATLAS_BIND"
    store_env: str = "ATLAS_STORE_ROOT"
    cache_env: str = "ATLAS_CACHE_ROOT"
    entrypoint: tuple[str, ...] | None = None
    local_command: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    source: str = ""
    user: str = ""  # "" runs the container as the image's own user (USER in its Dockerfile)
    startup: str = "log"  # log: wait for startup_log, then readiness; readiness: the readiness path alone

    @property
    def startup_pattern(self) -> re.Pattern[str]:
        return re.compile(self.startup_log)

    def started(self, log: str) -> bool:
        """Whether the log says the process is up (always true when start-up is detected by readiness alone)."""
        return self.startup == "readiness" or bool(self.startup_pattern.search(strip_ansi(log)))

    def with_command(self, command: str | None) -> TargetSpec:
        """The same target run locally by a native server binary (`--drill-target-command PATH`)."""
        if not command:
            return self
        path = Path(command).expanduser()
        if not path.is_file() or not os.access(path, os.X_OK):
            raise TargetError(f"--drill-target-command {command}: expected an executable file, found none there")
        return replace(self, local_command=(str(path.resolve()),))

    def local_argv(self) -> list[str]:
        if not self.local_command:
            raise TargetError(
                f"{self.source}: target {self.name!r} has no local_command; it can only run in Docker "
                "(or give a native server binary with --drill-target-command PATH)"
            )
        return [part.replace("{python}", sys.executable) for part in self.local_command]


def _strings(value: Any, where: str, name: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise TargetError(f"{where}: target.{name}: expected a list of strings, observed {value!r}")
    return tuple(value)


def load_target(name_or_path: str | Path) -> TargetSpec:
    """Load `standin`, `atlas` (from ops/targets/) or a path to a target TOML file."""
    path = Path(name_or_path)
    if not path.suffix:
        path = TARGETS_DIR / f"{name_or_path}.toml"
    where = str(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        known = ", ".join(sorted(p.stem for p in TARGETS_DIR.glob("*.toml")))
        raise TargetError(f"{where}: no such target file (known targets: {known}, or give a path)") from exc
    except tomllib.TOMLDecodeError as exc:
        raise TargetError(f"{where}: not valid TOML: {exc}") from exc
    table = document.get("target")
    if not isinstance(table, dict):
        raise TargetError(f"{where}: expected a [target] table")
    missing = [key for key in _REQUIRED if not isinstance(table.get(key), str) or not table.get(key)]
    if missing:
        raise TargetError(f"{where}: target.{', target.'.join(missing)}: required non-empty string(s) missing")
    names = table.get("env_names", {})
    env = table.get("env", {})
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        raise TargetError(f'{where}: target.env: expected NAME = "value" strings, observed {env!r}')
    entrypoint = table.get("entrypoint")
    startup = str(table.get("startup", "log"))
    if startup not in STARTUP_MODES:
        raise TargetError(f"{where}: target.startup: expected one of {', '.join(STARTUP_MODES)}, observed {startup!r}")
    startup_log = table.get("startup_log", "")
    if not isinstance(startup_log, str) or (startup == "log" and not startup_log):
        raise TargetError(f'{where}: target.startup_log: a regex is required unless startup = "readiness"')
    try:
        re.compile(startup_log)
    except re.error as exc:
        raise TargetError(f"{where}: target.startup_log: not a valid regex: {exc}") from exc
    user = table.get("user", "")
    if not isinstance(user, str):
        raise TargetError(f'{where}: target.user: expected "name", "uid" or "uid:gid", observed {user!r}')
    return TargetSpec(
        name=table["name"],
        image=str(table.get("image", "")),
        command=_strings(table.get("command", []), where, "command"),
        store_path=table["store_path"],
        cache_path=table["cache_path"],
        ready_path=table["ready_path"],
        health_path=table["health_path"],
        startup_log=startup_log,
        bind_env=str(names.get("bind", "ATLAS_BIND")),
        store_env=str(names.get("store_root", "ATLAS_STORE_ROOT")),
        cache_env=str(names.get("cache_root", "ATLAS_CACHE_ROOT")),
        entrypoint=_strings(entrypoint, where, "entrypoint") if entrypoint is not None else None,
        local_command=_strings(table.get("local_command", []), where, "local_command"),
        env=dict(env),
        source=where,
        user=user,
        startup=startup,
    )
