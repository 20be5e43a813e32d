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
# Names whose values must never reach a log or report (Atlas's `redaction_secret_keys`, plus store credentials
# and the usual spellings of keys, passphrases and credentials).
SECRET_KEY_WORDS = (
    "password",
    "secret",
    "token",
    "api_key",
    "bearer",
    "passphrase",
    "credential",
    "private_key",
    "access_key",
    "passwd",
    "apikey",
)
# The secret part of a value under any name: a URL's user:password, a bearer/basic token, an AWS access key id.
_SECRET_IN_VALUE = re.compile(
    r"[a-z][a-z0-9+.\-]*://(?P<userinfo>[^/\s@]+)@"
    r"|\b(?:Bearer|Basic|Token)\s+(?P<token>[A-Za-z0-9._~+/=\-]{4,})"
    r"|(?P<akid>\b(?:AKIA|ASIA)[A-Z0-9]{16}\b)",
    re.IGNORECASE,
)
# `key=value` or `key: value` inside a value (a query string, a header, JSON): secret when the key looks secret.
_INNER_PAIR = re.compile(r"([A-Za-z0-9_.\-]+)[\"']?\s*[=:]\s*[\"']?([^&\s\"',;}?#]+)")
_USERINFO = re.compile(r"([a-z][a-z0-9+.\-]*://)[^/\s@]+@", re.IGNORECASE)
MIN_SECRET_LENGTH = 4  # shorter values would redact ordinary words everywhere; the name-based rule still applies
_remembered: set[str] = set()

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
        name = f"{self.name}: " if self.name else ""
        return f"{where}{name}{self.problem}"


def is_secret_name(name: str) -> bool:
    lowered = name.lower().replace("-", "_")
    return any(word in lowered for word in SECRET_KEY_WORDS)


def secret_values(env: dict[str, str]) -> set[str]:
    """The values a report must never show, found by name and by form: every value under a secret-looking name,
    and the secret part of any value (URL userinfo and its password, bearer tokens, AWS key ids)."""
    found: set[str] = set()
    for name, value in env.items():
        if is_secret_name(name):
            found.add(value)
        found.update(inner for key, inner in _INNER_PAIR.findall(value) if is_secret_name(key))
        for match in _SECRET_IN_VALUE.finditer(value):
            userinfo, token, akid = match.group("userinfo", "token", "akid")
            if userinfo:
                found.update({userinfo, userinfo.partition(":")[2]})
            found.update(part for part in (token, akid) if part)
    return {value for value in found if len(value) >= MIN_SECRET_LENGTH}


def remember_secrets(values: set[str]) -> None:
    """Add values to this process's secrets: every redaction (reports, artefacts, saved logs) scrubs them by value,
    wherever they appear and under whatever name."""
    _remembered.update(value for value in values if len(value) >= MIN_SECRET_LENGTH)


def remembered_secrets() -> frozenset[str]:
    """Every secret value taken from a runtime configuration this process has parsed."""
    return frozenset(_remembered)


def _malformed_line_secrets(line: str) -> set[str]:
    """What a malformed line may hide: `NAME value` most likely puts a secret after the name; a bare token may be
    a secret pasted on its own line. Both are remembered, so a target echoing the line does not leak it either."""
    first, _, rest = line.partition(" ")
    return {rest.strip(), *rest.split()} if _NAME.fullmatch(first) and rest.strip() else {line, *line.split()}


def allowed_env() -> frozenset[str]:
    extra = os.environ.get("ATLAS_DRILLS_EXTRA_ALLOWED_ENV", "")
    return ALLOWED_ENV | {name.strip() for name in extra.split(",") if name.strip()}


def parse_env_text(text: str, where: str = "atlas.env") -> dict[str, str]:
    """Parse `NAME=value` lines (blank lines and `#` comments allowed, optional quotes). Raise on any bad line,
    naming its number but never its content (which may be a secret). The secret values found, in good lines and
    bad, are remembered for redaction (`remembered_secrets`)."""
    values: dict[str, str] = {}
    problems: list[EnvProblem] = []
    hidden: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not _NAME.fullmatch(name):
            hidden |= _malformed_line_secrets(line)
            first, _, rest = line.partition(" ")
            shown = first if not sep and rest.strip() and _NAME.fullmatch(first) else ""
            shape = "no '='" if not sep else "no NAME (A-Z, 0-9, _) before '='"
            problem = f"expected NAME=value, found a line with {shape} (its content is not shown: it may be a secret)"
            problems.append(EnvProblem(number, shown, problem))
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if name in values:
            problems.append(EnvProblem(number, name, "set twice"))
        values[name] = value
    remember_secrets(hidden | secret_values(values))
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
    """The same settings with secret values replaced, safe to log: whole values under secret names, and under any
    name the secret parts `secret_values` finds (`ATLAS_REDIS_URL=redis://user:pw@host`, a bearer token)."""
    hidden = sorted(secret_values(env), key=len, reverse=True)
    shown = {}
    for name, value in env.items():
        if is_secret_name(name) and value:
            shown[name] = "<redacted>"
            continue
        text = _USERINFO.sub(r"\1<redacted>@", value)
        for secret in hidden:
            text = text.replace(secret, "<redacted>")
        shown[name] = text
    return shown
