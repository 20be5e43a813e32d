"""The target: the runtime image that serves a restored store, described by settings rather than code.

A target file (`ops/targets/*.toml`) names the image, its command, the in-container paths and the environment
variable names for bind address, store root and cache root, so a real Atlas image runs without code changes.
"""

from __future__ import annotations

import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TARGETS_DIR = Path(__file__).resolve().parents[2] / "ops" / "targets"
_REQUIRED = ("name", "store_path", "cache_path", "ready_path", "health_path", "startup_log")


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
    startup_log: str
    bind_env: str = "ATLAS_BIND"
    store_env: str = "ATLAS_STORE_ROOT"
    cache_env: str = "ATLAS_CACHE_ROOT"
    entrypoint: tuple[str, ...] | None = None
    local_command: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    source: str = ""

    @property
    def startup_pattern(self) -> re.Pattern[str]:
        return re.compile(self.startup_log)

    def local_argv(self) -> list[str]:
        if not self.local_command:
            raise TargetError(f"{self.source}: target {self.name!r} has no local_command; it can only run in Docker")
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
    return TargetSpec(
        name=table["name"],
        image=str(table.get("image", "")),
        command=_strings(table.get("command", []), where, "command"),
        store_path=table["store_path"],
        cache_path=table["cache_path"],
        ready_path=table["ready_path"],
        health_path=table["health_path"],
        startup_log=table["startup_log"],
        bind_env=str(names.get("bind", "ATLAS_BIND")),
        store_env=str(names.get("store_root", "ATLAS_STORE_ROOT")),
        cache_env=str(names.get("cache_root", "ATLAS_CACHE_ROOT")),
        entrypoint=_strings(entrypoint, where, "entrypoint") if entrypoint is not None else None,
        local_command=_strings(table.get("local_command", []), where, "local_command"),
        env=dict(env),
        source=where,
    )
