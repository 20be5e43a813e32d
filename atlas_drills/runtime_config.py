"""Atlas's runtime configuration as an env file (`config/atlas.env`): parse, check against the allowlist, write.

Atlas refuses to start on any `ATLAS_*`/`BIJUX_*` variable outside its allowlist
(`resources/contracts/env.schema.json`, 143 names at 0.2.1) unless `ATLAS_DEV_ALLOW_UNKNOWN_ENV` is true. The
allowlist is Atlas's own, extracted from its source into `atlas_drills.atlas_settings` (with the Atlas version it came
from); `ATLAS_DRILLS_EXTRA_ALLOWED_ENV` (comma list) extends it for a newer Atlas without changing code.

Standard library only: the stand-in imports this inside target images.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from atlas_drills.atlas_settings import ALLOWED_ENV, DEV_ALLOW_UNKNOWN_ENV, GUARDED_PREFIXES

# Atlas's boolean parser (`env_bool`): exactly these spellings, anything else stops its start-up.
ATLAS_TRUE = frozenset({"1", "true", "TRUE", "yes", "YES"})
ATLAS_FALSE = frozenset({"0", "false", "FALSE", "no", "NO"})
# Names whose values must never reach a log or report (Atlas's `redaction_secret_keys`, plus store credentials).
SECRET_KEY_WORDS = ("password", "secret", "token", "api_key", "bearer")

_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
_GUARDED_PREFIXES = GUARDED_PREFIXES


class RuntimeConfigError(ValueError):
    """A runtime configuration Atlas would refuse, with every problem listed."""


@dataclass(frozen=True)
class EnvProblem:
    line: int
    name: str
    problem: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.name}: {self.problem}"


def is_secret_name(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in SECRET_KEY_WORDS)


def allowed_env() -> frozenset[str]:
    extra = os.environ.get("ATLAS_DRILLS_EXTRA_ALLOWED_ENV", "")
    return ALLOWED_ENV | {name.strip() for name in extra.split(",") if name.strip()}


def parse_env_text(text: str, where: str = "atlas.env") -> dict[str, str]:
    """Parse `NAME=value` lines (blank lines and `#` comments allowed, optional quotes). Raise on any bad line."""
    values: dict[str, str] = {}
    problems: list[EnvProblem] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not _NAME.fullmatch(name):
            problems.append(EnvProblem(number, name or raw, "expected NAME=value"))
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if name in values:
            problems.append(EnvProblem(number, name, "set twice"))
        values[name] = value
    if problems:
        details = "; ".join(str(problem) for problem in problems)
        raise RuntimeConfigError(f"{where}: {details}. Fix these lines: one NAME=value per line.")
    return values


def read_env_file(path: Path) -> dict[str, str]:
    return parse_env_text(path.read_text(encoding="utf-8"), str(path))


def unknown_names(env: dict[str, str]) -> list[str]:
    """Atlas-guarded names (`ATLAS_*`, `BIJUX_*`) that are not on the allowlist, sorted."""
    if env.get(DEV_ALLOW_UNKNOWN_ENV) in ATLAS_TRUE:
        return []
    allowed = allowed_env()
    return sorted(name for name in env if name.startswith(_GUARDED_PREFIXES) and name not in allowed)


def render_env(values: dict[str, str], header: str = "") -> str:
    """An env file with a comment header and one sorted `NAME=value` line per setting."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    lines.extend(f"{name}={values[name]}" for name in sorted(values))
    return "\n".join(lines) + "\n"


def redact(env: dict[str, str]) -> dict[str, str]:
    """The same settings with secret values replaced, safe to log."""
    return {name: ("<redacted>" if is_secret_name(name) and value else value) for name, value in env.items()}
